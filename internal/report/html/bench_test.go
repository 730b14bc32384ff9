package html

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// scale100k scans the 100,000-object benchmark set of the corpus's
// scale.sh (`make bench-html` sets KUBEHARDEN_SCALE).
func scale100k(b *testing.B) *scan.Result {
	dir := os.Getenv("KUBEHARDEN_SCALE")
	if dir == "" {
		b.Skip("KUBEHARDEN_SCALE is not set: run `make bench-html`")
	}
	res := scantest.Paths([]string{filepath.Join(dir, "N100k.yaml")}, scan.Options{Registry: checks.Registry()})
	if len(res.Errors) > 0 {
		b.Fatal(res.Errors[0])
	}
	return res
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkHTML100k renders the report of the 100,000-object scan (MB is
// its size, to stay under 50) and opens it in headless Chromium (s/load:
// from navigation to the page loaded and its filter script run, to stay
// under 5).
func BenchmarkHTML100k(b *testing.B) {
	res := scale100k(b)
	b.Run("render", func(b *testing.B) {
		var w countingWriter
		b.ReportAllocs()
		for b.Loop() {
			w.n = 0
			if err := Render(&w, res, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w.n)/1e6, "MB")
		b.ReportMetric(float64(len(res.Findings)), "findings")
		b.ReportMetric(float64(min(len(res.Findings), DefaultMaxFindings)), "listed")
	})
	b.Run("open", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "report.html")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := Render(f, res, Options{}); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		tb := openTab(b, true)
		total := 0.0
		for b.Loop() {
			tb.load(b, "/dev/null") // a blank page between loads
			total += loadSeconds(b, tb, path)
		}
		b.ReportMetric(total/float64(b.N), "s/load")
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
		tb.noProblems(b)
	})
}

// BenchmarkRender measures rendering alone on a synthetic result of
// 100,000 findings.
func BenchmarkRender(b *testing.B) {
	res := reporttest.Large(100000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, res, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
