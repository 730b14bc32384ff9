package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/limits"
)

const testPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: [{name: a, image: b}]}\n"

// splitAll splits and parses data under l, batched or not, and returns
// the object names and the errors (file:line: message).
func splitAll(t *testing.T, data string, l limits.Limits, batch int) (names, errs []string) {
	t.Helper()
	serrs := split("f", strings.NewReader(data), batch, l.WithDefaults(), func(d Document) {
		objs, es, _ := Parse(d)
		for _, o := range objs {
			names = append(names, o.Name)
		}
		for _, e := range es {
			errs = append(errs, e.Error())
		}
	})
	for _, e := range serrs {
		errs = append(errs, e.Error())
	}
	return names, errs
}

// TestDocumentSizeLimit: a document past the limit is an error naming its
// first line, checked while splitting (its bytes are never held), and the
// documents around it are still read, with their own lines.
func TestDocumentSizeLimit(t *testing.T) {
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + strings.Repeat("  k: v\n", 100)
	long := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: long}\ndata: {k: " + strings.Repeat("x", 200<<10) + "}\n"
	after := "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec: {containers: [{name: a, image: b, securityContext: {privileged: maybe}}]}\n"
	for _, batch := range []int{0, BatchBytes} {
		for _, mid := range []string{big, long} {
			data := fmt.Sprintf(testPod, "a") + "---\n" + mid + "---\n" + after
			names, errs := splitAll(t, data, limits.Limits{DocumentSize: 400}, batch)
			if strings.Join(names, " ") != "a c" {
				t.Errorf("batch %d: objects %v, want a c", batch, names)
			}
			want := []string{"f:5: document exceeds the document size limit of 400 bytes (raise it with --max-document-size); it is skipped"}
			if len(errs) != 1 || errs[0] != want[0] {
				t.Errorf("batch %d: errors %q, want %q", batch, errs, want)
			}
		}
		// The first document, and the only one.
		if names, errs := splitAll(t, big, limits.Limits{DocumentSize: 400}, batch); len(names) != 0 || len(errs) != 1 || !strings.HasPrefix(errs[0], "f:1: document exceeds") {
			t.Errorf("batch %d: %v %q", batch, names, errs)
		}
	}
	// A JSON stream: the value past the limit, at its line.
	data := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"a","image":"b"}]}}` + "\n" +
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"` + strings.Repeat("x", 500) + `"}}` + "\n" +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"c"},"spec":{"containers":[{"name":"a","image":"b"}]}}` + "\n"
	names, errs := splitAll(t, data, limits.Limits{DocumentSize: 400}, 0)
	if strings.Join(names, " ") != "a c" || len(errs) != 1 || !strings.HasPrefix(errs[0], "f:2: document exceeds the document size limit") {
		t.Errorf("JSON: objects %v, errors %q", names, errs)
	}
}

// TestInputSizeLimit: past the limit, reading stops with an error naming
// the line reached; the complete documents before it are read, and the
// one cut short is not reported as broken YAML.
func TestInputSizeLimit(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("---\n" + fmt.Sprintf(testPod, fmt.Sprint("p", i)))
	}
	for _, batch := range []int{0, BatchBytes} {
		names, errs := splitAll(t, b.String(), limits.Limits{InputSize: 1000}, batch)
		if len(names) == 0 || len(names) > 1000/len(testPod) {
			t.Errorf("batch %d: %d objects", batch, len(names))
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "input exceeds the input size limit of 1000 bytes (raise it with --max-input-size); the rest is not read") {
			t.Errorf("batch %d: errors %q", batch, errs)
		}
	}
	var j strings.Builder
	for i := range 100 {
		fmt.Fprintf(&j, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c%d"}}`+"\n", i)
	}
	names, errs := splitAll(t, j.String(), limits.Limits{InputSize: 1000}, 0)
	if len(names) == 0 || len(errs) != 1 || !strings.Contains(errs[0], "--max-input-size") {
		t.Errorf("JSON: %d objects, errors %q", len(names), errs)
	}
	var ex *limits.Exceeded
	serrs := split("f", strings.NewReader(b.String()), 0, limits.Limits{InputSize: 10}.WithDefaults(), func(Document) {})
	if len(serrs) != 1 || !errors.As(serrs[0], &ex) || ex.Flag != "--max-input-size" {
		t.Errorf("errors %v do not carry the limit", serrs)
	}
}

