package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// captured are the files whose contents are kept: they say who the users
// are and which distribution this is. Everything else is headers only.
var captured = map[string]bool{
	"/etc/passwd":         true,
	"/etc/group":          true,
	"/etc/os-release":     true,
	"/usr/lib/os-release": true,
}

// maxCaptured bounds a captured file: a real /etc/passwd is a few KB.
const maxCaptured = 1 << 20

// Whiteout markers of the OCI image spec (from AUFS).
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// flattener merges layers top layer first, the way mutate.Extract does:
// an entry of a lower layer is kept only when no upper layer has the same
// path, deleted it or an ancestor with a whiteout, made an ancestor an
// opaque directory, or replaced an ancestor with a non-directory. Going
// top-down keeps every decision one walk down the path's nodes, where
// going bottom-up would have to delete whole subtrees on each whiteout.
type flattener struct {
	lim   limits.Limits
	files map[string]*File
	tree  *tree
	// A layer's own markers apply only below it: they are set on the
	// tree once the layer is read.
	pendingWh  []string
	pendingOpq []string
	contents   map[string][]byte
	// packages reads what the package inventory needs.
	packages *capturer
}

// newFlattener returns a flattener that also reads the package files
// when packages is true.
func newFlattener(lim limits.Limits, packages bool) *flattener {
	fl := &flattener{
		lim:      lim,
		files:    map[string]*File{},
		tree:     newTree(),
		contents: map[string][]byte{},
	}
	if packages {
		fl.packages = newCapturer(lim)
	}
	return fl
}

// cleanPath turns a tar name ("./bin/sh", "bin/", "/bin/sh") into a clean
// absolute path.
func cleanPath(name string) string { return path.Clean("/" + name) }

// addLayer reads one layer's tar stream; layers must come top first, with
// their index in the image (0 is the base layer).
func (fl *flattener) addLayer(layer int, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		if err := fl.add(layer, hdr, tr); err != nil {
			return err
		}
	}
	for _, p := range fl.pendingWh {
		fl.tree.makePath(p).whiteout = true
	}
	for _, p := range fl.pendingOpq {
		fl.tree.makePath(p).opaque = true
	}
	fl.pendingWh, fl.pendingOpq = fl.pendingWh[:0], fl.pendingOpq[:0]
	return nil
}

// depth is the number of components of a path.
func depth(p string) int {
	n := 0
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			n++
		}
	}
	return n
}

// short is the start of a path that may be very long, for an error.
func short(p string) string {
	if len(p) > 80 {
		return p[:80] + "..."
	}
	return p
}

func (fl *flattener) add(layer int, hdr *tar.Header, tr io.Reader) error {
	p := cleanPath(hdr.Name)
	if p == "/" {
		return nil
	}
	if d := strings.Count(p, "/"); d > fl.lim.PathDepth {
		return fmt.Errorf("%s (%d components) %w", short(p), d, fl.lim.PathDepthExceeded())
	}
	if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
		// Link targets are walked when links are resolved.
		if d := depth(hdr.Linkname); d > fl.lim.PathDepth {
			return fmt.Errorf("%s: link target %s (%d components) %w", short(p), short(hdr.Linkname), d, fl.lim.PathDepthExceeded())
		}
	}
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	if strings.HasPrefix(base, whiteoutPrefix) {
		switch {
		case base == whiteoutOpaque:
			fl.pendingOpq = append(fl.pendingOpq, dir)
		case strings.HasPrefix(base, whiteoutMeta):
			// AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not files.
		default:
			fl.pendingWh = append(fl.pendingWh, path.Join(dir, base[len(whiteoutPrefix):]))
		}
		return nil
	}
	n, ok := fl.place(p, layer)
	if !ok {
		return nil
	}
	f := &File{
		Path:  p,
		Mode:  hdr.FileInfo().Mode(),
		UID:   hdr.Uid,
		GID:   hdr.Gid,
		Size:  hdr.Size,
		Layer: layer,
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		f.Linkname = hdr.Linkname
	case tar.TypeLink:
		f.Linkname = cleanPath(hdr.Linkname)
		f.Hardlink = true
		f.Size = 0
	}
	if _, ok := hdr.PAXRecords["SCHILY.xattr.security.capability"]; ok {
		f.Capabilities = true
	}
	fl.files[p] = f
	fl.tree.set(n, f)
	// A later entry of the same layer for the same path replaces the
	// earlier one, contents included.
	delete(fl.contents, p)
	if fl.packages != nil {
		fl.packages.forget(p)
	}
	switch {
	case hdr.Typeflag != tar.TypeReg:
	case captured[p]:
		data, err := io.ReadAll(io.LimitReader(tr, maxCaptured))
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		fl.contents[p] = data
	case fl.packages != nil:
		return fl.packages.capture(p, hdr, tr)
	}
	return nil
}

// place returns the node for p of layer, in one walk down its path; ok
// is false when an upper layer has p, or removed it: by a whiteout of p
// or an ancestor, by making an ancestor opaque, or by putting a
// non-directory where an ancestor was.
func (fl *flattener) place(p string, layer int) (*node, bool) {
	t := fl.tree
	n := t.root
	rest := p[1:]
	for rest != "" {
		// n is an ancestor of p.
		if n.whiteout || n.opaque {
			return nil, false
		}
		if f := n.file; f != nil && f.Layer > layer && !f.Mode.IsDir() {
			return nil, false
		}
		c, r, _ := strings.Cut(rest, "/")
		next := t.child(n, c)
		if next == nil {
			// Nothing is known below: no marker can hide p.
			for n, rest = t.make(n, c), r; rest != ""; {
				c, r, _ := strings.Cut(rest, "/")
				n, rest = t.make(n, c), r
			}
			return n, true
		}
		n, rest = next, r
	}
	if n.whiteout || (n.file != nil && n.file.Layer != layer) {
		return nil, false
	}
	return n, true
}

// finish fills img with the merged filesystem.
func (fl *flattener) finish(img *Image) {
	img.Files = fl.files
	img.tree.Store(fl.tree)
	img.contents = fl.contents
	if fl.packages != nil {
		img.packagesRead = true
		img.packages, img.packageErrs = fl.packages.files, fl.packages.errs
	}
	img.OSRelease = nil
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if data, ok := img.Content(p); ok {
			img.OSRelease = parseOSRelease(data)
			break
		}
	}
}

// parseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted with shell quoting.
func parseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			if v != "" && line[len(k)+1] == '"' {
				r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`")
				v = r.Replace(v)
			}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// FlattenTar flattens a single uncompressed layer, package files read;
// it is the loader without the image around it, for fuzzing and for tools
// that have a bare root filesystem tarball.
func FlattenTar(data []byte) (*Image, error) {
	fl := newFlattener(limits.Default(), true)
	if err := fl.addLayer(0, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	img := &Image{Layers: 1}
	fl.finish(img)
	return img, nil
}
