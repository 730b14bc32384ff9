package hostile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kustomization writes a kustomization under dir/app, its pod.yaml, and
// ok.yaml beside it, which must still be scanned.
func kustomization(t *testing.T, dir, kust string, files map[string]string) {
	t.Helper()
	all := map[string]string{"app/kustomization.yaml": kust, "app/pod.yaml": pod("a"), "ok.yaml": pod("ok")}
	for k, v := range files {
		all["app/"+k] = v
	}
	write(t, dir, all)
}

// Issue 10, item 2: a FIFO kustomize resource or patch blocked the scan
// forever. Only regular files are read; the error names the
// kustomization's line, and the other input is still scanned.
func TestKustomizeFIFO(t *testing.T) {
	for _, c := range []struct{ name, kust, at string }{
		{"resource", "resources:\n- pod.yaml\n- fifo.yaml\n", "kustomization.yaml:3"},
		{"patch", "resources:\n- pod.yaml\npatches:\n- path: fifo.yaml\n", "kustomization.yaml:4"},
		{"generator file", "resources:\n- pod.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - fifo.yaml\n", "kustomization.yaml:6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			kustomization(t, dir, c.kust, nil)
			if err := syscall.Mkfifo(filepath.Join(dir, "app", "fifo.yaml"), 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			r := run(t, dir, nil, "scan", "--fail-on", "none", "app", "ok.yaml")
			r.want(t, 2, c.at, "fifo.yaml: not a regular file", "ok.yaml")
			if r.took > 10*time.Second {
				t.Errorf("took %s", r.took)
			}
		})
	}
}

// Issue 10, item 9: a 56 MB patch was accepted past the 16 MiB cap. Every
// file kustomize reads is bounded by the document size limit.
func TestKustomizeBigPatch(t *testing.T) {
	dir := t.TempDir()
	patch := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    big: \"" + strings.Repeat("x", 17<<20) + "\"\n"
	kustomization(t, dir, "resources:\n- pod.yaml\npatches:\n- path: patch.yaml\n", map[string]string{"patch.yaml": patch})
	run(t, dir, nil, "scan", "--fail-on", "none", "app", "ok.yaml").
		want(t, 2, "kustomization.yaml:4", "patch.yaml", "--max-document-size", "ok.yaml")
}

// Issue 10, item 9: a patch of 40k annotations kept kustomize busy past
// 60 s (kyaml's time grows with the square of a mapping's length). It is
// refused at once, naming the patch, its line and the render time limit.
func TestKustomizeAnnotationPatch(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n")
	for i := range 40000 {
		fmt.Fprintf(&b, "    a%d: \"v%d\"\n", i, i)
	}
	kustomization(t, dir, "resources:\n- pod.yaml\npatches:\n- path: patch.yaml\n", map[string]string{"patch.yaml": b.String()})
	r := run(t, dir, nil, "scan", "--fail-on", "none", "app", "ok.yaml")
	r.want(t, 2, "kustomization.yaml:4", "patch.yaml:6 has a list or mapping of 40000 entries", "--render-timeout", "ok.yaml")
	if r.took > 10*time.Second {
		t.Errorf("took %s", r.took)
	}
}

// Issue 10, item 9: kustomize builds honour --render-timeout; a build
// past it ends with an error naming the limit, and the rest is scanned.
func TestKustomizeRenderTimeout(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	var k strings.Builder
	k.WriteString("resources:\n")
	for i := range 1000 {
		files[fmt.Sprintf("c%d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
		fmt.Fprintf(&k, "- c%d.yaml\n", i)
	}
	kustomization(t, dir, k.String(), files)
	r := run(t, dir, nil, "scan", "--fail-on", "none", "--render-timeout", "20ms", "app", "ok.yaml")
	r.want(t, 2, "app/kustomization.yaml", "render time limit of 20ms", "--render-timeout", "ok.yaml")
}

// Overlays that each include the one below twice double the output per
// level; refused before the build, by the render size limit.
func TestKustomizeAmplification(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"l0/kustomization.yaml": "resources:\n- pod.yaml\n", "l0/pod.yaml": pod("a"), "ok.yaml": pod("ok")}
	for i := 1; i <= 30; i++ {
		for _, s := range []string{"a", "b"} {
			files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, s)] = fmt.Sprintf("namePrefix: %s-\nresources:\n- ../../l%d\n", s, i-1)
		}
		files[fmt.Sprintf("l%d/kustomization.yaml", i)] = "resources:\n- a\n- b\n"
	}
	write(t, dir, files)
	run(t, dir, nil, "scan", "--fail-on", "none", "l30", "ok.yaml").want(t, 2, "l30/kustomization.yaml", "--max-render-size", "ok.yaml")
}

// Issue 10, item 15: a kustomize build error names the line of the entry
// it is about.
func TestKustomizeErrorLine(t *testing.T) {
	dir := t.TempDir()
	kustomization(t, dir, "resources:\n- pod.yaml\npatches:\n- path: missing.yaml\n", nil)
	run(t, dir, nil, "scan", "--fail-on", "none", "app", "ok.yaml").want(t, 2, "kustomization.yaml:4", "missing.yaml", "ok.yaml")
	if _, err := os.Stat(filepath.Join(dir, "app", "missing.yaml")); err == nil {
		t.Error("the build wrote a file")
	}
}
