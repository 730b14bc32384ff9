package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image/imagetest"
)

func run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestImageCommand inspects real images built in the test, read back from
// an OCI layout, a docker-archive tarball and a registry on loopback.
func TestImageCommand(t *testing.T) {
	busybox := imagetest.Busybox(t)
	for _, src := range imagetest.Sources(t, busybox) {
		t.Run("busybox/"+src.Kind, func(t *testing.T) {
			args := []string{"image", "--color", "never", src.Ref}
			if src.Kind == "registry" {
				args = append(args, "--insecure")
			}
			out, errOut, code := run(args...)
			if code != ExitFindings {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitFindings, out, errOut)
			}
			for _, want := range []string{"image " + src.Ref, "digest:", "sha256:", "layers:", "shells:", "/bin/sh -> /bin/busybox", "image-shell", "image-network-tools", "image-fs-tools"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	distroless := imagetest.WriteLayout(t, imagetest.Distroless(t))
	out, errOut, code := run("image", "-o", "json", distroless)
	if code != ExitOK {
		t.Fatalf("distroless: exit %d\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		Findings []struct{ Check, Severity string }
		Images   []struct {
			User      string
			Inventory struct {
				Shells []string
				Base   string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 1 || doc.Images[0].Inventory.Base != "distroless" || len(doc.Images[0].Inventory.Shells) != 0 {
		t.Errorf("images: %+v", doc.Images)
	}
	for _, f := range doc.Findings {
		if f.Check != "image-minimal-base" || f.Severity != "info" {
			t.Errorf("distroless: unexpected finding %+v", f)
		}
	}

	// The image compared with its own report: unchanged, --fail-on-new
	// passes even at --fail-on info.
	base := t.TempDir() + "/image.json"
	if err := os.WriteFile(base, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run("image", "--baseline", base, "--fail-on-new", "--fail-on", "info", distroless); code != ExitOK ||
		!strings.Contains(out, ": 0 new · 0 fixed · "+strconv.Itoa(len(doc.Findings))+" unchanged") {
		t.Errorf("image baseline: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := run("image", "--baseline", base, "--fail-on", "info", distroless); code != ExitFindings || len(doc.Findings) == 0 {
		t.Errorf("image baseline without --fail-on-new: exit %d, want %d", code, ExitFindings)
	}

	// An unreadable reference is an input error; the others are still
	// inspected.
	out, errOut, code = run("image", "--fail-on", "none", t.TempDir()+"/missing.tar", distroless)
	if code != ExitError || !strings.Contains(out, "missing.tar") || !strings.Contains(out, "image "+distroless) {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestScanImages: `scan --images` pulls the images the manifests run from
// a registry (here on loopback) and reports the image checks with the
// manifest findings.
func TestScanImages(t *testing.T) {
	ref := imagetest.Push(t, imagetest.Busybox(t))
	dir := t.TempDir()
	manifest := dir + "/pod.yaml"
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n  containers: [{name: a, image: \"" + ref + "\"}]\n"
	if err := os.WriteFile(manifest, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("scan", "--images", "--insecure", "--color", "never", "--fail-on", "none", manifest)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"pod.yaml:", "run-as-non-root", "image " + ref, ref + "  MEDIUM  image-shell"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --images, no registry is contacted and no image is reported.
	out, _, _ = run("scan", "--color", "never", "--fail-on", "none", manifest)
	if strings.Contains(out, "image-shell") {
		t.Errorf("images inspected without --images:\n%s", out)
	}
}

// TestImageSBOM: `image --sbom` writes the SBOM of an image from every
// source kind, to stdout or --output-file; a package file that cannot be
// read is an input error and the SBOM of the rest is still written.
func TestImageSBOM(t *testing.T) {
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t,
			imagetest.File("etc/os-release", "ID=alpine\nVERSION_ID=3.20.3\n"),
			imagetest.File("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\n"),
			imagetest.File("app/node_modules/lodash/package.json", `{"name":"lodash","version":"4.17.21","license":"MIT"}`),
		))
	for _, src := range imagetest.Sources(t, img) {
		t.Run(src.Kind, func(t *testing.T) {
			out, errOut, code := run("image", "--insecure", "--sbom", "cyclonedx", src.Ref)
			if code != ExitOK || errOut != "" {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			var bom struct {
				SpecVersion string
				Components  []struct{ PURL string }
			}
			if err := json.Unmarshal([]byte(out), &bom); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var purls []string
			for _, c := range bom.Components {
				purls = append(purls, c.PURL)
			}
			want := []string{"", "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3", "pkg:npm/lodash@4.17.21"}
			if bom.SpecVersion != "1.6" || strings.Join(purls, " ") != strings.Join(want, " ") {
				t.Errorf("spec %s, purls %q, want %q", bom.SpecVersion, purls, want)
			}
		})
	}
	layout := imagetest.WriteLayout(t, img)
	file := t.TempDir() + "/sbom.spdx.json"
	out, errOut, code := run("image", "--sbom", "spdx", "--output-file", file, layout)
	data, err := os.ReadFile(file)
	if code != ExitOK || out != "" || err != nil || !strings.Contains(string(data), `"spdxVersion": "SPDX-2.3"`) || !strings.Contains(string(data), "pkg:npm/lodash@4.17.21") {
		t.Errorf("--output-file: exit %d, stdout %q, stderr %q, file %v:\n%s", code, out, errOut, err, data)
	}

	for _, args := range [][]string{
		{"image", "--sbom", "cyclonedx", layout, layout},
		{"image", "--sbom", "syft", layout},
		{"image", "--sbom", "spdx", "-o", "json", layout},
	} {
		if out, errOut, code := run(args...); code != ExitError || out != "" || errOut == "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}

	broken := imagetest.WriteLayout(t, imagetest.Image(t, v1.Config{},
		imagetest.Layer(t,
			imagetest.File("app/node_modules/ok/package.json", `{"name":"ok","version":"1.0.0"}`),
			imagetest.File("app/node_modules/bad/package.json", `{"name":`),
		)))
	out, errOut, code = run("image", "--sbom", "cyclonedx", broken)
	if code != ExitError || !strings.Contains(out, "pkg:npm/ok@1.0.0") || !strings.Contains(errOut, "kubeharden: input error: ") || !strings.Contains(errOut, "/app/node_modules/bad/package.json") {
		t.Errorf("broken package file: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
