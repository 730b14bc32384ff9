package scan_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
	"github.com/kubeharden/kubeharden/internal/source"
)

// scaleDir returns the benchmark sets written by the corpus's scale.sh
// (`make bench` sets KUBEHARDEN_SCALE).
func scaleDir(b *testing.B) string {
	dir := os.Getenv("KUBEHARDEN_SCALE")
	if dir == "" {
		b.Skip("KUBEHARDEN_SCALE is not set: run `make bench`")
	}
	return dir
}

func benchScan(b *testing.B, name string) {
	path := filepath.Join(scaleDir(b), name)
	objects := 0
	b.ReportAllocs()
	for b.Loop() {
		res := scantest.Paths([]string{path}, scan.Options{Registry: checks.Registry()})
		if len(res.Errors) > 0 {
			b.Fatal(res.Errors[0])
		}
		objects = res.Objects
	}
	b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// benchParse is the floor inside the same process: split and parse with
// the scan's own loader, no checks.
func benchParse(b *testing.B, name string) {
	path := filepath.Join(scaleDir(b), name)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	objects := 0
	b.ReportAllocs()
	for b.Loop() {
		objects = 0
		docs, _ := source.Split(path, data)
		for _, d := range docs {
			objs, _, _ := source.Parse(d)
			objects += len(objs)
		}
	}
	b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

func BenchmarkScanN1k(b *testing.B)    { benchScan(b, "N1k.yaml") }
func BenchmarkScanN10k(b *testing.B)   { benchScan(b, "N10k.yaml") }
func BenchmarkScanDir10k(b *testing.B) { benchScan(b, "dir10k") }
func BenchmarkParseN10k(b *testing.B)  { benchParse(b, "N10k.yaml") }
