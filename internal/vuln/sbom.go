package vuln

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kubeharden/kubeharden/internal/image"
)

// SBOMFormat is a software bill of materials format WriteSBOM writes.
type SBOMFormat string

// The SBOM formats.
const (
	// CycloneDX is CycloneDX 1.6 JSON.
	CycloneDX SBOMFormat = "cyclonedx"
	// SPDX is SPDX 2.3 JSON.
	SPDX SBOMFormat = "spdx"
)

// SBOMFormats lists the formats, for flags and errors.
func SBOMFormats() []string { return []string{string(CycloneDX), string(SPDX)} }

// SBOMOptions tune WriteSBOM.
type SBOMOptions struct {
	// ToolVersion is kubeharden's version, named as the SBOM's creator.
	ToolVersion string
	// Time is the SBOM's creation time; zero means now.
	Time time.Time
}

// WriteSBOM writes the SBOM of img, whose packages are pkgs (from
// Inventory), in format. Its identifiers (CycloneDX serial number, SPDX
// document namespace) derive from the image digest and the packages, so
// the same image gives the same document but for its timestamp.
func WriteSBOM(w io.Writer, format SBOMFormat, img *image.Image, pkgs []Package, opts SBOMOptions) error {
	if opts.Time.IsZero() {
		opts.Time = time.Now()
	}
	opts.Time = opts.Time.UTC().Truncate(time.Second)
	if opts.ToolVersion == "" {
		opts.ToolVersion = "dev"
	}
	s := newSubject(img, pkgs)
	var doc any
	switch format {
	case CycloneDX:
		doc = cyclonedxDoc(s, pkgs, opts)
	case SPDX:
		doc = spdxDoc(s, pkgs, opts)
	default:
		return fmt.Errorf("unknown SBOM format %q (want %s)", format, strings.Join(SBOMFormats(), " or "))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing %s SBOM: %w", format, err)
	}
	return nil
}

// subject is the image an SBOM describes.
type subject struct {
	img *image.Image
	// name is the repository ("registry.example.com/team/api") or, for
	// a local layout or tarball, its file name.
	name string
	// repository is the repository of a registry reference, empty for a
	// local image.
	repository string
	purl       string
	// uuid is derived from the digest and the packages.
	uuid string
}

func newSubject(img *image.Image, pkgs []Package) subject {
	s := subject{img: img, name: filepath.Base(img.Ref)}
	if ref, err := name.ParseReference(img.Ref); err == nil && !looksLocal(img.Ref) {
		s.repository = ref.Context().Name()
		s.name = s.repository
	}
	short := s.name
	if i := strings.LastIndexByte(short, '/'); i >= 0 {
		short = short[i+1:]
	}
	s.purl = purl("oci", "", strings.ToLower(short), img.Digest, [2]string{"repository_url", s.repository}, [2]string{"arch", img.Arch})
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", img.Ref, img.Digest)
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", p.PURL, p.Path, p.Version)
	}
	sum := h.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x50 // a name-based UUID (version 5 layout)
	sum[8] = sum[8]&0x3f | 0x80
	s.uuid = fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return s
}

// looksLocal tells a path to a layout or tarball from a reference.
func looksLocal(ref string) bool {
	return strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, ".") || strings.HasSuffix(ref, ".tar") || strings.HasSuffix(ref, ".tar.gz")
}

// osName is the distribution as os-release names it ("debian", "12").
func (s subject) osName() (string, string) {
	return s.img.OSRelease["ID"], s.img.OSRelease["VERSION_ID"]
}

// CycloneDX 1.6 (https://cyclonedx.org/docs/1.6/json/).

type cdxBOM struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     cdxTools     `json:"tools"`
	Component cdxComponent `json:"component"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	Type       string        `json:"type"`
	BOMRef     string        `json:"bom-ref,omitempty"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	Licenses   []cdxLicense  `json:"licenses,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Hashes     []cdxHash     `json:"hashes,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxLicense struct {
	License cdxLicenseName `json:"license"`
}

