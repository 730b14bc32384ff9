package fix

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/source"
)

// scaleFile reads a benchmark set written by the corpus's scale.sh, from
// KUBEHARDEN_SCALE (`make bench` sets it) or the repository's .cache/scale.
func scaleFile(b *testing.B, name string) []byte {
	b.Helper()
	dir := os.Getenv("KUBEHARDEN_SCALE")
	if dir == "" {
		dir = "../../.cache/scale"
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		b.Fatalf("%v: write the scale sets with `bash ../shared/corpus/scale.sh .cache/scale` from the repository root (`make bench` does), or set KUBEHARDEN_SCALE to where they are", err)
	}
	return data
}

// objects counts the objects of data as the scanner reads them.
func objects(b *testing.B, data []byte) int {
	b.Helper()
	docs, errs := source.Split("", data)
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	n := 0
	for _, d := range docs {
		objs, _, _ := source.Parse(d)
		n += len(objs)
	}
	return n
}

// BenchmarkManifestN10k fixes the 10,000 objects of N10k.yaml, every
// check on, in one call.
func BenchmarkManifestN10k(b *testing.B) {
	data := scaleFile(b, "N10k.yaml")
	n := objects(b, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Manifest(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkParseN10k is the floor of BenchmarkManifestN10k: split the
// file and decode every document into YAML nodes, nothing else.
func BenchmarkParseN10k(b *testing.B) {
	data := scaleFile(b, "N10k.yaml")
	n := objects(b, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		docs, errs := source.Split("", data)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		for _, d := range docs {
			var root yaml.Node
			if err := yaml.Unmarshal(d.Data, &root); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