// TestYAMLNodesLimit: nodes are counted with aliases expanded, so a
// billion laughs is refused at once, in time linear in what is written.
func TestYAMLNodesLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	names, errs := splitAll(t, b.String(), limits.Limits{}, BatchBytes)
	if len(names) != 0 || len(errs) != 1 || errs[0] != "f:1: document exceeds the YAML node limit of 4194304 (raise it with --max-yaml-nodes); it is skipped" {
		t.Errorf("objects %v, errors %q", names, errs)
	}
	// The first Pod has 20 nodes, the second 4 more.
	small := fmt.Sprintf(testPod, "a") + "---\n" + strings.Replace(fmt.Sprintf(testPod, "b"), "}", ", labels: {a: b}}", 1)
	if names, errs := splitAll(t, small, limits.Limits{YAMLNodes: 20}, 0); len(names) != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0], "f:6: document exceeds the YAML node limit of 20") {
		t.Errorf("objects %v, errors %q", names, errs)
	}
	var memo map[*yaml.Node]int
	if n := countNodes(nil, 10, &memo); n != 0 {
		t.Errorf("countNodes(nil) = %d", n)
	}
}

// TestBinaryLine: binary content is reported at the line of its first
// bad byte.
func TestBinaryLine(t *testing.T) {
	for _, c := range []struct {
		data string
		want string
	}{
		{"a: b\nc: d\ne: \x00\n", "f:3: not a text file"},
		{"a: b\n\xff\n", "f:2: not a text file"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n" + strings.Repeat("  k: v\n", 2000) + "  z: \x01\n" + strings.Repeat("  y: v\n", 2000), "f:2005: invalid YAML: control characters are not allowed"},
	} {
		_, errs := splitAll(t, c.data, limits.Limits{}, 0)
		if len(errs) != 1 || !strings.HasPrefix(errs[0], c.want) {
			t.Errorf("errors %q, want %q", errs, c.want)
		}
	}
}

// TestWalkLimits: Walk reads the limits from its context.
func TestWalkLimits(t *testing.T) {
	ctx := limits.With(context.Background(), limits.Limits{DocumentSize: 10})
	var errs []string
	for it := range Walk(ctx, []string{Stdin}, Options{Stdin: bytes.NewReader([]byte(fmt.Sprintf(testPod, "a")))}) {
		if it.Kind == Failed {
			errs = append(errs, it.Err.Error())
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "--max-document-size") {
		t.Errorf("errors %q", errs)
	}
}

// FuzzSplitLimits splits any input under small limits: no document past
// the document size limit is handed out, every error names a line of the
// input, and nothing panics.
func FuzzSplitLimits(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(testPod, "a")+"---\n"+fmt.Sprintf(testPod, "b")), int64(100), int64(300), 20)
	f.Add([]byte(`{"a": [1, 2, {"b": "x\"}"}]} [3] "s" 4`+"\n{"), int64(10), int64(30), 5)
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"), int64(1000), int64(1000), 10)
	f.Add([]byte("---\n"+strings.Repeat("x", 70000)+"\r\n---\na: b\n"), int64(50), int64(100000), 10)
	f.Fuzz(func(t *testing.T, data []byte, docSize, inSize int64, nodes int) {
		if docSize <= 0 || inSize <= 0 || nodes <= 0 {
			return
		}
		l := limits.Limits{DocumentSize: docSize, InputSize: inSize, YAMLNodes: nodes}
		lines := LineBreaks(data) + 1
		inRange := func(e Error) {
			if e.File != "f" || e.Line < 1 || e.Line > lines {
				t.Fatalf("error outside the input (%d lines): %v", lines, e)
			}
		}
		for _, batch := range []int{0, BatchBytes} {
			errs := split("f", bytes.NewReader(data), batch, l.WithDefaults(), func(d Document) {
				start := 0
				for _, p := range append(d.parts, part{off: len(d.Data)}) {
					if int64(p.off-start) > docSize {
						t.Fatalf("document of %d bytes past the limit of %d", p.off-start, docSize)
					}
					start = p.off
				}
				_, perrs, _ := Parse(d)
				for _, e := range perrs {
					inRange(e)
				}
			})
			for _, e := range errs {
				inRange(e)
			}
		}
	})
}
