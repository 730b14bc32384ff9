package checks

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// imageRef is a container image reference split the way the kubelet splits
// it (github.com/distribution/reference, ParseNormalizedNamed), without the
// docker.io/library/ defaults being filled in: checks report what was
// written.
type imageRef struct {
	// Domain is the registry host with optional port, "" when the reference
	// names none (Docker Hub).
	Domain string
	// Path is the repository path below the registry.
	Path string
	// Tag is "" when none is written.
	Tag string
	// Digest is algorithm:hex, "" when none is written.
	Digest string
}

// The grammar of github.com/distribution/reference (reference.go), with
// the same limits.
var (
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	domainRE        = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	tagRE           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestRE        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$`)
)

// digestHexLen holds the digest algorithms the kubelet accepts (those of
// github.com/opencontainers/go-digest) and their encoded length; their hex
// must be lowercase.
var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

const maxImageNameLen = 255

// parseImageRef parses a reference such as
// registry.example.com:5000/team/app:1.2@sha256:<hex>.
func parseImageRef(s string) (imageRef, error) {
	var r imageRef
	if s == "" {
		return r, errors.New("empty reference")
	}
	if strings.TrimSpace(s) != s {
		return r, errors.New("leading or trailing whitespace")
	}
	name := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		name, r.Digest = s[:i], s[i+1:]
		if err := validateDigest(r.Digest); err != nil {
			return imageRef{}, err
		}
	}
	// A colon after the last slash starts the tag; one before it belongs
	// to the registry port (localhost:5000/app has no tag).
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, r.Tag = name[:i], name[i+1:]
		if !tagRE.MatchString(r.Tag) {
			return imageRef{}, fmt.Errorf("invalid tag %q", r.Tag)
		}
	}
	if name == "" {
		return imageRef{}, errors.New("no repository name")
	}
	if len(name) > maxImageNameLen {
		return imageRef{}, fmt.Errorf("repository name longer than %d characters", maxImageNameLen)
	}
	r.Domain, r.Path = splitDomain(name)
	if r.Domain != "" && !domainRE.MatchString(r.Domain) {
		return imageRef{}, fmt.Errorf("invalid registry host %q", r.Domain)
	}
	for _, c := range strings.Split(r.Path, "/") {
		if !pathComponentRE.MatchString(c) {
			if strings.ToLower(c) != c {
				return imageRef{}, errors.New("repository name must be lowercase")
			}
			return imageRef{}, fmt.Errorf("invalid repository path component %q", c)
		}
	}
	return r, nil
}

// splitDomain applies Docker's rule: the first component is a registry
// only when it looks like a host (has a dot or a port, is localhost, or has
// capitals, which repository paths cannot).
func splitDomain(name string) (domain, path string) {
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	first := name[:i]
	if !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first {
		return "", name
	}
	return first, name[i+1:]
}

func validateDigest(d string) error {
	if !digestRE.MatchString(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	alg, hex, _ := strings.Cut(d, ":")
	n, ok := digestHexLen[alg]
	if !ok {
		return fmt.Errorf("unsupported digest algorithm %q", alg)
	}
	if len(hex) != n || strings.ToLower(hex) != hex {
		return fmt.Errorf("invalid %s digest: want %d lowercase hex characters", alg, n)
	}
	return nil
}

// pinnedSHA256 reports whether the reference names its image by a sha256
// digest, which is what image-digest asks for.
func (r imageRef) pinnedSHA256() bool { return strings.HasPrefix(r.Digest, "sha256:") }
