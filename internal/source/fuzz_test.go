package source

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzSplitParse feeds any bytes through the loader: it must never panic,
// every error must name the file and a line inside it, and the documents
// must cover the input.
func FuzzSplitParse(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: b}]}\n",
		"---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: x}}\n",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}{"kind":"x"}`,
		"a: &x {b: *x}\n",
		"a: b\n  c: d\n",
		"\x00\x01",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("../checks/testdata/*/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("loader hangs on %q", data))
			}
		}()
		docs, errs := Split("in.yaml", data)
		total := 0
		for _, d := range docs {
			total += len(d.Data)
		}
		if len(errs) == 0 && total > len(data) {
			t.Fatalf("documents cover %d bytes of %d", total, len(data))
		}
		lines := LineBreaks(data) + 1
		for _, d := range docs {
			objs, perrs, _ := Parse(d)
			for _, e := range perrs {
				if e.File != "in.yaml" || e.Line < 1 || e.Line > lines {
					t.Fatalf("error outside the input (%d lines): %v", lines, e)
				}
			}
			for _, o := range objs {
				if p := o.PodSpec(); p != nil {
					for _, c := range p.Containers {
						_ = p.Effective(c)
					}
				}
				if l, _ := o.Pos(o.Root()); l < 1 || l > lines {
					t.Fatalf("object at line %d outside the input (%d lines)", l, lines)
				}
			}
		}
	})
}

// FuzzParseBatch checks that a batch of documents reads exactly as its
// documents read one by one.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		"a: &x {b: 1}\n---\nc: *x\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n...\n---\n--- |\n x\n---\nkind: A\napiVersion: b/c\n",
		"a: \"x\n---\ny\"\n---\nkind: A\napiVersion: b/c\n",
		"%YAML 1.1\n---\na: 1\n%TAG ! tag:x,2000:\n---\n!a b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		single, batched := readBoth(data, 1<<20)
		if single != batched {
			t.Fatalf("batch of %q:\n%s\none by one:\n%s", data, batched, single)
		}
	})
}
