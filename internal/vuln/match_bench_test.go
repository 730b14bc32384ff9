package vuln_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// The sizes of the real exports (late 2026): Debian's all.zip holds about
// 50,000 records, Alpine's about 10,000.
const (
	benchDebianRecords = 50000
	benchAlpineRecords = 10000
	benchSources       = 3000 // source packages the Debian records spread over
)

// benchRecord is an OSV record the size of a real distribution advisory
// (about 1.5 KB: details, references, three releases).
func benchRecord(id, cve, name string, ecos []string, fixed string, details string) map[string]any {
	var affected []any
	for _, e := range ecos {
		affected = append(affected, map[string]any{
			"package":            map[string]any{"ecosystem": e, "name": name, "purl": "pkg:deb/debian/" + name},
			"ranges":             []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]string{"introduced": "0"}, map[string]string{"fixed": fixed}}}},
			"ecosystem_specific": map[string]any{"urgency": "medium"},
		})
	}
	return map[string]any{
		"id": id, "modified": "2026-11-30T12:00:00Z", "published": "2025-01-01T00:00:00Z", "aliases": []string{cve},
		"summary": "a vulnerability in " + name, "details": details,
		"references": []any{map[string]string{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/" + cve}},
		"affected":   affected,
	}
}

func writeBenchZip(b *testing.B, path string, n int, rec func(i int) map[string]any) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range n {
		r := rec(i)
		w, err := zw.Create(r["id"].(string) + ".json")
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(w).Encode(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// benchDB imports a synthetic Debian and Alpine export of the real sizes.
func benchDB(b *testing.B) string {
	src, dir := b.TempDir(), filepath.Join(b.TempDir(), "osv")
	details := strings.Repeat("An attacker who can send crafted input may cause a denial of service or worse. ", 12)
	writeBenchZip(b, filepath.Join(src, "Debian.zip"), benchDebianRecords, func(i int) map[string]any {
		// Half the advisories are fixed below the installed 1.0-1, half
		// above it.
		fixed := "0.9-1"
		if i%2 == 0 {
			fixed = "1.0-2"
		}
		return benchRecord(fmt.Sprintf("DEBIAN-CVE-2025-%05d", i), fmt.Sprintf("CVE-2025-%05d", i), fmt.Sprintf("src%d", i%benchSources),
			[]string{"Debian:11", "Debian:12", "Debian:13"}, fixed, details)
	})
	writeBenchZip(b, filepath.Join(src, "Alpine.zip"), benchAlpineRecords, func(i int) map[string]any {
		return benchRecord(fmt.Sprintf("ALPINE-CVE-2025-%05d", i), fmt.Sprintf("CVE-2025-%05d", i), fmt.Sprintf("apk%d", i%1500),
			[]string{"Alpine:v3.19", "Alpine:v3.20"}, "1.0-r1", details)
	})
	for _, z := range []string{"Debian.zip", "Alpine.zip"} {
		if _, err := vuln.Import(context.Background(), dir, filepath.Join(src, z), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// benchImage is a ~100 MB (uncompressed) Debian image: four layers of
// files, half random and half text, and a dpkg database of 400 packages
// built from 200 source packages.
func benchImage(b *testing.B) v1.Image {
	var status strings.Builder
	for i := range 400 {
		fmt.Fprintf(&status, "Package: bin%d\nStatus: install ok installed\nArchitecture: amd64\nSource: src%d\nVersion: 1.0-1\nDescription: package %d\n\n", i, i/2, i)
	}
	layers := []v1.Layer{Layer(b,
		File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
		File("var/lib/dpkg/status", status.String()),
	)}
	for l := range 4 {
		layers = append(layers, LayerFromTar(b, fillerTar(uint64(l), 25<<20)))
	}
	return Image(b, v1.Config{}, layers...)
}

func fillerTar(seed uint64, size int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 3000)
	for i := 0; buf.Len() < size; i++ {
		n := 1024 + rng.IntN(128*1024)
		body := make([]byte, n)
		if i%2 == 0 {
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
		} else {
			copy(body, text[rng.IntN(len(text)-n):])
		}
		_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("usr/lib/pkg%d/file%d-%d", i/50, seed, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n)})
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	return buf.Bytes()
}

// peakHeap samples the live heap while f runs.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// BenchmarkImageVulnerabilities: load a ~100 MB image from an OCI
// layout, take its inventory, open a database the size of the real Debian
// and Alpine OSV exports and match: what `kubeharden image --vuln-db`
// does per image. peak-heap-MiB is the largest live heap seen while it
// runs (the setup's is freed first). KUBEHARDEN_BENCH_KEEP=dir keeps the
// database (dir/osv) and the layout (dir/layout), to measure the command
// itself.
func BenchmarkImageVulnerabilities(b *testing.B) {
	dir := benchDB(b)
	ref := WriteLayout(b, benchImage(b))
	if keep := os.Getenv("KUBEHARDEN_BENCH_KEEP"); keep != "" {
		for from, to := range map[string]string{dir: filepath.Join(keep, "osv"), ref: filepath.Join(keep, "layout")} {
			if err := os.CopyFS(to, os.DirFS(from)); err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	ctx := context.Background()
	var peak uint64
	var matches int
	b.ResetTimer()
	for b.Loop() {
		p := peakHeap(func() {
			img, err := image.Load(ctx, ref, image.LoadOptions{Packages: true})
			if err != nil {
				b.Fatal(err)
			}
			db, err := vuln.Open(ctx, dir)
			if err != nil {
				b.Fatal(err)
			}
			ms, err := (&vuln.Scanner{DB: db}).Scan(ctx, img)
			if err != nil {
				b.Fatal(err)
			}
			matches = len(ms)
		})
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(matches), "matches")
	// 400 packages, each source with 16 or 17 records of which half are
	// fixed above 1.0-1.
	if matches < 3000 {
		b.Fatalf("%d matches, want the ~3,300 the data holds", matches)
	}
}

// BenchmarkMatch: opening the database and matching, inventory taken.
func BenchmarkMatch(b *testing.B) {
	dir := benchDB(b)
	ctx := context.Background()
	img, err := image.Load(ctx, WriteLayout(b, benchImage(b)), image.LoadOptions{Packages: true})
	if err != nil {
		b.Fatal(err)
	}
	pkgs, err := vuln.Inventory(ctx, img)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		// A database opened each time: its cache would otherwise answer
		// every iteration after the first.
		db, err := vuln.Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := vuln.MatchPackages(ctx, db, pkgs); err != nil {
			b.Fatal(err)
		}
	}
}
