package kustomize

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: c, image: \"nginx:1\"}\n"

// buildWithin builds dir, failing the test instead of hanging past d.
func buildWithin(t *testing.T, ctx context.Context, dir string, d time.Duration) ([]source.Document, []source.Error) {
	t.Helper()
	type out struct {
		docs []source.Document
		errs []source.Error
	}
	done := make(chan out, 1)
	go func() {
		docs, errs := Build(ctx, dir, Options{})
		done <- out{docs, errs}
	}()
	select {
	case o := <-done:
		return o.docs, o.errs
	case <-time.After(d):
		t.Fatalf("build of %s did not end within %s", dir, d)
		return nil, nil
	}
}

// oneError asserts the build failed with one error at the kustomization
// file's line, whose message holds text.
func oneError(t *testing.T, errs []source.Error, file string, line int, text string) source.Error {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("errors: %v", errs)
	}
	e := errs[0]
	if e.File != file || e.Line != line || !strings.Contains(e.Message, text) {
		t.Errorf("error = %v, want %s:%d: ...%s...", e, file, line, text)
	}
	return e
}

// A FIFO anywhere kustomize reads a file is refused at the entry naming
// it, without blocking: only regular files are read.
func TestNonRegularRefused(t *testing.T) {
	cases := []struct {
		name, kust string
		line       int
	}{
		{"resource", "resources:\n- pod.yaml\n- fifo.yaml\n", 3},
		{"patch", "resources:\n- pod.yaml\npatches:\n- path: fifo.yaml\n", 4},
		{"strategic merge patch", "resources:\n- pod.yaml\npatchesStrategicMerge:\n- fifo.yaml\n", 4},
		{"json6902 patch", "resources:\n- pod.yaml\npatchesJson6902:\n- target: {version: v1, kind: Pod, name: a}\n  path: fifo.yaml\n", 5},
		{"generator file", "resources:\n- pod.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - fifo.yaml\n", 6},
		{"generator file with key", "resources:\n- pod.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - k=fifo.yaml\n", 6},
		{"generator env", "resources:\n- pod.yaml\nsecretGenerator:\n- name: g\n  envs:\n  - fifo.yaml\n", 6},
		{"component", "resources:\n- pod.yaml\ncomponents:\n- comp\n", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"kustomization.yaml": c.kust, "pod.yaml": pod})
			fifo := filepath.Join(dir, "fifo.yaml")
			if c.name == "component" {
				if err := os.Mkdir(filepath.Join(dir, "comp"), 0o755); err != nil {
					t.Fatal(err)
				}
				fifo = filepath.Join(dir, "comp", "kustomization.yaml")
			}
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			_, errs := buildWithin(t, context.Background(), dir, 10*time.Second)
			if len(errs) != 1 || errs[0].File != filepath.Join(dir, "kustomization.yaml") || errs[0].Line != c.line {
				t.Fatalf("errors %v, want one at kustomization.yaml:%d", errs, c.line)
			}
			if c.name != "component" && !errors.Is(errs[0], ErrNotRegular) {
				t.Errorf("error %v does not wrap ErrNotRegular", errs[0])
			}
		})
	}
}

// Every file kustomize reads, patches included, is bounded by the
// document and input size limits, alone and all together.
func TestFileSizeLimits(t *testing.T) {
	big := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    big: \"" + strings.Repeat("x", 4000) + "\"\n"
	cases := []struct {
		name  string
		files map[string]string
		l     limits.Limits
		line  int
		flag  string
	}{
		{"patch past the document size", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- path: patch.yaml\n", "patch.yaml": big},
			limits.Limits{DocumentSize: 2048}, 4, "--max-document-size"},
		{"second document past the document size", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatchesStrategicMerge:\n- patch.yaml\n", "patch.yaml": "a: b\n---\n" + big},
			limits.Limits{DocumentSize: 2048}, 4, "--max-document-size"},
		{"patch past the input size", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- path: patch.yaml\n", "patch.yaml": big},
			limits.Limits{InputSize: 2048}, 4, "--max-input-size"},
		{"files together past the input size", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\n- b.yaml\n- c.yaml\n",
			"b.yaml": strings.ReplaceAll(big, "name: a", "name: b"), "c.yaml": strings.ReplaceAll(big, "name: a", "name: c")},
			limits.Limits{InputSize: 6000}, 4, "--max-input-size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.files["pod.yaml"] = pod
			dir := writeTree(t, c.files)
			_, errs := buildWithin(t, limits.With(context.Background(), c.l), dir, 10*time.Second)
			e := oneError(t, errs, filepath.Join(dir, "kustomization.yaml"), c.line, c.flag)
			var ex *limits.Exceeded
			if !errors.As(e, &ex) || ex.Flag != c.flag {
				t.Errorf("error %v is not a limit's", e)
			}
		})
	}
}

// A patch of 40,000 annotations, which kept krusty busy for minutes, is
// refused at once, naming the patch's line and the render time limit.
func TestQuadraticPatchRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n")
	for i := range 40000 {
		fmt.Fprintf(&b, "    a%d: v\n", i)
	}
	dir := writeTree(t, map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- path: patch.yaml\n", "pod.yaml": pod, "patch.yaml": b.String()})
	start := time.Now()
	_, errs := buildWithin(t, context.Background(), dir, 20*time.Second)
	e := oneError(t, errs, filepath.Join(dir, "kustomization.yaml"), 4, "patch.yaml:6 has a list or mapping of 40000 entries")
	var ex *limits.Exceeded
	if !errors.As(e, &ex) || ex.Flag != "--render-timeout" {
		t.Errorf("error %v is not the render time limit's", e)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %s", d)
	}
}

