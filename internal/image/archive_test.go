package image_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// TestDeepPathLimit: a path past the depth limit is an error naming the
// layer and the limit; at the limit it loads.
func TestDeepPathLimit(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("a/", n-1) + "f" }
	img := Image(t, v1.Config{}, Layer(t, File(deep(10), "x")))
	p := WriteLayout(t, img)
	ctx := limits.With(context.Background(), limits.Limits{PathDepth: 9})
	_, err := image.Load(ctx, p, image.LoadOptions{})
	var ex *limits.Exceeded
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "layer 0") || !strings.Contains(err.Error(), "--max-path-depth") {
		t.Errorf("depth 10 under a limit of 9: %v", err)
	}
	ctx = limits.With(context.Background(), limits.Limits{PathDepth: 10})
	got, err := image.Load(ctx, p, image.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, f, ok := got.Resolve("/" + deep(10)); !ok || f.Size != 1 {
		t.Errorf("resolving the deep file: %v %v", f, ok)
	}
}

// TestBlobVerified: a layout blob that is not what its digest says is
// an error wrapping ErrDigestMismatch.
func TestBlobVerified(t *testing.T) {
	p := WriteLayout(t, Busybox(t))
	img, err := image.Load(context.Background(), p, image.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := v1.NewHash(img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	// Same size, other content.
	bp := filepath.Join(p, "blobs", "sha256", d.Hex)
	data, err := os.ReadFile(bp)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-2] ^= 1
	if err := os.WriteFile(bp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := image.Load(context.Background(), p, image.LoadOptions{}); !errors.Is(err, image.ErrDigestMismatch) {
		t.Errorf("tampered manifest: %v", err)
	}
}

// FuzzLoadArchive feeds arbitrary bytes as a docker-archive tarball:
// loading is bounded by the limits and never panics.
func FuzzLoadArchive(f *testing.F) {
	for _, img := range []v1.Image{Busybox(f), Distroless(f)} {
		data, err := os.ReadFile(WriteTarball(f, img))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	dir := f.TempDir()
	ctx := limits.With(context.Background(), limits.Limits{BlobSize: 64 << 10, PathDepth: 32})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "image.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := image.Load(ctx, p, image.LoadOptions{})
		if err != nil {
			return
		}
		img.Inventory()
		img.ResolveUser()
	})
}
