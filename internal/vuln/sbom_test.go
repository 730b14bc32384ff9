package vuln_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// schema compiles the official JSON schema of an SBOM format from
// testdata/schema (see its README for where each file comes from).
func schema(t *testing.T, format vuln.SBOMFormat) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	files := map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
		"http://spdx.org/rdf/terms/2.3":                    "spdx-schema-2.3.json",
	}
	for url, file := range files {
		f, err := os.Open(filepath.Join("testdata", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		_ = f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	root := "http://cyclonedx.org/schema/bom-1.6.schema.json"
	if format == vuln.SPDX {
		root = "http://spdx.org/rdf/terms/2.3"
	}
	sch, err := c.Compile(root)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("not valid against the schema: %v\n%s", err, data)
	}
}

// sbomImage is an image with packages of several ecosystems, licenses
// that are and are not SPDX expressions, and names SPDX identifiers
// cannot hold.
func sbomImage(t *testing.T) (*image.Image, []vuln.Package) {
	t.Helper()
	img := Image(t, v1.Config{},
		Layer(t,
			File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
			reg("var/lib/dpkg/status", []byte(dpkgStatus)),
			reg("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", []byte(pythonMetadata)),
			reg("app/node_modules/@types/node/package.json", []byte(`{"name":"@types/node","version":"20.11.5","license":"MIT OR (Apache-2.0 AND BSD-3-Clause)"}`)),
			reg("app/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0","license":"MIT"}`)),
			reg("app/node_modules/y/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0","license":"SEE LICENSE IN LICENSE.md"}`)),
		))
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := vuln.Inventory(context.Background(), loaded)
	if err != nil {
		t.Fatal(err)
	}
	return loaded, pkgs
}

// TestSBOMSchemas: both formats validate against their official schemas,
// with every package, and an empty inventory too.
func TestSBOMSchemas(t *testing.T) {
	img, pkgs := sbomImage(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, format := range []vuln.SBOMFormat{vuln.CycloneDX, vuln.SPDX} {
		t.Run(string(format), func(t *testing.T) {
			sch := schema(t, format)
			for _, ps := range [][]vuln.Package{pkgs, nil} {
				var buf bytes.Buffer
				if err := vuln.WriteSBOM(&buf, format, img, ps, vuln.SBOMOptions{ToolVersion: "v1.2.3", Time: at}); err != nil {
					t.Fatal(err)
				}
				validate(t, sch, buf.Bytes())
				for _, p := range ps {
					if !bytes.Contains(buf.Bytes(), []byte(`"`+p.PURL+`"`)) {
						t.Errorf("no %s", p.PURL)
					}
				}
			}
		})
	}
}

// TestSBOMSchemasFail: the schemas do catch an invalid document, so that
// the validation above means something.
func TestSBOMSchemasFail(t *testing.T) {
	img, pkgs := sbomImage(t)
	for _, format := range []vuln.SBOMFormat{vuln.CycloneDX, vuln.SPDX} {
		var buf bytes.Buffer
		if err := vuln.WriteSBOM(&buf, format, img, pkgs, vuln.SBOMOptions{}); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if format == vuln.CycloneDX {
			doc["serialNumber"] = "not-a-urn"
		} else {
			doc["relationships"].([]any)[1].(map[string]any)["relationshipType"] = "HOLDS"
		}
		doc2, _ := json.Marshal(doc)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(doc2))
		if err := schema(t, format).Validate(v); err == nil {
			t.Errorf("%s: a broken document validates", format)
		}
	}
}

// TestSBOMContent: what each format says of the image and a package.
func TestSBOMContent(t *testing.T) {
	img, pkgs := sbomImage(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var cdx, again, spdx bytes.Buffer
	for _, w := range []struct {
		buf    *bytes.Buffer
		format vuln.SBOMFormat
	}{{&cdx, vuln.CycloneDX}, {&again, vuln.CycloneDX}, {&spdx, vuln.SPDX}} {
		if err := vuln.WriteSBOM(w.buf, w.format, img, pkgs, vuln.SBOMOptions{ToolVersion: "v1.2.3", Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	if cdx.String() != again.String() {
		t.Error("the same image gives two different SBOMs")
	}
	var bom struct {
		Metadata struct {
			Timestamp string
			Component struct {
				Type, Name, Version, PURL string
			}
		}
		Components []struct {
			Type, Name, Version, PURL string
			Licenses                  []struct{ License struct{ Name string } }
			Properties                []struct{ Name, Value string }
		}
		Dependencies []struct {
			Ref       string
			DependsOn []string
		}
	}
	if err := json.Unmarshal(cdx.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	m := bom.Metadata
	if m.Timestamp != "2026-03-01T12:00:00Z" || m.Component.Type != "container" || m.Component.Version != img.Digest ||
		!strings.HasPrefix(m.Component.PURL, "pkg:oci/") || !strings.Contains(m.Component.PURL, strings.ReplaceAll(img.Digest, ":", "%3A")) {
		t.Errorf("metadata %+v", m)
	}
	// The OS, then every package.
	if len(bom.Components) != len(pkgs)+1 || bom.Components[0].Type != "operating-system" || bom.Components[0].Name != "debian" || bom.Components[0].Version != "12" {
		t.Fatalf("components %+v", bom.Components)
	}
	var libc bool
	for _, c := range bom.Components {
		if c.Name == "libc6" {
			libc = true
			props := map[string]string{}
			for _, p := range c.Properties {
				props[p.Name] = p.Value
			}
			if c.Version != "2.36-9+deb12u4" || props["kubeharden:package:path"] != "/var/lib/dpkg/status" ||
				props["kubeharden:package:ecosystem"] != "Debian:12" || props["kubeharden:package:source-name"] != "glibc" {
				t.Errorf("libc6 %+v", c)
			}
		}
	}
	if !libc {
		t.Error("no libc6")
	}
	if len(bom.Dependencies) != 1 || len(bom.Dependencies[0].DependsOn) != len(pkgs)+1 {
		t.Errorf("dependencies %+v", bom.Dependencies)
	}
	var doc struct {
		Packages []struct {
			SPDXID, Name, VersionInfo, LicenseDeclared, LicenseComments string
		}
		Relationships []struct{ SPDXElementID, RelationshipType, RelatedSPDXElement string }
	}
	if err := json.Unmarshal(spdx.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	lic := map[string][2]string{}
	for _, p := range doc.Packages {
		if p.Name == "@types/node" || p.Name == "x" || p.Name == "requests" {
			lic[p.Name+" "+p.LicenseDeclared] = [2]string{p.LicenseDeclared, p.LicenseComments}
		}
	}
	for _, want := range []string{"@types/node MIT OR (Apache-2.0 AND BSD-3-Clause)", "x MIT", "x NOASSERTION", "requests NOASSERTION"} {
		if _, ok := lic[want]; !ok {
			t.Errorf("no package %q among %v", want, lic)
		}
	}
	if len(doc.Relationships) != len(pkgs)+2 || doc.Relationships[0].RelationshipType != "DESCRIBES" {
		t.Errorf("relationships %+v", doc.Relationships)
	}
}
