package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kubeharden/kubeharden/internal/image"
)

// benchLayer builds one layer's tar: files of 1 KiB to 128 KiB, half of
// them random (incompressible), half repetitive text (compressible), as
// binaries and text files are in a real image.
func benchLayer(seed uint64, size int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 3000)
	for i := 0; buf.Len() < size; i++ {
		dir := fmt.Sprintf("usr/lib/pkg%d/sub%d", i/50, i%7)
		n := 1024 + rng.IntN(128*1024)
		body := make([]byte, n)
		if i%2 == 0 {
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
		} else {
			copy(body, text[rng.IntN(len(text)-n):])
		}
		_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%s/file%d-%d", dir, seed, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n)})
		_, _ = tw.Write(body)
		if i%100 == 0 {
			_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("usr/bin/tool%d-%d", seed, i), Typeflag: tar.TypeSymlink, Linkname: "../lib/x", Mode: 0o777})
		}
	}
	_ = tw.Close()
	return buf.Bytes()
}

// BenchmarkLoadLayout loads a generated ~100 MB (uncompressed) image of
// four gzip layers from an OCI layout. MB/s is uncompressed tar bytes per
// second; compare with `tar -xzf` of the same blobs (keep the layout with
// KUBEHARDEN_BENCH_LAYOUT=dir).
func BenchmarkLoadLayout(b *testing.B) {
	const layers, layerSize = 4, 25 << 20
	tars := make([][]byte, layers)
	gz := make([][]byte, layers)
	var wg sync.WaitGroup
	for i := range layers {
		wg.Go(func() {
			tars[i] = benchLayer(uint64(i), layerSize)
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			_, _ = zw.Write(tars[i])
			_ = zw.Close()
			gz[i] = z.Bytes()
		})
	}
	wg.Wait()
	var total, compressed int64
	var ls []v1.Layer
	for i := range layers {
		data := gz[i]
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
		total += int64(len(tars[i]))
		compressed += int64(len(data))
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		b.Fatal(err)
	}
	dir := os.Getenv("KUBEHARDEN_BENCH_LAYOUT")
	if dir == "" {
		dir = b.TempDir()
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var files int
	for b.Loop() {
		got, err := image.Load(context.Background(), dir, image.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		files = len(got.Files)
	}
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(compressed)/float64(total), "gzip-ratio")
}
