// Package image reads a built container image (from a registry, an OCI
// layout or a docker-archive tarball) into the filesystem it really ships:
// layers flattened with whiteouts honoured, links resolved, and the
// configuration that decides how it runs.
package image

import (
	"io/fs"
	"sync/atomic"
)

// Image is a flattened image.
type Image struct {
	// Ref is what the user named: a reference, a layout path, a tarball.
	Ref    string
	Digest string
	// User is the configured user as written ("", "0", "app", "1000:1000").
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Layers     int
	OS         string
	Arch       string
	// Files is the final filesystem, keyed by clean absolute path.
	Files map[string]*File
	// OSRelease is /etc/os-release (or /usr/lib/os-release) as key/values.
	OSRelease map[string]string

	// contents holds the few files read whole (see captured), by path.
	contents map[string][]byte
	// packages are the package files read for the inventory, by path;
	// packageErrs what kept a file out of it (see PackageFileErrors).
	packages    map[string][]PackageFile
	packageErrs map[string]error
	// packagesRead says that the package files were read (LoadOptions.Packages).
	packagesRead bool
	// tree is Files as a tree of paths (see index).
	tree atomic.Pointer[tree]
}

// File is one entry of the final filesystem.
type File struct {
	Path string
	Mode fs.FileMode
	UID  int
	GID  int
	Size int64
	// Linkname is the target of a symlink or hardlink.
	Linkname string
	// Hardlink is true for a hardlink entry.
	Hardlink bool
	// Capabilities is true when the file carries file capabilities
	// (security.capability xattr).
	Capabilities bool
	// Layer is the index of the layer the entry comes from.
	Layer int
}
