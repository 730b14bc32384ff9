package kustomizefix

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/kustomize"
)

func build(ctx context.Context, dir string) ([]source.Document, []source.Error) {
	return kustomize.Build(ctx, dir, kustomize.Options{})
}

// copyTree copies testdata/app into a temporary directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata/app", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/app", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestPatch: the patch, added to the overlay, makes a real kustomize build
// need no fix, leaves the base alone, and a second run changes nothing.
func TestPatch(t *testing.T) {
	root := copyTree(t)
	overlay := filepath.Join(root, "overlays", "prod")
	base, _ := os.ReadFile(filepath.Join(root, "base", "deployment.yaml"))
	ctx := context.Background()
	res, err := Patch(ctx, overlay, build, fix.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) == 0 || len(res.Files) != 2 {
		t.Fatalf("applied %d fixes, files %v", len(res.Applied), keys(res.Files))
	}
	for p, b := range res.Files {
		if err := fix.WriteFile(p, b); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := os.ReadFile(filepath.Join(overlay, "kustomization.yaml"))
	wantK := "# Production overlay.\nnamespace: shop\nnamePrefix: prod-\nresources:\n- ../../base   # the shared base\ncommonLabels:\n  env: prod\npatches:\n- path: kubeharden-patch.yaml\n"
	if string(k) != wantK {
		t.Errorf("kustomization:\n%s\nwant\n%s", k, wantK)
	}
	patch, _ := os.ReadFile(filepath.Join(overlay, PatchFile))
	for _, want := range []string{"  name: web\n", "privileged: false", "container.apparmor.security.beta.kubernetes.io/web: null", "mountPath: /tmp"} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("patch has no %q:\n%s", want, patch)
		}
	}
	if strings.Contains(string(patch), "namespace:") {
		t.Errorf("the patch names the namespace this level sets:\n%s", patch)
	}
	// The build with the patch needs no fix.
	docs, errs := build(ctx, overlay)
	if len(errs) > 0 {
		t.Fatalf("build with the patch: %v\n%s", errs, patch)
	}
	for _, d := range docs {
		if _, applied, _ := fix.Manifest(d.Data, fix.Options{}); len(applied) > 0 {
			t.Errorf("after the patch, %d fixes remain, e.g. %+v\n%s\npatch:\n%s", len(applied), applied[0], d.Data, patch)
		}
		// The base's own fields survive the patch.
		for _, want := range []string{"NET_BIND_SERVICE", "mountPath: /data", "image: registry.example.com/web:1.0.0"} {
			if !strings.Contains(string(d.Data), want) {
				t.Errorf("built object lost %q:\n%s", want, d.Data)
			}
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, "base", "deployment.yaml")); !bytes.Equal(got, base) {
		t.Error("the base was edited")
	}
	// Idempotent.
	again, err := Patch(ctx, overlay, build, fix.Options{})
	if err != nil || len(again.Applied) != 0 || len(again.Files) != 0 {
		t.Errorf("second run: err %v, applied %v, files %v", err, again.Applied, keys(again.Files))
	}
}

// TestPatchMerges: a fix needed later (here, a check turned on in a second
// run) is merged into the patch file's existing document.
func TestPatchMerges(t *testing.T) {
	root := copyTree(t)
	overlay := filepath.Join(root, "overlays", "prod")
	ctx := context.Background()
	for _, checks := range []string{"privileged-container", "run-as-non-root"} {
		res, err := Patch(ctx, overlay, build, fix.Options{Checks: map[string]bool{checks: true}})
		if err != nil {
			t.Fatal(err)
		}
		for p, b := range res.Files {
			if err := fix.WriteFile(p, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	patch, _ := os.ReadFile(filepath.Join(overlay, PatchFile))
	if n := strings.Count(string(patch), "\nkind: Deployment"); n != 1 {
		t.Errorf("%d patch documents for one object:\n%s", n, patch)
	}
	for _, want := range []string{"privileged: false", "runAsNonRoot: true"} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("merged patch has no %q:\n%s", want, patch)
		}
	}
	if _, errs := build(ctx, overlay); len(errs) > 0 {
		t.Fatal(errs)
	}
}

func TestForeignPatchFileKept(t *testing.T) {
	root := copyTree(t)
	overlay := filepath.Join(root, "overlays", "prod")
	if err := os.WriteFile(filepath.Join(overlay, PatchFile), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Patch(context.Background(), overlay, build, fix.Options{}); err == nil || !strings.Contains(err.Error(), "not written by kubeharden") {
		t.Errorf("err = %v", err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
