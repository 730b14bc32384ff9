package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// ociLayout reads an OCI image layout directory. Every file is opened
// only if it is a regular file, every blob is read at most to its
// descriptor's size and checked against its digest, and metadata blobs
// are bounded by the blob-size limit.
type ociLayout struct {
	dir string
	lim limits.Limits
}

// blobPath is where the layout stores the blob of digest d. v1.Hash
// accepts only sha256 and 64 hex digits, so d cannot leave the layout.
func (l ociLayout) blobPath(d v1.Hash) string {
	return filepath.Join(l.dir, "blobs", d.Algorithm, d.Hex)
}

// blob reads a metadata blob (index, manifest, config), verified.
func (l ociLayout) blob(desc v1.Descriptor) ([]byte, error) {
	if desc.Size > l.lim.BlobSize {
		return nil, fmt.Errorf("blob %s of %d bytes %w", desc.Digest, desc.Size, l.lim.BlobSizeExceeded())
	}
	f, _, err := OpenRegular(l.blobPath(desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	defer func() { _ = f.Close() }()
	data, err := readBlob(f, desc, l.lim)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", desc.Digest, err)
	}
	return data, nil
}

// index reads index.json.
func (l ociLayout) index() (*v1.IndexManifest, error) {
	f, size, err := OpenRegular(filepath.Join(l.dir, "index.json"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := readSmall(f, size, "index.json", l.lim)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing index.json: %w", err)
	}
	return m, nil
}

// candidate is an image manifest of an index, with its platform.
type candidate struct {
	desc     v1.Descriptor
	platform *v1.Platform
}

// open picks the image of the layout: the only one, or the one for the
// platform. Nested indexes (as buildx writes them) are walked;
// attestation manifests (platform unknown/unknown) are skipped.
func (l ociLayout) open(ctx context.Context, plat *v1.Platform, explicit bool) (*opened, error) {
	idx, err := l.index()
	if err != nil {
		return nil, err
	}
	var cands []candidate
	if err := l.collect(ctx, idx, nil, &cands, 0); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, errors.New("layout holds no image")
	}
	if len(cands) == 1 && (!explicit || cands[0].platform == nil || cands[0].platform.Satisfies(*plat)) {
		return l.image(cands[0].desc)
	}
	var seen []string
	for _, c := range cands {
		if c.platform != nil && c.platform.Satisfies(*plat) {
			return l.image(c.desc)
		}
		if c.platform != nil {
			seen = append(seen, c.platform.String())
		} else {
			seen = append(seen, c.desc.Digest.String())
		}
	}
	return nil, fmt.Errorf("no image for platform %s (layout has %s)", plat, strings.Join(seen, ", "))
}

func (l ociLayout) collect(ctx context.Context, idx *v1.IndexManifest, inherited *v1.Platform, out *[]candidate, depth int) error {
	if depth > 8 {
		return errors.New("image indexes nested too deeply")
	}
	for _, d := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := d.Platform
		if p == nil {
			p = inherited
		}
		switch {
		case d.MediaType.IsIndex():
			data, err := l.blob(d)
			if err != nil {
				return err
			}
			child, err := v1.ParseIndexManifest(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("parsing index %s: %w", d.Digest, err)
			}
			if err := l.collect(ctx, child, p, out, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if p != nil && p.OS == "unknown" {
				continue
			}
			*out = append(*out, candidate{desc: d, platform: p})
		}
	}
	return nil
}

// image reads the manifest and configuration of the image desc names.
func (l ociLayout) image(desc v1.Descriptor) (*opened, error) {
	data, err := l.blob(desc)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", desc.Digest, err)
	}
	cfgData, err := l.blob(m.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf, err := parseConfig(cfgData)
	if err != nil {
		return nil, err
	}
	layers := m.Layers
	return &opened{
		digest: desc.Digest.String(),
		config: cf,
		layers: len(layers),
		layer: func(_ context.Context, i int) (*layerStream, error) {
			f, _, err := OpenRegular(l.blobPath(layers[i].Digest))
			if err != nil {
				return nil, fmt.Errorf("blob %s: %w", layers[i].Digest, err)
			}
			return compressedStream(f, f.Close, layers[i])
		},
	}, nil
}

// parseConfig parses an image configuration.
func parseConfig(data []byte) (*v1.ConfigFile, error) {
	var cf v1.ConfigFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	return &cf, nil
}

// compressedStream is the tar stream of a layer stored as its blob
// (layout, registry): the blob is verified against desc, and
// decompressed by its magic bytes.
func compressedStream(raw io.Reader, closeRaw func() error, desc v1.Descriptor) (*layerStream, error) {
	v, err := newVerifier(raw, desc.Digest, desc.Size)
	if err != nil {
		_ = closeRaw()
		return nil, err
	}
	tr, closeZ, err := decompress(v)
	if err != nil {
		_ = closeRaw()
		return nil, err
	}
	return &layerStream{tar: tr, drain: v, close: func() error { return errors.Join(closeZ(), closeRaw()) }}, nil
}
