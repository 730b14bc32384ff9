package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"duplicate key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", `f:5:3: mapping key "name" already defined`},
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
