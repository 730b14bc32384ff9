package cli

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image/imagetest"
)

const apkDB = "P:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n"

func alpineWithPackages(t *testing.T) v1.Image {
	return imagetest.Image(t, v1.Config{User: "10001"}, imagetest.Layer(t,
		imagetest.File("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
		imagetest.File("lib/apk/db/installed", apkDB),
	))
}

// osvZip writes an OSV export of Alpine advisories: one that applies to
// busybox, one already fixed.
func osvZip(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for id, fixed := range map[string]string{"ALPINE-CVE-2023-42366": "1.36.1-r16", "ALPINE-CVE-2023-42363": "1.36.1-r15"} {
		w, _ := zw.Create(id + ".json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "modified": "2024-05-01T00:00:00Z", "aliases": []string{strings.TrimPrefix(id, "ALPINE-")},
			"affected": []any{map[string]any{
				"package": map[string]any{"ecosystem": "Alpine:v3.19", "name": "busybox"},
				"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]string{"introduced": "0"}, map[string]string{"fixed": fixed}}}},
			}},
			"severity": []any{map[string]string{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		})
	}
	zw.Close()
	f.Close()
	return p
}

// TestVulnCommands: vulndb import and info; image --vuln-db reports the
// vulnerability in every format with the database's age on stderr; a
// report of another image is an input error (exit 2); scan --images
// --vuln-db does the same for the images of manifests.
func TestVulnCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "osv")
	out, errOut, code := run("vulndb", "import", db, osvZip(t))
	if code != ExitOK || !strings.Contains(out, "2 records of Alpine, newest modified 2024-05-01, as Alpine/all.zip") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = run("vulndb", "info", db)
	if code != ExitOK || !strings.Contains(out, "Alpine") || !strings.Contains(out, "2 records") {
		t.Errorf("info: exit %d\n%s", code, out)
	}
	_, errOut, code = run("vulndb", "import", db, filepath.Join(t.TempDir(), "missing.zip"))
	if code != ExitError || !strings.Contains(errOut, "missing.zip") {
		t.Errorf("import of a missing file: exit %d\n%s", code, errOut)
	}

	img := alpineWithPackages(t)
	layout := imagetest.WriteLayout(t, img)
	out, errOut, code = run("image", "--vuln-db", db, "-o", "json", layout)
	if code != ExitFindings {
		t.Fatalf("image --vuln-db: exit %d\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		Findings []struct {
			Check, Severity, Message, Path string
			Vulnerability                  *struct {
				ID, Package, Ecosystem, Installed, Fixed string
				Aliases                                  []string
				Score                                    float64
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var vulns []string
	for _, f := range doc.Findings {
		if f.Check == "image-vulnerability" {
			vulns = append(vulns, f.Severity+" "+f.Path+" "+f.Message)
			if v := f.Vulnerability; v == nil || v.ID != "ALPINE-CVE-2023-42366" || v.Package != "busybox" || v.Ecosystem != "Alpine:v3.19" ||
				v.Installed != "1.36.1-r15" || v.Fixed != "1.36.1-r16" || v.Score != 9.8 || len(v.Aliases) != 1 || v.Aliases[0] != "CVE-2023-42366" {
				t.Errorf("vulnerability in JSON: %+v", v)
			}
		} else if f.Vulnerability != nil {
			t.Errorf("%s finding has a vulnerability", f.Check)
		}
	}
	want := `critical /lib/apk/db/installed package "busybox" 1.36.1-r15 (Alpine:v3.19) is affected by ALPINE-CVE-2023-42366 (CVE-2023-42366), CVSS 9.8: fixed in 1.36.1-r16`
	if len(vulns) != 1 || vulns[0] != want {
		t.Errorf("findings %v, want [%s]", vulns, want)
	}
	if !strings.Contains(errOut, "vulnerability database "+db+": 2 records, data up to 2024-05-01") || !strings.Contains(errOut, "warning: the vulnerability database is") {
		t.Errorf("stderr lacks the database age and the warning:\n%s", errOut)
	}
	out, _, _ = run("image", "--vuln-db", db, "-o", "sarif", layout)
	if !strings.Contains(out, `"vulnerability": {`) || !strings.Contains(out, `"fixed": "1.36.1-r16"`) {
		t.Errorf("SARIF result lacks properties.vulnerability:\n%s", out)
	}
	out, _, _ = run("image", "--vuln-db", db, "--color", "never", layout)
	if !strings.Contains(out, "  vulns:        1 (1 critical)\n") {
		t.Errorf("text report lacks the image's vulnerability count:\n%s", out)
	}
	for _, format := range []string{"sarif", "junit", "text"} {
		out, _, _ = run("image", "--vuln-db", db, "-o", format, "--color", "never", layout)
		if !strings.Contains(out, "image-vulnerability") || !strings.Contains(out, "ALPINE-CVE-2023-42366") {
			t.Errorf("%s output lacks the vulnerability:\n%s", format, out)
		}
	}

	// A Trivy report of another digest is refused; the image is still
	// inspected.
	other := filepath.Join(t.TempDir(), "trivy.json")
	os.WriteFile(other, []byte(`{"SchemaVersion":2,"ArtifactName":"x","Metadata":{"ImageID":"sha256:`+strings.Repeat("ab", 32)+`"},"Results":[]}`), 0o644)
	out, errOut, code = run("image", "--vuln-report", other, "--fail-on", "none", "--color", "never", layout)
	if code != ExitError || !strings.Contains(out+errOut, "is for sha256:"+strings.Repeat("ab", 32)) || !strings.Contains(out, "image "+layout) {
		t.Errorf("report of another digest: exit %d\n%s\n%s", code, out, errOut)
	}

	// Usage errors.
	if _, errOut, code = run("image", "--vex", other, layout); code != ExitError || !strings.Contains(errOut, "--vex needs --vuln-db or --vuln-report") {
		t.Errorf("--vex alone: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = run("scan", "--vuln-db", db, t.TempDir()); code != ExitError || !strings.Contains(errOut, "add --images") {
		t.Errorf("scan --vuln-db without --images: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = run("image", "--vuln-db", t.TempDir(), layout); code != ExitError || !strings.Contains(errOut, "holds no OSV records") {
		t.Errorf("empty database: exit %d\n%s", code, errOut)
	}

	// scan --images --vuln-db: the images of the manifests.
	ref := imagetest.Push(t, img)
	dir := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n  containers: [{name: a, image: \"" + ref + "\"}]\n"
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte(pod), 0o644)
	out, errOut, code = run("scan", "--images", "--insecure", "--vuln-db", db, "--color", "never", "--fail-on", "critical", dir)
	if code != ExitFindings || !strings.Contains(out, ref+"  CRITICAL  image-vulnerability") || !strings.Contains(out, "run-as-non-root") {
		t.Errorf("scan --images --vuln-db: exit %d\n%s\n%s", code, out, errOut)
	}
}
