package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// DefaultPlatform is the platform picked from a multi-platform image when
// LoadOptions.Platform is empty.
const DefaultPlatform = "linux/amd64"

// LoadOptions tune Load.
type LoadOptions struct {
	// Insecure talks plain HTTP to the registry (name.Insecure).
	Insecure bool
	// Platform ("linux/arm64", "linux/arm/v7") picks an image of a
	// multi-platform index; empty means DefaultPlatform.
	Platform string
	// Packages also reads, while the layers stream, the files the
	// package inventory needs (see PackageFiles): package databases,
	// language package manifests, Go build information. It costs memory
	// (bounded by the inventory-size limit) and the scan of every
	// executable, so only the callers that list packages ask for it.
	Packages bool
}

// Load reads the image ref names and flattens its layers. ref is an OCI
// layout directory, a docker-archive tarball (`docker save` output), or a
// registry reference; local paths win over references. No daemon is
// contacted. Layers are streamed: only tar headers are kept, plus the
// contents of the few files that tell who the users are and what the
// distribution is, and with opts.Packages what the package inventory
// needs.
//
// Everything read is verified: every blob against its digest and size
// (a docker archive's layers against their diff_ids), the layers against
// the configuration's diff_ids count; only regular files are opened;
// metadata blobs are bounded by the blob-size limit, layer paths by the
// path-depth limit, and every registry request by the network timeout
// (limits.From(ctx)). A cancelled ctx stops the load promptly.
func Load(ctx context.Context, ref string, opts LoadOptions) (*Image, error) {
	lim := limits.From(ctx)
	src, err := open(ctx, ref, opts, lim)
	if err != nil {
		return nil, fmt.Errorf("loading image %s: %w", ref, err)
	}
	if src.close != nil {
		defer func() { _ = src.close() }()
	}
	out, err := read(ctx, ref, src, lim, opts.Packages)
	if err != nil {
		return nil, fmt.Errorf("loading image %s: %w", ref, err)
	}
	return out, nil
}

// opened is an image found and its configuration read, its layers not
// yet.
type opened struct {
	digest string
	config *v1.ConfigFile
	layers int
	// layer opens the tar stream of layer i (0 is the base).
	layer func(ctx context.Context, i int) (*layerStream, error)
	close func() error
}

// layerStream is a layer's tar stream. Reading drain to its end verifies
// the layer: the tar reader stops at the end-of-archive blocks, before the
// digest can be checked.
type layerStream struct {
	tar, drain io.Reader
	close      func() error
	// explain, when set, rewrites a read error (a registry timeout);
	// done, when set, is called once the layer is read.
	explain func(error) error
	done    func()
}

// open finds the image behind ref.
func open(ctx context.Context, ref string, opts LoadOptions, lim limits.Limits) (*opened, error) {
	platformName := opts.Platform
	if platformName == "" {
		platformName = DefaultPlatform
	}
	plat, err := v1.ParsePlatform(platformName)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", platformName, err)
	}
	st, statErr := os.Stat(ref)
	switch {
	case statErr == nil && st.IsDir():
		if _, err := os.Lstat(filepath.Join(ref, "index.json")); err != nil {
			return nil, errors.New("directory is not an OCI image layout (no index.json)")
		}
		return ociLayout{dir: ref, lim: lim}.open(ctx, plat, opts.Platform != "")
	case statErr == nil:
		a, err := openArchive(ref, lim)
		if err != nil {
			return nil, err
		}
		o, err := a.open(ctx)
		if err != nil {
			_ = a.f.Close()
			return nil, fmt.Errorf("reading docker-archive tarball: %w", err)
		}
		return o, nil
	case looksLikePath(ref):
		return nil, statErr
	}
	return openRemote(ctx, ref, opts.Insecure, plat, lim)
}

// looksLikePath tells a mistyped local path from a registry reference, so
// that the error says "no such file" rather than a registry failure.
func looksLikePath(ref string) bool {
	return strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasSuffix(ref, ".tar") || strings.HasSuffix(ref, ".tar.gz") || (runtime.GOOS == "windows" && filepath.IsAbs(ref))
}

// read takes the configuration and flattens the layers, top layer first
// (see flattener).
func read(ctx context.Context, ref string, src *opened, lim limits.Limits, packages bool) (*Image, error) {
	cf := src.config
	if n := len(cf.RootFS.DiffIDs); n != src.layers {
		// A layer the configuration does not list is one the runtime
		// would not apply, or a way to hide it from the scanner.
		return nil, fmt.Errorf("the config lists %d diff_ids for %d layers", n, src.layers)
	}
	out := &Image{Ref: ref, OS: cf.OS, Arch: cf.Architecture, Digest: src.digest}
	c := cf.Config
	out.User, out.Entrypoint, out.Cmd, out.Env, out.WorkingDir = c.User, c.Entrypoint, c.Cmd, c.Env, c.WorkingDir
	out.Layers = src.layers
	fl := newFlattener(lim, packages)
	for i := src.layers - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := readLayer(ctx, fl, i, src); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	fl.finish(out)
	return out, nil
}

func readLayer(ctx context.Context, fl *flattener, i int, src *opened) (err error) {
	s, err := src.layer(ctx, i)
	if err != nil {
		return err
	}
	defer func() {
		if s.done != nil {
			s.done()
		}
		if cerr := s.close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing layer: %w", cerr)
		}
		if err != nil && s.explain != nil {
			err = s.explain(err)
		}
	}()
	if err := fl.addLayer(i, ctxReader{ctx, s.tar}); err != nil {
		var ex *limits.Exceeded
		if s.drain != s.tar && ctx.Err() == nil && !errors.As(err, &ex) {
			// A blob that does not decompress or parse is most often
			// tampered with: say so when the digest shows it.
			if _, verr := io.Copy(io.Discard, ctxReader{ctx, s.drain}); errors.Is(verr, ErrDigestMismatch) {
				return fmt.Errorf("verifying: %w", verr)
			}
		}
		return err
	}
	if _, err := io.Copy(io.Discard, ctxReader{ctx, s.drain}); err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	return nil
}

// decompress returns the tar stream of a layer blob, decompressed with
// klauspost/compress, which inflates faster than compress/gzip; the
// format is sniffed from the magic bytes, not trusted from the media
// type.
func decompress(r io.Reader) (io.Reader, func() error, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return zr, func() error { zr.Close(); return nil }, nil
	}
	return br, func() error { return nil }, nil
}

// ctxReader stops a long layer read when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
