// Package imageref reads container image references for the manifest
// image checks, the Dockerfile checks and dockerfix alike. The grammar is
// github.com/distribution/reference's, the one the kubelet and BuildKit
// parse images with; go-containerregistry's name package reads another
// (no localhost or upper-case registry rule, sha256 only, repositories of
// at least two characters, no check of path separators or of a tag's
// first character) and keeps no tag beside a digest, so it would accept
// images the kubelet refuses and refuse some it pulls.
package imageref

import (
	// go-digest accepts sha384 and sha512 digests only when their hash
	// is linked in, as it is in the kubelet.
	_ "crypto/sha512"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/distribution/reference"
)

// Ref is a reference as written: no docker.io/library/ default is filled
// in, so that checks report what the manifest says.
type Ref struct {
	// Domain is the registry host with optional port, "" when the
	// reference names none (Docker Hub).
	Domain string
	// Path is the repository path below the registry.
	Path string
	// Tag is "" when none is written.
	Tag string
	// Digest is algorithm:hex, "" when none is written.
	Digest string
}

// Parse parses a reference such as
// registry.example.com:5000/team/app:1.2@sha256:<hex> as the kubelet does.
// Its errors are reference's and go-digest's (reference.ErrNameEmpty,
// reference.ErrReferenceInvalidFormat, reference.ErrNameContainsUppercase,
// reference.ErrNameTooLong, digest.ErrDigestInvalidFormat,
// digest.ErrDigestInvalidLength, digest.ErrDigestUnsupported), for
// errors.Is.
func Parse(s string) (Ref, error) {
	if v, ok := cache.Load(s); ok {
		p := v.(parsed)
		return p.ref, p.err
	}
	r, err := parse(s)
	// The same images recur across a scan's workloads; the cache is
	// bounded, so a hostile input of distinct references only stops
	// being cached.
	if cacheSize.Add(1) <= maxCached {
		cache.Store(s, parsed{r, err})
	}
	return r, err
}

// cache holds parsed references by their text: a scan parses each
// container image twice (image-tag, image-digest), over thousands of
// workloads that run a few hundred images.
var (
	cache     sync.Map
	cacheSize atomic.Int64
)

const maxCached = 4096

type parsed struct {
	ref Ref
	err error
}

func parse(s string) (Ref, error) {
	// reference.Parse checks the grammar; ParseNormalizedNamed would
	// also fill in docker.io/library/, which a check must not report.
	named, err := reference.Parse(s)
	if err != nil {
		return Ref{}, err
	}
	var r Ref
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	name := s
	if r.Digest != "" {
		name = strings.TrimSuffix(name, "@"+r.Digest)
	}
	if r.Tag != "" {
		name = strings.TrimSuffix(name, ":"+r.Tag)
	}
	r.Path = name
	// The first component is the registry when Docker's rule (in
	// ParseNormalizedNamed) takes it for one, which it does unless it
	// leaves the name on Docker Hub.
	if first, rest, ok := strings.Cut(name, "/"); ok {
		n, err := reference.ParseNormalizedNamed(name)
		if err == nil && (reference.Domain(n) != dockerHub || first == dockerHub || first == "index."+dockerHub) {
			r.Domain, r.Path = first, rest
		}
	}
	return r, nil
}

// dockerHub is the domain ParseNormalizedNamed gives Docker Hub's names.
const dockerHub = "docker.io"

// PinnedSHA256 reports whether the reference names its image by a sha256
// digest, which is what image-digest asks for.
func (r Ref) PinnedSHA256() bool { return strings.HasPrefix(r.Digest, "sha256:") }
