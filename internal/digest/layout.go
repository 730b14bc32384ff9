package digest

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// The annotations that name an image of an OCI layout's index.json.
const (
	// annotationRefName is the OCI one. Tools disagree on its value:
	// buildkit, containerd and skopeo ("oci:dir:1.25") often write a bare
	// tag, others a full reference.
	annotationRefName = "org.opencontainers.image.ref.name"
	// annotationContainerdName is always a full reference
	// ("docker.io/library/nginx:1.25"), written by containerd, nerdctl and
	// buildkit next to a bare-tag annotationRefName.
	annotationContainerdName = "io.containerd.image.name"
)

// readIndex reads an OCI layout's index.json: only a regular file (a FIFO
// would block forever), at most the blob-size limit.
func readIndex(p string, lim limits.Limits) (*v1.IndexManifest, error) {
	f, size, err := image.OpenRegular(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if size > lim.BlobSize {
		return nil, fmt.Errorf("%d bytes %w", size, lim.BlobSizeExceeded())
	}
	data, err := io.ReadAll(io.LimitReader(f, lim.BlobSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.BlobSize {
		return nil, lim.BlobSizeExceeded()
	}
	return v1.ParseIndexManifest(bytes.NewReader(data))
}

// loadLayout records the named descriptors of the index.json of the OCI
// layout dir. Their digests are what a registry serves for the tag: an
// index's for a multi-platform image, else the manifest's.
//
// A name is used when it is a reference with an explicit tag. A bare tag
// ("1.25", no ":" "/" or "@") is not: it does not say which repository
// the image came from, and trusting it for every repository would pin
// "redis:7" to whatever image of the layout was tagged "7". Such tags are
// remembered only to explain a miss. Names that are not tagged references
// (digest-only, malformed) are skipped: a layout is a tool's output, and
// one odd descriptor should not make the others unusable.
//
// Two layout descriptors giving one reference different digests are an
// error naming both, as for the mapping file.
func (r *Resolver) loadLayout(dir string, lim limits.Limits) error {
	m, err := readIndex(filepath.Join(dir, "index.json"), lim)
	if err != nil {
		return fmt.Errorf("reading OCI layout %s: index.json: %w", dir, err)
	}
	for i, desc := range m.Manifests {
		var names []string
		var bareTag string
		if n := desc.Annotations[annotationContainerdName]; n != "" {
			names = append(names, n)
		}
		if n := desc.Annotations[annotationRefName]; n != "" {
			if strings.ContainsAny(n, ":/@") {
				names = append(names, n)
			} else {
				bareTag = n
			}
		}
		where := fmt.Sprintf("OCI layout %s (index.json manifests[%d])", dir, i)
		used := false
		for _, n := range names {
			t, err := parseTagged(n)
			if err != nil {
				continue
			}
			d := desc.Digest.String() // sha256: v1.Hash parses no other
			used = true
			k := key(t)
			if prev, ok := r.layouts[k]; ok && prev.digest != d {
				return fmt.Errorf("%s: %s is %s, but %s says %s is %s", where, n, d, prev.where, prev.ref, prev.digest)
			} else if !ok {
				r.layouts[k] = source{digest: d, where: where, ref: n}
			}
		}
		if !used && bareTag != "" && !slices.Contains(r.bare[bareTag], dir) {
			r.bare[bareTag] = append(r.bare[bareTag], dir)
		}
	}
	return nil
}
