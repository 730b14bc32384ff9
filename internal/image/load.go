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

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
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
}

// Load reads the image ref names and flattens its layers. ref is an OCI
// layout directory, a docker-archive tarball (`docker save` output), or a
// registry reference; local paths win over references. No daemon is
// contacted. Layers are streamed: only tar headers are kept, plus the
// contents of the few files that tell who the users are and what the
// distribution is.
func Load(ctx context.Context, ref string, opts LoadOptions) (*Image, error) {
	img, streamCompressed, err := open(ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("loading image %s: %w", ref, err)
	}
	out, err := fromV1(ctx, ref, img, streamCompressed)
	if err != nil {
		return nil, fmt.Errorf("loading image %s: %w", ref, err)
	}
	return out, nil
}

// open finds the v1.Image behind ref. streamCompressed tells whether the
// layers' Compressed stream is the stored blob (layout, registry), so that
// it is cheaper to decompress it ourselves than to ask for Uncompressed.
func open(ctx context.Context, ref string, opts LoadOptions) (v1.Image, bool, error) {
	platformName := opts.Platform
	if platformName == "" {
		platformName = DefaultPlatform
	}
	plat, err := v1.ParsePlatform(platformName)
	if err != nil {
		return nil, false, fmt.Errorf("parsing platform %q: %w", platformName, err)
	}
	st, statErr := os.Stat(ref)
	switch {
	case statErr == nil && st.IsDir():
		if _, err := os.Stat(filepath.Join(ref, "index.json")); err != nil {
			return nil, false, errors.New("directory is not an OCI image layout (no index.json)")
		}
		idx, err := layout.ImageIndexFromPath(ref)
		if err != nil {
			return nil, false, err
		}
		img, err := pickImage(idx, plat, opts.Platform != "")
		return img, true, err
	case statErr == nil:
		img, err := tarball.ImageFromPath(ref, nil)
		if err != nil {
			return nil, false, fmt.Errorf("reading docker-archive tarball: %w", err)
		}
		return img, false, nil
	case looksLikePath(ref):
		return nil, false, statErr
	}
	var nameOpts []name.Option
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, false, err
	}
	img, err := remote.Image(r,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(*plat))
	return img, true, err
}

// looksLikePath tells a mistyped local path from a registry reference, so
// that the error says "no such file" rather than a registry failure.
func looksLikePath(ref string) bool {
	return strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasSuffix(ref, ".tar") || strings.HasSuffix(ref, ".tar.gz") || (runtime.GOOS == "windows" && filepath.IsAbs(ref))
}

// candidate is an image manifest of an index, with its platform.
type candidate struct {
	idx      v1.ImageIndex
	desc     v1.Descriptor
	platform *v1.Platform
}

// pickImage picks the image of a layout: the only one, or the one for
// the platform. Nested indexes (as buildx writes them) are walked;
// attestation manifests (platform unknown/unknown) are skipped.
func pickImage(idx v1.ImageIndex, plat *v1.Platform, explicit bool) (v1.Image, error) {
	var cands []candidate
	if err := collect(idx, nil, &cands, 0); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, errors.New("layout holds no image")
	}
	if len(cands) == 1 && (!explicit || cands[0].platform == nil || cands[0].platform.Satisfies(*plat)) {
		return cands[0].idx.Image(cands[0].desc.Digest)
	}
	var seen []string
	for _, c := range cands {
		if c.platform != nil && c.platform.Satisfies(*plat) {
			return c.idx.Image(c.desc.Digest)
		}
		if c.platform != nil {
			seen = append(seen, c.platform.String())
		} else {
			seen = append(seen, c.desc.Digest.String())
		}
	}
	return nil, fmt.Errorf("no image for platform %s (layout has %s)", plat, strings.Join(seen, ", "))
}

func collect(idx v1.ImageIndex, inherited *v1.Platform, out *[]candidate, depth int) error {
	if depth > 8 {
		return errors.New("image indexes nested too deeply")
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		p := d.Platform
		if p == nil {
			p = inherited
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := collect(child, p, out, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if p != nil && p.OS == "unknown" {
				continue
			}
			*out = append(*out, candidate{idx: idx, desc: d, platform: p})
		}
	}
	return nil
}

// fromV1 reads the configuration and flattens the layers, top layer first
// (see flattener).
func fromV1(ctx context.Context, ref string, img v1.Image, streamCompressed bool) (*Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	out := &Image{Ref: ref, OS: cf.OS, Arch: cf.Architecture}
	if d, err := img.Digest(); err == nil {
		out.Digest = d.String()
	}
	c := cf.Config
	out.User, out.Entrypoint, out.Cmd, out.Env, out.WorkingDir = c.User, c.Entrypoint, c.Cmd, c.Env, c.WorkingDir
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	out.Layers = len(layers)
	fl := newFlattener()
	for i := len(layers) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := readLayer(ctx, fl, i, layers[i], streamCompressed); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	fl.finish(out)
	return out, nil
}

func readLayer(ctx context.Context, fl *flattener, i int, l v1.Layer, streamCompressed bool) error {
	rc, err := openLayer(l, streamCompressed)
	if err != nil {
		return err
	}
	err = fl.addLayer(i, ctxReader{ctx, rc})
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing layer: %w", cerr)
	}
	return err
}

// openLayer returns the layer's tar stream. Where the compressed blob is
// stored as is, it is decompressed here with klauspost/compress, which
// inflates faster than compress/gzip that Uncompressed uses; the format
// is sniffed from the magic bytes, not trusted from the media type.
func openLayer(l v1.Layer, streamCompressed bool) (io.ReadCloser, error) {
	if !streamCompressed {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			_ = rc.Close()
			return nil, err
		}
		return readCloser{zr, func() error { return errors.Join(zr.Close(), rc.Close()) }}, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			_ = rc.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
	}
	return readCloser{br, rc.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

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