type cdxLicenseName struct {
	Name string `json:"name"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// The properties kubeharden adds, in CycloneDX's property taxonomy style.
const (
	propPath          = "kubeharden:package:path"
	propEcosystem     = "kubeharden:package:ecosystem"
	propSourceName    = "kubeharden:package:source-name"
	propSourceVersion = "kubeharden:package:source-version"
)

func cyclonedxDoc(s subject, pkgs []Package, opts SBOMOptions) cdxBOM {
	img := cdxComponent{Type: "container", BOMRef: "image", Name: s.name, Version: s.img.Digest, PURL: s.purl}
	if hex, ok := strings.CutPrefix(s.img.Digest, "sha256:"); ok {
		img.Hashes = []cdxHash{{Alg: "SHA-256", Content: hex}}
	}
	for _, kv := range [][2]string{{"kubeharden:image:ref", s.img.Ref}, {"kubeharden:image:os", s.img.OS}, {"kubeharden:image:arch", s.img.Arch}} {
		if kv[1] != "" {
			img.Properties = append(img.Properties, cdxProperty{Name: kv[0], Value: kv[1]})
		}
	}
	bom := cdxBOM{
		BOMFormat: "CycloneDX", SpecVersion: "1.6", SerialNumber: "urn:uuid:" + s.uuid, Version: 1,
		Metadata: cdxMetadata{
			Timestamp: opts.Time.Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "kubeharden", Version: opts.ToolVersion}}},
			Component: img,
		},
		Components: []cdxComponent{},
	}
	dep := cdxDependency{Ref: "image", DependsOn: []string{}}
	if id, version := s.osName(); id != "" {
		bom.Components = append(bom.Components, cdxComponent{Type: "operating-system", BOMRef: "os", Name: id, Version: version})
		dep.DependsOn = append(dep.DependsOn, "os")
	}
	refs := map[string]bool{}
	for _, p := range pkgs {
		ref := p.PURL + "#" + p.Path
		for n := 2; refs[ref]; n++ {
			ref = p.PURL + "#" + p.Path + "#" + strconv.Itoa(n)
		}
		refs[ref] = true
		c := cdxComponent{Type: "library", BOMRef: ref, Name: p.Name, Version: p.Version, PURL: p.PURL}
		for _, l := range p.Licenses {
			c.Licenses = append(c.Licenses, cdxLicense{License: cdxLicenseName{Name: l}})
		}
		c.Properties = []cdxProperty{{Name: propEcosystem, Value: p.OSVEcosystem()}, {Name: propPath, Value: p.Path}}
		if p.SourceName != "" {
			c.Properties = append(c.Properties, cdxProperty{Name: propSourceName, Value: p.SourceName}, cdxProperty{Name: propSourceVersion, Value: p.SourceVersion})
		}
		bom.Components = append(bom.Components, c)
		dep.DependsOn = append(dep.DependsOn, ref)
	}
	bom.Dependencies = []cdxDependency{dep}
	return bom
}

// SPDX 2.3 (https://spdx.github.io/spdx-spec/v2.3/).

type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	LicenseConcluded      string            `json:"licenseConcluded"`
	LicenseDeclared       string            `json:"licenseDeclared"`
	LicenseComments       string            `json:"licenseComments,omitempty"`
	CopyrightText         string            `json:"copyrightText"`
	SourceInfo            string            `json:"sourceInfo,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// spdxIDUnsafe is what an SPDX identifier may not hold.
var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxLicenseToken is one identifier of a license expression.
var spdxLicenseToken = regexp.MustCompile(`^[A-Za-z0-9.+-]+$`)

// spdxExpression returns the declared licenses as an SPDX license
// expression when they read as one ("MIT", "Apache-2.0 OR MIT"), or false
// for free text ("Apache 2.0", "BSD License").
func spdxExpression(licenses []string) (string, bool) {
	if len(licenses) == 0 {
		return "", false
	}
	for _, l := range licenses {
		words := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(l))
		if len(words) == 0 {
			return "", false
		}
		for i, w := range words {
			op := w == "AND" || w == "OR" || w == "WITH"
			if (i%2 == 1) != op || (!op && !spdxLicenseToken.MatchString(w)) {
				return "", false
			}
		}
		if len(words)%2 == 0 {
			return "", false
		}
	}
	if len(licenses) == 1 {
		return licenses[0], true
	}
	return "(" + strings.Join(licenses, ") AND (") + ")", true
}

func spdxDoc(s subject, pkgs []Package, opts SBOMOptions) spdxDocument {
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: s.name,
		DocumentNamespace: "https://kubeharden.dev/spdxdocs/" + spdxIDUnsafe.ReplaceAllString(s.name, "-") + "-" + s.uuid,
		CreationInfo:      spdxCreationInfo{Created: opts.Time.Format(time.RFC3339), Creators: []string{"Tool: kubeharden-" + opts.ToolVersion}},
		Packages:          []spdxPackage{},
	}
	img := spdxPackage{
		SPDXID: "SPDXRef-Image", Name: s.name, VersionInfo: s.img.Digest, DownloadLocation: "NOASSERTION",
		PrimaryPackagePurpose: "CONTAINER", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		ExternalRefs: []spdxExternalRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: s.purl}},
	}
	if hex, ok := strings.CutPrefix(s.img.Digest, "sha256:"); ok {
		img.Checksums = []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex}}
	}
	doc.Packages = append(doc.Packages, img)
	doc.Relationships = append(doc.Relationships, spdxRelationship{SPDXElementID: "SPDXRef-DOCUMENT", RelationshipType: "DESCRIBES", RelatedSPDXElement: "SPDXRef-Image"})
	if id, version := s.osName(); id != "" {
		doc.Packages = append(doc.Packages, spdxPackage{
			SPDXID: "SPDXRef-OperatingSystem", Name: id, VersionInfo: version, DownloadLocation: "NOASSERTION",
			PrimaryPackagePurpose: "OPERATING_SYSTEM", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		})
		doc.Relationships = append(doc.Relationships, spdxRelationship{SPDXElementID: "SPDXRef-Image", RelationshipType: "CONTAINS", RelatedSPDXElement: "SPDXRef-OperatingSystem"})
	}
	for i, p := range pkgs {
		id := fmt.Sprintf("SPDXRef-Package-%d-%s", i+1, strings.Trim(spdxIDUnsafe.ReplaceAllString(p.Name, "-"), "-"))
		sp := spdxPackage{
			SPDXID: id, Name: p.Name, VersionInfo: p.Version, DownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "LIBRARY",
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
			SourceInfo:   fmt.Sprintf("%s package found in %s", p.OSVEcosystem(), p.Path),
			ExternalRefs: []spdxExternalRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: p.PURL}},
		}
		if p.SourceName != "" {
			sp.SourceInfo += fmt.Sprintf(", built from source package %s %s", p.SourceName, p.SourceVersion)
		}
		if expr, ok := spdxExpression(p.Licenses); ok {
			sp.LicenseDeclared = expr
		} else if len(p.Licenses) > 0 {
			sp.LicenseComments = "declared: " + strings.Join(p.Licenses, "; ")
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, spdxRelationship{SPDXElementID: "SPDXRef-Image", RelationshipType: "CONTAINS", RelatedSPDXElement: id})
	}
	return doc
}
