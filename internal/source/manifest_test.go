package source

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/limits"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

func TestSplitLines(t *testing.T) {
	data := []byte("# head\na: 1\n---\nb: 2\n--- # c\nc: 3\n---\n")
	docs, errs := Split("f", data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []int
	for _, d := range docs {
		got = append(got, d.LineOffset)
	}
	want := []int{0, 2, 4, 6}
	if len(got) != len(want) {
		t.Fatalf("offsets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offsets %v, want %v", got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"binary", "\x00\x01\x02", "f:1: not a text file"},
		{"bad utf8", "a: \xff\xfe\n", "f:1: not a text file"},
		{"broken yaml", "a: 1\n---\nkind: Pod\napiVersion: v1\nmetadata: {name: x\n", "f:5: invalid YAML"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", `f:5:3: mapping key "name" already defined`},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- {a: 1}\n", "f:4:3: items[0] of List is not a Kubernetes object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, errs := Split("f", []byte(c.data))
			for _, d := range docs {
				_, e, _ := Parse(d)
				errs = append(errs, e...)
			}
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), c.want) {
				t.Fatalf("errors %v, want one starting %q", errs, c.want)
			}
		})
	}
}

func TestParseSkipsNonObjects(t *testing.T) {
	for _, data := range []string{"", "# comment\n", "---\n---\n", "name: ci\non: push\n", "- a\n- b\n", "just text\n"} {
		docs, errs := Split("f", []byte(data))
		for _, d := range docs {
			objs, e, _ := Parse(d)
			errs = append(errs, e...)
			if len(objs) > 0 {
				t.Errorf("%q: got objects", data)
			}
		}
		if len(errs) > 0 {
			t.Errorf("%q: errors %v", data, errs)
		}
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.yaml", "b.yml", "c.json", "d.txt", ".hidden/e.yaml", "sub/f.yaml", "sub/skip/g.yaml", ".h.yaml"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, errs := Expand([]string{dir, filepath.Join(dir, "d.txt"), filepath.Join(dir, "nope")}, []string{"sub/skip"})
	var got []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f.Path)
		got = append(got, r)
	}
	want := "a.yaml b.yml c.json sub/f.yaml d.txt"
	if strings.Join(got, " ") != want {
		t.Errorf("files %v, want %s", got, want)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "nope: no such file") {
		t.Errorf("errors %v", errs)
	}
}

func TestMatchGlob(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"deploy/**", "deploy/a/b.yaml", true},
		{"**/*.yaml", "a/b/c.yaml", true},
		{"*.yaml", "a/b.yaml", false},
		{"a/*/c.yaml", "a/b/c.yaml", true},
		{"./a.yaml", "a.yaml", true},
	} {
		if got := MatchGlob(c.glob, c.path); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v", c.glob, c.path, got)
		}
	}
}

func TestExpandRenderedSources(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"chart/Chart.yaml", "chart/templates/d.yaml", "chart/charts/sub/Chart.yaml", "kust/kustomization.yaml", "kust/base/x.yaml", "plain/a.yaml", "pkg.tgz"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("{{ .Values.x }}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, errs := Expand([]string{dir, filepath.Join(dir, "pkg.tgz"), filepath.Join(dir, "kust")}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f.Path)
		got = append(got, r+"="+f.Kind.String())
	}
	want := "chart=Helm chart kust=kustomization plain/a.yaml=manifest pkg.tgz=Helm chart"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v\nwant %s", got, want)
	}
}

// dump writes what a scan reads of objects and errors: every node with
// its position in the file, and every error.
func dump(objs []*object.Object, errs []Error) string {
	var b strings.Builder
	var walk func(n *yaml.Node, off, depth int)
	walk = func(n *yaml.Node, off, depth int) {
		if n == nil || depth > 50 {
			return
		}
		fmt.Fprintf(&b, "%d %q %q %d:%d|", n.Kind, n.Tag, n.Value, n.Line+off, n.Column)
		if n.Kind == yaml.AliasNode {
			walk(n.Alias, off, depth+1)
		}
		for _, c := range n.Content {
			walk(c, off, depth+1)
		}
	}
	for _, o := range objs {
		fmt.Fprintf(&b, "\n%s %s ", o.APIVersion, o)
		walk(o.Node, o.LineOffset, 0)
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "\n%v", e)
	}
	return b.String()
}

// readBoth reads data one document at a time and in batches of any size.
func readBoth(data []byte, batch int) (single, batched string) {
	var objs []*object.Object
	var errs []Error
	docs, serrs := Split("f", data)
	errs = append(errs, serrs...)
	for _, d := range docs {
		o, e, _ := Parse(d)
		objs, errs = append(objs, o...), append(errs, e...)
	}
	single = dump(objs, errs)
	objs, errs = nil, nil
	serrs = split("f", bytes.NewReader(data), batch, limits.Default(), func(d Document) {
		o, e, _ := Parse(d)
		objs, errs = append(objs, o...), append(errs, e...)
	})
	return single, dump(objs, append(errs, serrs...))
}

func TestParseBatch(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: [{name: a, image: b}]}\n"
	for _, data := range []string{
		fmt.Sprintf(pod+"---\n"+pod+"--- # c\n\n"+pod, "a", "b", "c"),
		"# head\n---\n---\n" + fmt.Sprintf(pod, "a") + "...\n---\n" + fmt.Sprintf(pod, "b"),
		// An alias resolves only inside its own document.
		"a: &x {b: 1}\n---\nc: *x\n---\n" + fmt.Sprintf(pod, "a"),
		"a: &x {b: 1}\nc: *x\n---\n" + fmt.Sprintf(pod, "a"),
		// Errors are found on their own documents.
		fmt.Sprintf(pod, "a") + "---\na: [1,\n---\n" + fmt.Sprintf(pod, "b"),
		fmt.Sprintf(pod, "a") + "---\na: \"x\n---\ny\"\n---\n" + fmt.Sprintf(pod, "b"),
		fmt.Sprintf(pod, "a") + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\n",
		"--- |\nfoo\n---\n" + fmt.Sprintf(pod, "a"),
		"%YAML 1.1\n---\n" + fmt.Sprintf(pod, "a") + "%YAML 1.1\n---\n" + fmt.Sprintf(pod, "b"),
		"a: 1\r---\r" + fmt.Sprintf(pod, "a"),
	} {
		for _, batch := range []int{1, 64, 1 << 20} {
			single, batched := readBoth([]byte(data), batch)
			if single != batched {
				t.Errorf("batch %d of %q:\n%s\none by one:\n%s", batch, data, batched, single)
			}
		}
	}
}

func TestLoneCRs(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a\n": 0, "a\r\n": 0, "a\r": 1, "\r\r\n\r": 2, "a\rb\r\nc\rd": 2, "\r": 1} {
		if got := loneCRs([]byte(in)); got != want {
			t.Errorf("loneCRs(%q) = %d, want %d", in, got, want)
		}
	}
}
