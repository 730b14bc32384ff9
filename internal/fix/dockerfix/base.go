package dockerfix

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// imageRef is an image reference split leniently, as the checks split it:
// lower case, Docker Hub's docker.io/ and library/ prefixes dropped.
type imageRef struct {
	domain, path, tag string
	// name is the last path component.
	name string
}

func splitRef(s string) imageRef {
	var r imageRef
	s = strings.ToLower(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s, r.tag = s[:i], s[i+1:]
	}
	if first, rest, ok := strings.Cut(s, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.domain, s = first, rest
	}
	switch r.domain {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		r.domain = ""
	}
	r.path = s
	if r.domain == "" {
		r.path = strings.TrimPrefix(s, "library/")
	}
	r.name = r.path[strings.LastIndexByte(r.path, '/')+1:]
	return r
}

// tagPart reports whether a dash-separated part of the tag starts with
// prefix: alpine in 3.12-alpine3.20.
func (r imageRef) tagPart(prefix string) bool {
	for _, part := range strings.Split(r.tag, "-") {
		if strings.HasPrefix(part, prefix) {
			return true
		}
	}
	return false
}

// distro is what a base image is known to be built on, for the commands
// that create a user.
type distro int

const (
	otherDistro distro = iota
	// alpine has BusyBox's addgroup and adduser.
	alpine
	// debian (and Ubuntu) have shadow's groupadd and useradd.
	debian
)

// debianImages are the Docker Hub official images built on Debian or
// Ubuntu unless their tag says otherwise (-alpine, Windows).
var debianImages = map[string]bool{
	"debian": true, "ubuntu": true, "python": true, "node": true, "golang": true, "ruby": true,
	"rust": true, "perl": true, "php": true, "buildpack-deps": true,
}

// userDistro says which user-creation commands a base image has, for
// the RUN that creates the new user. Only Docker Hub's official images
// count: they run as root (the RUN needs root) and ship the commands,
// while any other image may set its own non-root USER or lack them. The
// official -alpine variants (python:3.12-alpine) are Alpine; debian,
// ubuntu and the language images above are Debian or Ubuntu, -slim
// included, unless the tag names Windows or UBI. A base chosen by a build
// argument is unknown.
func userDistro(base string) distro {
	if strings.Contains(base, "$") {
		return otherDistro
	}
	r := splitRef(base)
	if r.domain != "" || strings.Contains(r.path, "/") {
		return otherDistro
	}
	switch {
	case r.name == "alpine" || r.tagPart("alpine"):
		return alpine
	case debianImages[r.name] && !r.tagPart("windowsservercore") && !r.tagPart("nanoserver") && !r.tagPart("ubi"):
		return debian
	}
	return otherDistro
}

// busyboxBase reports whether adduser and addgroup on the base are
// BusyBox's (whose options differ from Debian's adduser): Alpine by name
// or by an -alpine tag, from any registry.
func busyboxBase(base string) bool {
	if strings.Contains(base, "$") {
		return false
	}
	r := splitRef(base)
	return r.name == "alpine" || r.tagPart("alpine")
}

// nonrootBase reports whether a base image has the user nonroot with UID
// and GID 65532: every distroless and Chainguard image does, whatever
// user it runs as by default.
func nonrootBase(base string) bool {
	if strings.Contains(base, "$") {
		return false
	}
	r := splitRef(base)
	return strings.HasPrefix(r.path, "distroless/") || strings.Contains(r.path, "/distroless/") ||
		r.domain == "cgr.dev" || strings.HasPrefix(r.path, "chainguard/")
}

// nonrootID is the UID and GID of distroless's and Chainguard's nonroot.
const nonrootID = 65532

// isImageBase reports whether a stage builds on an image, rather than on
// scratch or an earlier stage.
func isImageBase(s *dockerfile.Stage) bool {
	return s.BaseStage == nil && s.Base != "" && !strings.EqualFold(s.Base, "scratch")
}
