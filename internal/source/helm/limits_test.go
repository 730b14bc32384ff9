package helm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

// small are limits a test reaches fast, still far above what the
// charts of the other tests need.
var small = limits.Limits{RenderTimeout: 2 * time.Second, RenderSize: 1 << 20, RenderMemory: 256 << 20}

// chartWith writes a chart whose one template is tpl.
func chartWith(t testing.TB, tpl, values string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"Chart.yaml":       "apiVersion: v2\nname: hostile\nversion: 1.0.0\n",
		"values.yaml":      values,
		"templates/t.yaml": tpl,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exceeded returns the limit errs stopped at, or nil.
func exceeded(errs []source.Error) *limits.Exceeded {
	for _, e := range errs {
		var ex *limits.Exceeded
		if errors.As(e, &ex) {
			return ex
		}
	}
	return nil
}

// TestRenderLimits: each way a chart of a few bytes took gigabytes or
// hours (issue 10) ends in an error naming the chart, or the template,
// and the limit, within the time limit. A child short of memory most
// often dies at once, but its runtime may also stall until the time
// limit: either is the bound holding.
func TestRenderLimits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, tpl, values string
		flag              string // or the time limit, with "memory"
		template          bool
	}{
		{name: "until", tpl: "{{ range until 100000000 }}x{{ end }}", flag: "--max-render-memory"},
		{name: "repeat", tpl: `{{ repeat 2000000000 "x" }}`, flag: "--max-render-memory"},
		{name: "keys", tpl: "data:\n{{- range $i := until 30000000 }}\n  k{{ $i }}: v\n{{- end }}\n", flag: "--max-render-memory"},
		{name: "output", tpl: "{{ range until 100000 }}" + strings.Repeat("x", 100) + "{{ end }}", flag: "--max-render-size", template: true},
		{name: "loop", tpl: "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", flag: "--render-timeout"},
		{name: "tpl", tpl: "{{ tpl .Values.t . }}", values: "t: '{{ tpl .Values.t . }}'", flag: "--max-render-memory"},
		{name: "include", tpl: `{{ define "x" }}{{ if lt . 40 }}{{ include "x" (add1 .) }}{{ include "x" (add1 .) }}{{ end }}{{ end }}{{ include "x" 0 }}`, flag: "--render-timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := chartWith(t, c.tpl, c.values)
			start := time.Now()
			docs, errs := Render(limits.With(context.Background(), small), dir, Options{})
			took := time.Since(start)
			if took > small.RenderTimeout+2*time.Second {
				t.Errorf("took %s, past the %s limit", took, small.RenderTimeout)
			}
			ex := exceeded(errs)
			if len(docs) != 0 || len(errs) != 1 || ex == nil {
				t.Fatalf("got %d documents, errors %v; want one limit error", len(docs), errs)
			}
			msg := errs[0].Error()
			flag := c.flag
			if flag == "--max-render-memory" && ex.Flag == "--render-timeout" {
				flag = ex.Flag
			}
			if ex.Flag != flag || !strings.Contains(msg, flag) || !strings.Contains(msg, dir) {
				t.Errorf("error %q, want the chart and %s named", msg, c.flag)
			}
			if want := filepath.Join(dir, "templates", "t.yaml"); c.template && errs[0].File != want {
				t.Errorf("error at %s, want %s", errs[0].File, want)
			}
		})
	}
}

// TestRenderWithinLimits: a chart near, not past, the limits renders.
func TestRenderWithinLimits(t *testing.T) {
	t.Parallel()
	dir := chartWith(t, "{{ range $i := until 5000 }}\n---\nkind: ConfigMap\nmetadata: {name: c{{ $i }}}\ndata: {a: {{ repeat 100 \"x\" }}}\n{{ end }}", "")
	docs, errs := Render(limits.With(context.Background(), small), dir, Options{})
	if len(errs) != 0 || len(docs) != 5000 {
		t.Errorf("got %d documents, errors %v", len(docs), errs)
	}
}

// TestRenderStops: a cancelled context stops a render at once.
func TestRenderStops(t *testing.T) {
	t.Parallel()
	dir := chartWith(t, "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, errs := Render(ctx, dir, Options{})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s after the context was cancelled", took)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) || errs[0].File != dir {
		t.Errorf("errors %v, want the chart not rendered: context canceled", errs)
	}
}

// FuzzRenderBounded: whatever the sizes a chart asks of until, repeat,
// nested loops, string doubling and tpl recursion, rendering ends within
// the time limit in documents no larger than the output limit, or in an
// error at a limit or of the template, never in a crash.
func FuzzRenderBounded(f *testing.F) {
	for _, s := range []struct {
		kind uint8
		n    uint32
	}{{0, 10}, {0, 1 << 30}, {1, 1000}, {1, 1 << 31}, {2, 3}, {2, 1 << 20}, {3, 5}, {3, 40}, {4, 2}, {4, 1 << 16}, {5, 3}, {5, 100}} {
		f.Add(s.kind, s.n)
	}
	l := limits.Limits{RenderTimeout: time.Second, RenderSize: 256 << 10, RenderMemory: 256 << 20}
	f.Fuzz(func(t *testing.T, kind uint8, n uint32) {
		var tpl, values string
		switch kind % 6 {
		case 0:
			tpl = fmt.Sprintf("{{ range until %d }}x{{ end }}", n)
		case 1:
			tpl = fmt.Sprintf(`a: {{ repeat %d "x" }}`, n)
		case 2:
			tpl = fmt.Sprintf("{{ range until %d }}{{ range until %[1]d }}{{ range until %[1]d }}y{{ end }}{{ end }}{{ end }}", n)
		case 3:
			tpl = fmt.Sprintf(`{{ $s := "ab" }}{{ range until %d }}{{ $s = print $s $s }}{{ end }}{{ len $s }}`, n)
		case 4:
			tpl = fmt.Sprintf(`{{ range untilStep 0 %d 1 }}{{ printf "%%d\n" . }}{{ end }}`, n)
		case 5:
			tpl, values = "{{ tpl .Values.t (dict \"Values\" .Values \"n\" 0) }}", fmt.Sprintf("t: '{{ if lt .n %d }}{{ tpl .Values.t (dict \"Values\" .Values \"n\" (add1 .n)) }}{{ end }}'", n)
		}
		dir := chartWith(t, tpl, values)
		start := time.Now()
		docs, errs := Render(limits.With(context.Background(), l), dir, Options{})
		if took := time.Since(start); took > l.RenderTimeout+2*time.Second {
			t.Fatalf("took %s, past the %s limit", took, l.RenderTimeout)
		}
		size := 0
		for _, d := range docs {
			size += len(d.Data)
		}
		if int64(size) > l.RenderSize {
			t.Fatalf("rendered %d bytes, past the %d limit", size, l.RenderSize)
		}
		for _, e := range errs {
			if exceeded(errs) == nil && !strings.Contains(e.Message, "template") {
				t.Fatalf("neither a limit nor a template error: %v", e)
			}
		}
	})
}
