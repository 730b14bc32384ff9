package vuln_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// tarWriter writes a layer's tar, counting its bytes.
type tarWriter struct {
	buf bytes.Buffer
	tw  *tar.Writer
}

func newTarWriter() *tarWriter {
	w := &tarWriter{}
	w.tw = tar.NewWriter(&w.buf)
	return w
}

func (w *tarWriter) add(name string, mode int64, body []byte) {
	_ = w.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))})
	_, _ = w.tw.Write(body)
}

func (w *tarWriter) layer(b *testing.B) v1.Layer {
	_ = w.tw.Close()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(w.buf.Bytes())
	_ = zw.Close()
	data := z.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkInventory loads a generated ~100 MB (uncompressed) image with
// packages of every ecosystem and lists them: a Debian base with 600 dpkg
// packages and 40 MB of other files, 24 copies of a real Go binary, 20
// MB of random non-Go executables and data, 1,500 npm packages, 300
// Python distributions with long descriptions, and 8 Spring-Boot-style
// JARs holding 40 JARs each. MB/s is uncompressed tar bytes per second.
func BenchmarkInventory(b *testing.B) {
	rng := rand.New(rand.NewChaCha8([32]byte{42}))
	random := func(n int) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(rng.Uint32())
		}
		return out
	}
	var status strings.Builder
	for i := range 600 {
		fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nArchitecture: amd64\nSource: src%d (1.%d-1)\nVersion: 1:1.%d-1+deb12u1\nDescription: package %d\n a long description\n a long description\n\n", i, i/3, i, i, i)
	}
	base := newTarWriter()
	base.add("etc/os-release", 0o644, []byte("ID=debian\nVERSION_ID=\"12\"\n"))
	base.add("var/lib/dpkg/status", 0o644, []byte(status.String()))
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 3000)
	for i := 0; base.buf.Len() < 40<<20; i++ {
		n := 1024 + rng.IntN(128<<10)
		body := random(n)
		if i%2 == 1 {
			body = text[:n]
		}
		base.add(fmt.Sprintf("usr/share/data%d/file%d", i/50, i), 0o644, body)
	}

	bins := newTarWriter()
	bin := goBinary(b, "", "-ldflags=-s -w")
	for i := range 24 {
		bins.add(fmt.Sprintf("usr/local/bin/tool%d", i), 0o755, bin)
	}
	for i := 0; bins.buf.Len() < 20<<20+24*len(bin); i++ {
		// Executables that are not Go: scripts, and ELF-less data.
		bins.add(fmt.Sprintf("usr/lib/exec/bin%d", i), 0o755, random(64<<10+rng.IntN(512<<10)))
	}

	apps := newTarWriter()
	for i := range 1500 {
		apps.add(fmt.Sprintf("app/node_modules/m%d/package.json", i), 0o644, fmt.Appendf(nil, `{"name":"m%d","version":"1.%d.0","license":"MIT","description":"%s"}`, i, i, strings.Repeat("x", 2000)))
	}
	for i := range 300 {
		apps.add(fmt.Sprintf("usr/lib/python3/dist-packages/p%d-1.0.dist-info/METADATA", i), 0o644,
			fmt.Appendf(nil, "Metadata-Version: 2.1\nName: p%d\nVersion: 1.%d\nLicense: MIT\n\n%s", i, i, text[:20000]))
	}
	for j := range 8 {
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		for k := range 40 {
			var inner bytes.Buffer
			iw := zip.NewWriter(&inner)
			w, _ := iw.Create(fmt.Sprintf("META-INF/maven/org.example/lib%d/pom.properties", k))
			fmt.Fprintf(w, "groupId=org.example\nartifactId=lib%d\nversion=%d.0\n", k, j)
			w, _ = iw.Create("classes.bin")
			_, _ = w.Write(random(16 << 10))
			_ = iw.Close()
			w, _ = zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("BOOT-INF/lib/lib%d.jar", k), Method: zip.Store})
			_, _ = w.Write(inner.Bytes())
		}
		_ = zw.Close()
		apps.add(fmt.Sprintf("app/app%d.jar", j), 0o644, zb.Bytes())
	}
	total := int64(base.buf.Len() + bins.buf.Len() + apps.buf.Len())
	img, err := mutate.AppendLayers(empty.Image, base.layer(b), bins.layer(b), apps.layer(b))
	if err != nil {
		b.Fatal(err)
	}
	dir := WriteLayout(b, img)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var pkgs []vuln.Package
	for b.Loop() {
		loaded, err := image.Load(context.Background(), dir, image.LoadOptions{Packages: true})
		if err != nil {
			b.Fatal(err)
		}
		if pkgs, err = vuln.Inventory(context.Background(), loaded); err != nil {
			b.Fatal(err)
		}
	}
	// 600 dpkg + 24 × (stdlib + pflag) + 1500 npm + 300 PyPI + 8 × 40 Maven.
	if want := 600 + 24*2 + 1500 + 300 + 8*40; len(pkgs) != want {
		b.Fatalf("%d packages, want %d", len(pkgs), want)
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	b.ReportMetric(float64(total)/(1<<20), "image-MiB")
}
