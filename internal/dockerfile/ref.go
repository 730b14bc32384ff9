package dockerfile

import "strings"

// ImageRef is a FROM reference split leniently, the way checks and fixes
// read a base: it accepts unresolved variables, is lower-cased, and drops
// Docker Hub's prefixes so that docker.io/library/ubuntu is ubuntu.
type ImageRef struct {
	// Domain is the registry host, "" for Docker Hub.
	Domain string
	Path   string
	Tag    string
	Digest string
	// Name is the last path component, Repo the last two.
	Name, Repo string
}

// SplitImageRef splits a base image reference.
func SplitImageRef(s string) ImageRef {
	var r ImageRef
	s = strings.ToLower(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s, r.Digest = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s, r.Tag = s[:i], s[i+1:]
	}
	r.Path = s
	// A first component with a dot or a port, or localhost, is a
	// registry host.
	if first, rest, ok := strings.Cut(s, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.Domain, r.Path = first, rest
	}
	switch r.Domain {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		r.Domain = ""
	}
	r.Path = strings.TrimPrefix(r.Path, "library/")
	if r.Domain == "public.ecr.aws" {
		r.Path = strings.TrimPrefix(r.Path, "docker/library/")
	}
	parts := strings.Split(r.Path, "/")
	r.Name = parts[len(parts)-1]
	r.Repo = r.Name
	if len(parts) > 1 {
		r.Repo = parts[len(parts)-2] + "/" + r.Name
	}
	return r
}

// TagHas reports whether a dash-separated part of the tag is word (or,
// with prefix, starts with it): nonroot in debug-nonroot, alpine in
// 3.12-alpine3.20.
func (r ImageRef) TagHas(word string, prefix bool) bool {
	for _, part := range strings.Split(r.Tag, "-") {
		if part == word || prefix && strings.HasPrefix(part, word) {
			return true
		}
	}
	return false
}

// Distroless reports whether the image is one of Google's distroless.
func (r ImageRef) Distroless() bool {
	return strings.HasPrefix(r.Path, "distroless/") || strings.Contains(r.Path, "/distroless/")
}

// NonrootID is the UID and GID of the user nonroot that every distroless
// and Chainguard image has.
const NonrootID = 65532

// Chainguard reports whether the image is one of Chainguard's.
func (r ImageRef) Chainguard() bool {
	return r.Domain == "cgr.dev" || strings.HasPrefix(r.Path, "chainguard/")
}
