package helm

import (
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/limits"
)

func TestMarkTemplate(t *testing.T) {
	in := strings.Join([]string{
		"a: 1",                     // 1 marked
		"",                         // 2 blank: not marked
		"{{- if .x -}}",            // 3 right trim: not marked
		"---",                      // 4 separator: not marked
		`{{ include "x" (dict`,     // 5 open action: not marked
		`  "a" 1) }}`,              // 6 closes it: marked
		`{{- define "y" }}`,        // 7 in a define: not marked
		"b: {{ if .z }}1{{ end }}", // 8 still in the define
		"{{- end }}",               // 9 closes the define: marked
		"c: 2\r",                   // 10 CRLF kept after the marker
	}, "\n")
	got := strings.Split(string(markTemplate([]byte(in))), "\n")
	want := []string{
		"a: 1 #@kh1;", "", "{{- if .x -}}", "---", `{{ include "x" (dict`, `  "a" 1) }} #@kh6;`,
		`{{- define "y" }}`, "b: {{ if .z }}1{{ end }}", "{{- end }} #@kh9;", "c: 2 #@kh10;\r",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i+1, got[i], want[i])
		}
	}
}

// FuzzMarkTemplate holds markTemplate to what the tracer relies on: the
// marked text has the template's lines, and stripping the markers gives
// the template back.
func FuzzMarkTemplate(f *testing.F) {
	for _, s := range []string{"a: 1\nb: {{ .x }}\n", "{{- if .a -}}\n\n---\n{{ x\ny }}\r\n", "{{ define \"a\" }}{{ if 1 }}\n{{ end }}{{ end }}\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, markerPrefix) {
			return
		}
		got := string(markTemplate([]byte(s)))
		if strings.Count(got, "\n") != strings.Count(s, "\n") {
			t.Fatalf("lines changed: %q -> %q", s, got)
		}
		if back := markerRE.ReplaceAllString(got, ""); back != s {
			t.Fatalf("stripped %q, want %q", back, s)
		}
	})
}

// TestUntraced checks that a chart rendered without its traced render
// (near a limit) still gives every document a tracer, which says the line
// is unknown rather than guessing.
func TestUntraced(t *testing.T) {
	p, errs := prepare("testdata/traced", Options{})
	if p == nil {
		t.Fatal(errs)
	}
	out, err := p.execute()
	if err != nil {
		t.Fatal(err)
	}
	docs, errs := p.documents(out, nil, limits.Default())
	if len(docs) == 0 || len(errs) > 0 {
		t.Fatalf("%d documents, errors %v", len(docs), errs)
	}
	for _, d := range docs {
		if d.Tracer == nil {
			t.Fatalf("%s: no tracer", d.File)
		}
		if tr := d.Tracer.Place(1, "apiVersion", "apiVersion", nil, false); !strings.Contains(tr.Uncertain, "not traced") {
			t.Errorf("%s: untraced placement %+v", d.File, tr)
		}
	}
}

func TestValueKeys(t *testing.T) {
	keys, err := ValueKeys("testdata/traced")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]ValueKey{}
	for _, k := range keys {
		byPath[k.Path] = k
	}
	for path, want := range map[string]ValueKey{
		// values.yaml of the chart, with its value.
		"securityContext.runAsUser": {Type: "number", Set: true, From: "values.yaml"},
		// a subchart's values.yaml, under its name.
		"sub.containerSecurityContext.capabilities.add": {Type: "array", Set: true, From: "values.yaml"},
		// read by a template, declared nowhere.
		"sub.containerSecurityContext": {Type: "object", Set: true, From: "values.yaml"},
	} {
		got, ok := byPath[path]
		if !ok {
			t.Errorf("no key %s in %d keys", path, len(keys))
			continue
		}
		if got.Type != want.Type || got.Set != want.Set || got.From != want.From {
			t.Errorf("%s = %+v, want %+v", path, got, want)
		}
	}
	keys, err = ValueKeys("../../fix/helmfix/testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys {
		if k.Path == "frontend.automountServiceAccountToken" {
			found = true
			if k.Set || k.From != "templates" || k.Type != "" {
				t.Errorf("template-only key = %+v", k)
			}
		}
	}
	if !found {
		t.Error("frontend.automountServiceAccountToken, read by a template only, not found")
	}
	if i := slices.IndexFunc(keys, func(k ValueKey) bool { return k.Path == "networkPolicy.enabled" }); i < 0 {
		t.Error("networkPolicy.enabled, declared by the schema only, not found")
	} else if k := keys[i]; k.From != "values.schema.json" || k.Type != "boolean" || k.Set {
		t.Errorf("schema-only key = %+v", k)
	}
}

// TestSplitGlued: `---{{- if ... -}}` renders a separator glued to what
// follows, which Helm's splitter cuts; so must the scan, keeping lines
// where it can.
func TestSplitGlued(t *testing.T) {
	for in, want := range map[string]string{
		"a: 1\n---# comment\nb: 2\n": "a: 1\n--- # comment\nb: 2\n",
		"a: 1\n---apiVersion: v1\n":  "a: 1\n---\napiVersion: v1\n",
		"a: 1\n---\nb: 2\n":          "a: 1\n---\nb: 2\n",
		"a: 1\n----\n":               "a: 1\n----\n",
		"x: '---#'\n":                "x: '---#'\n",
	} {
		if got := splitGlued(in); got != want {
			t.Errorf("splitGlued(%q) = %q, want %q", in, got, want)
		}
	}
}
