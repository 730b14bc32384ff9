package image

import (
	"io/fs"
	"path"
	"strings"
)

// maxSymlinkHops bounds symlink resolution as Linux does (MAXSYMLINKS).
const maxSymlinkHops = 40

// Resolve follows symlinks in every component of p, absolute and relative,
// through chains, and returns the final path and its entry. A directory
// that the layers imply but never list is crossed as the kernel would. ok
// is false when the path does not exist, a symlink dangles, or resolution
// loops (more than 40 hops). Hardlinks are entries of their own: see
// Target. The walk costs the length of the paths it follows, whatever
// their depth.
func (img *Image) Resolve(p string) (final string, f *File, ok bool) {
	n, missing, f, ok := img.resolve(p)
	if n == nil {
		return "", nil, false
	}
	final = n.path()
	if len(missing) > 0 {
		final = strings.TrimSuffix(final, "/") + "/" + strings.Join(missing, "/")
	}
	return final, f, ok
}

// resolve is Resolve with the final node (the deepest existing one) and
// the components past it that do not exist; n is nil when resolution
// fails on the way (a loop, a file used as a directory).
func (img *Image) resolve(p string) (n *node, missing []string, f *File, ok bool) {
	t := img.index()
	// cur is the current directory and its ancestors, root first; missing
	// the components below it that do not exist.
	cur := []*node{t.root}
	rest := splitPath(p)
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			switch {
			case len(missing) > 0:
				missing = missing[:len(missing)-1]
			case len(cur) > 1:
				cur = cur[:len(cur)-1]
			}
			continue
		}
		if len(missing) > 0 {
			missing = append(missing, c)
			continue
		}
		next := t.child(cur[len(cur)-1], c)
		if next == nil || !next.live {
			missing = append(missing, c)
			continue
		}
		e := next.file
		if e == nil {
			cur = append(cur, next) // an implied directory
			continue
		}
		if e.Mode&fs.ModeSymlink != 0 {
			hops++
			if hops > maxSymlinkHops {
				return nil, nil, nil, false
			}
			if path.IsAbs(e.Linkname) {
				cur = cur[:1]
			}
			rest = append(splitPath(e.Linkname), rest...)
			continue
		}
		if len(rest) > 0 && !e.Mode.IsDir() {
			return nil, nil, nil, false // a file in the middle of a path
		}
		cur = append(cur, next)
	}
	n = cur[len(cur)-1]
	if len(missing) > 0 {
		return n, missing, nil, false
	}
	return n, nil, n.file, n.file != nil
}

// splitPath splits p into its components, dropping empty ones and ".";
// ".." is kept, since it must be applied after the symlinks before it.
func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// Target returns the entry a hardlink shares its inode with (its
// Linkname), or f itself for any other entry; it is f when the target is
// gone.
func (img *Image) Target(f *File) *File {
	if f == nil || !f.Hardlink {
		return f
	}
	if t := img.Files[f.Linkname]; t != nil && !t.Hardlink {
		return t
	}
	return f
}

// Content returns the contents of one of the files Load reads whole
// (/etc/passwd, /etc/group, /etc/os-release, /usr/lib/os-release),
// following symlinks and hardlinks.
func (img *Image) Content(p string) ([]byte, bool) {
	final, f, ok := img.Resolve(p)
	if !ok {
		return nil, false
	}
	if f.Hardlink {
		final = f.Linkname
	}
	data, ok := img.contents[final]
	return data, ok
}
