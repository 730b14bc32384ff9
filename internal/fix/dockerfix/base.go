package dockerfix

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/imageref"
)

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
	r, ok := imageref.ParseBase(base)
	if !ok || r.Domain != "" || strings.Contains(r.Path, "/") {
		return otherDistro
	}
	switch {
	case r.Name == "alpine" || r.TagHas("alpine", true):
		return alpine
	case debianImages[r.Name] && !r.TagHas("windowsservercore", true) && !r.TagHas("nanoserver", true) && !r.TagHas("ubi", true):
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
	r, ok := imageref.ParseBase(base)
	return ok && (r.Name == "alpine" || r.TagHas("alpine", true))
}

// nonrootBase reports whether a base image has the user nonroot with UID
// and GID 65532: every distroless and Chainguard image does, whatever
// user it runs as by default.
func nonrootBase(base string) bool {
	if strings.Contains(base, "$") {
		return false
	}
	r, ok := imageref.ParseBase(base)
	return ok && (r.Distroless() || r.Chainguard())
}
