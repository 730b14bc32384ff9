package fix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestManifestJSON: JSON manifests are fixed as JSON: a single document
// and a stream, with the blanks between the values and the final newline
// kept, valid JSON out, and a second run changes nothing.
func TestManifestJSON(t *testing.T) {
	pod := func(name string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}`
	}
	var indented bytes.Buffer
	_ = json.Indent(&indented, []byte(pod("b")), "", "    ")
	for name, in := range map[string]string{
		"one":      pod("a") + "\n",
		"indented": indented.String() + "\n",
		"stream":   pod("a") + "\n\n" + indented.String() + "\n" + pod("c"),
		"same":     pod("a") + " " + pod("b") + "\n",
	} {
		out, applied, err := Manifest([]byte(in), Options{})
		if err != nil || len(applied) == 0 {
			t.Fatalf("%s: %v, %d applied", name, err, len(applied))
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		n := 0
		for {
			var v map[string]any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not JSON: %v\n%s", name, err, out)
			}
			n++
		}
		if want := strings.Count(in, `"kind"`); n != want {
			t.Errorf("%s: %d values, want %d", name, n, want)
		}
		if strings.HasSuffix(in, "\n") != bytes.HasSuffix(out, []byte("\n")) || strings.Count(in, "\n\n") != bytes.Count(out, []byte("\n\n")) {
			t.Errorf("%s: blanks between or after the values changed:\n%s", name, out)
		}
		again, applied, err := Manifest(out, Options{})
		if err != nil || len(applied) != 0 || !bytes.Equal(again, out) {
			t.Errorf("%s: second run: %v, %v", name, err, applied)
		}
	}
}

// TestManifestCancelled: a cancelled context returns its error and no
// output.
func TestManifestCancelled(t *testing.T) {
	var in strings.Builder
	for i := range 200 {
		fmt.Fprintf(&in, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers:\n  - {name: c, image: \"nginx:1\"}\n", i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, applied, err := New(Options{}).ManifestAt(ctx, "a.yaml", []byte(in.String()))
	if !errors.Is(err, context.Canceled) || out != nil || applied != nil {
		t.Errorf("got %v, %d bytes, %d applied", err, len(out), len(applied))
	}
}

// TestManifestAliasBomb: a pod with ten levels of nested aliases (10^10
// nodes expanded) is fixed in well under a second; it once took minutes.
func TestManifestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    x0: &a0 [\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\"]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "    x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	b.WriteString("spec:\n  containers:\n  - name: c\n    image: nginx:1\n")
	start := time.Now()
	out, applied, err := Manifest([]byte(b.String()), Options{})
	if err != nil || len(applied) == 0 {
		t.Fatalf("%v, %d applied", err, len(applied))
	}
	if !bytes.Contains(out, []byte("x10: &a10 [")) {
		t.Errorf("the aliases were not kept:\n%s", out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}
