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
// Target.
func (img *Image) Resolve(p string) (final string, f *File, ok bool) {
	rest := splitPath(p)
	cur := "/"
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		e := img.Files[next]
		if e == nil {
			cur = next
			continue
		}
		if e.Mode&fs.ModeSymlink != 0 {
			hops++
			if hops > maxSymlinkHops {
				return "", nil, false
			}
			if path.IsAbs(e.Linkname) {
				cur = "/"
			}
			rest = append(splitPath(e.Linkname), rest...)
			continue
		}
		if len(rest) > 0 && !e.Mode.IsDir() {
			return "", nil, false // a file in the middle of a path
		}
		cur = next
	}
	f = img.Files[cur]
	return cur, f, f != nil
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