// resources writes a kustomization of n ConfigMaps, one file each.
func resources(t *testing.T, n int) string {
	files := map[string]string{}
	var k strings.Builder
	k.WriteString("resources:\n")
	for i := range n {
		files[fmt.Sprintf("c%d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
		fmt.Fprintf(&k, "- c%d.yaml\n", i)
	}
	files["kustomization.yaml"] = k.String()
	return writeTree(t, files)
}

// A cancelled build returns promptly: krusty is left to finish in the
// background and reads no more files.
func TestCanceledMidBuild(t *testing.T) {
	dir := resources(t, 1500)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	docs, errs := buildWithin(t, ctx, dir, 10*time.Second)
	if d := time.Since(start); d > time.Second || len(docs) != 0 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("after %s: %d docs, errors %v", d, len(docs), errs)
	}
}

// Past the render time limit, the build ends with an error naming it.
func TestRenderTimeout(t *testing.T) {
	dir := resources(t, 300)
	ctx := limits.With(context.Background(), limits.Limits{RenderTimeout: 10 * time.Millisecond})
	_, errs := buildWithin(t, ctx, dir, 10*time.Second)
	var ex *limits.Exceeded
	if len(errs) != 1 || !errors.As(errs[0], &ex) || ex.Flag != "--render-timeout" {
		t.Fatalf("errors %v", errs)
	}
}

// Overlays that each include the one below twice double the output per
// level: refused before krusty builds gigabytes.
func TestRenderSizeAmplification(t *testing.T) {
	files := map[string]string{"l0/kustomization.yaml": "resources:\n- pod.yaml\n", "l0/pod.yaml": pod}
	const levels = 30
	for i := 1; i <= levels; i++ {
		for _, s := range []string{"a", "b"} {
			files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, s)] = fmt.Sprintf("namePrefix: %s-\nresources:\n- ../../l%d\n", s, i-1)
		}
		files[fmt.Sprintf("l%d/kustomization.yaml", i)] = "resources:\n- a\n- b\n"
	}
	root := writeTree(t, files)
	dir := filepath.Join(root, fmt.Sprintf("l%d", levels))
	_, errs := buildWithin(t, context.Background(), dir, 10*time.Second)
	e := oneError(t, errs, filepath.Join(dir, "kustomization.yaml"), 0, "--max-render-size")
	var ex *limits.Exceeded
	if !errors.As(e, &ex) {
		t.Errorf("error %v is not a limit's", e)
	}
}

// A build error names the entry it is about: in the kustomization that
// holds it, followed through bases.
func TestBuildErrorEntryLine(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		file  string
		line  int
	}{
		{"missing patch", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- path: missing.yaml\n"}, "kustomization.yaml", 4},
		{"missing generator file", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\nconfigMapGenerator:\n- name: x\n  files:\n  - missing.txt\n"}, "kustomization.yaml", 6},
		{"missing component", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\ncomponents:\n- comp\n"}, "kustomization.yaml", 4},
		{"duplicate resource", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\n- pod2.yaml\n", "pod2.yaml": pod}, "kustomization.yaml", 3},
		// Patch errors that name no file: at the only patch entry, or at
		// the patches key that holds several.
		{"inline patch that does not apply", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- target: {kind: Pod, name: a}\n  patch: |-\n    - op: replace\n      path: /spec/nope/x\n      value: 1\n"}, "kustomization.yaml", 4},
		{"patch that matches nothing", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\npatches:\n- path: p1.yaml\n- path: p2.yaml\n",
			"p1.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: true}\n",
			"p2.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: zzz}\nspec: {hostNetwork: true}\n"}, "kustomization.yaml", 3},
		{"missing resource of a base", map[string]string{"kustomization.yaml": "resources:\n- pod.yaml\n- base\n", "base/kustomization.yaml": "resources:\n- pod.yaml\n- nope.yaml\n", "base/pod.yaml": strings.ReplaceAll(pod, "name: a", "name: b")}, "base/kustomization.yaml", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.files["pod.yaml"] = pod
			dir := writeTree(t, c.files)
			_, errs := buildWithin(t, context.Background(), dir, 10*time.Second)
			oneError(t, errs, filepath.Join(dir, c.file), c.line, "kustomize build failed")
		})
	}
}

// FuzzDocSizes checks checkDocSizes against a plain split of the stream
// at its document markers: it errs exactly when a document is longer
// than the limit.
func FuzzDocSizes(f *testing.F) {
	for _, s := range []string{"a: b\n", "a\n---\nb\n", "---\n---\n", "x: |\n---\n", "--- a\n----\n--- \n", "a\r\n---\r\nbb\r\n"} {
		f.Add(s, int64(3))
	}
	f.Fuzz(func(t *testing.T, data string, max int64) {
		if max < 0 || max > 1<<20 {
			return
		}
		over := false
		lines := strings.SplitAfter(data, "\n")
		n := 0
		for i, l := range lines {
			if i > 0 && docMarker([]byte(l)) {
				over = over || int64(n-1) > max // without the newline before the marker
				n = 0
			}
			n += len(l)
		}
		over = over || int64(n) > max
		err := checkDocSizes([]byte(data), limits.Limits{DocumentSize: max})
		if int64(len(data)) > max && over != (err != nil) {
			t.Fatalf("%q max %d: error %v, want over=%v", data, max, err, over)
		}
		if err != nil && !errors.As(err, new(*limits.Exceeded)) {
			t.Fatalf("error %v", err)
		}
	})
}
