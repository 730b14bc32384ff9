package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// PackageFileKind says what a PackageFile is.
type PackageFileKind int

// The files the package inventory reads.
const (
	// DpkgStatus is /var/lib/dpkg/status.
	DpkgStatus PackageFileKind = iota + 1
	// DpkgStatusD is a file of distroless's /var/lib/dpkg/status.d/.
	DpkgStatusD
	// ApkInstalled is Alpine's /lib/apk/db/installed.
	ApkInstalled
	// RPMDB is an RPM database under /var/lib/rpm or /usr/lib/sysimage/rpm:
	// rpmdb.sqlite, BerkeleyDB's Packages, ndb's Packages.db. It is kept
	// whole, within the inventory-size limit.
	RPMDB
	// PythonMetadata is the header part (up to the first blank line) of a
	// *.dist-info/METADATA, a *.egg-info/PKG-INFO, or a *.egg-info file
	// of a site-packages or dist-packages directory.
	PythonMetadata
	// NpmPackageJSON is the package.json of a package under node_modules.
	NpmPackageJSON
	// MavenPomProperties is a META-INF/maven/**/pom.properties member of
	// a JAR (or of a JAR nested in one): see PackageFile.Member.
	MavenPomProperties
	// GoBuildInfo is the build information of a Go executable: Data is
	// the module information runtime/debug.ParseBuildInfo reads, GoVersion
	// the toolchain that built it.
	GoBuildInfo
)

// PackageFile is a file the package inventory needs, read while the layers
// streamed: only files of the final filesystem, only the part needed.
type PackageFile struct {
	// Path is the file in the image.
	Path string
	Kind PackageFileKind
	// Member is, for a JAR's member, its name in the archive, nested
	// archives joined with "!/" ("BOOT-INF/lib/a.jar!/META-INF/...").
	Member string
	// GoVersion is the Go toolchain of a GoBuildInfo ("go1.22.5").
	GoVersion string
	Data      []byte
}

// The fixed bounds of what is read for the inventory; the total is the
// inventory-size limit (limits.Limits.InventorySize).
const (
	// maxMetadataHeader bounds the header part of a Python METADATA.
	maxMetadataHeader = 256 << 10
	// maxPomProperties bounds one pom.properties member.
	maxPomProperties = 64 << 10
	// maxModInfo bounds a Go binary's module information.
	maxModInfo = 4 << 20
	// maxJARDepth bounds the nesting of JARs in JARs that is opened (a
	// Spring Boot JAR's BOOT-INF/lib/*.jar is depth 2).
	maxJARDepth = 2
	// maxJARMembers bounds the members of one archive that are looked at.
	maxJARMembers = 1 << 16
)

// packageKind says whether p, a regular file of mode exec bits set or not,
// is one the inventory reads, and how.
func packageKind(p string, executable bool) PackageFileKind {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case p == "/var/lib/dpkg/status":
		return DpkgStatus
	case dir == "/var/lib/dpkg/status.d":
		// Distroless keeps a status file per package, and an .md5sums
		// file beside each.
		if strings.HasSuffix(base, ".md5sums") || strings.HasPrefix(base, ".") {
			return 0
		}
		return DpkgStatusD
	case p == "/lib/apk/db/installed":
		return ApkInstalled
	case dir == "/var/lib/rpm" || dir == "/usr/lib/sysimage/rpm":
		if base == "Packages" || base == "rpmdb.sqlite" || base == "Packages.db" {
			return RPMDB
		}
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"),
		base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info"),
		// distutils installs (Debian's python3-* packages among them)
		// write the PKG-INFO as a file named NAME-VERSION.egg-info.
		strings.HasSuffix(base, ".egg-info") && (strings.HasSuffix(dir, "-packages")):
		return PythonMetadata
	case base == "package.json":
		// node_modules/NAME/package.json or node_modules/@SCOPE/NAME/package.json.
		parent, name := path.Split(dir)
		parent = strings.TrimSuffix(parent, "/")
		if name == "" || strings.HasPrefix(name, ".") {
			return 0
		}
		if path.Base(parent) == "node_modules" {
			return NpmPackageJSON
		}
		if scope := path.Base(parent); strings.HasPrefix(scope, "@") && path.Base(path.Dir(parent)) == "node_modules" {
			return NpmPackageJSON
		}
	case strings.HasSuffix(base, ".jar") || strings.HasSuffix(base, ".war") || strings.HasSuffix(base, ".ear"):
		return MavenPomProperties
	}
	if executable {
		return GoBuildInfo
	}
	return 0
}

// capturer reads the package files of the layers, within the
// inventory-size budget. Errors that concern one file (over the budget, a
// corrupt JAR) are kept and the load goes on; only a broken stream stops
// it.
type capturer struct {
	lim   limits.Limits
	used  int64
	files map[string][]PackageFile
	errs  map[string]error
}

func newCapturer(lim limits.Limits) *capturer {
	return &capturer{lim: lim, files: map[string][]PackageFile{}, errs: map[string]error{}}
}

// forget drops what was read for p: a later entry of the same layer
// replaces it.
func (c *capturer) forget(p string) {
	for _, f := range c.files[p] {
		c.used -= int64(len(f.Data))
	}
	delete(c.files, p)
	delete(c.errs, p)
}

// take reserves n bytes of the budget for p, or records the error.
func (c *capturer) take(p string, n int64) bool {
	if c.used+n > c.lim.InventorySize {
		c.errs[p] = fmt.Errorf("%s (%d bytes): reading it for the package inventory %w", p, n, c.lim.InventorySizeExceeded())
		return false
	}
	c.used += n
	return true
}

func (c *capturer) keep(f PackageFile) {
	c.files[f.Path] = append(c.files[f.Path], f)
}

// capture reads what the inventory needs of the regular file p whose
// contents r streams; it returns an error only when r does.
func (c *capturer) capture(p string, hdr *tar.Header, r io.Reader) error {
	kind := packageKind(p, hdr.Mode&0o111 != 0)
	if kind == 0 || hdr.Size <= 0 {
		return nil
	}
	switch kind {
	case GoBuildInfo:
		version, mod, err := readGoBuildInfo(r, hdr.Size)
		switch {
		case errors.Is(err, errNotGo):
			return nil
		case err != nil:
			// A malformed header (oversized module information) is
			// this file's problem; a broken stream surfaces again at
			// the next tar header.
			c.errs[p] = fmt.Errorf("%s: %w", p, err)
			return nil
		}
		if c.take(p, int64(len(mod))) {
			c.keep(PackageFile{Path: p, Kind: kind, GoVersion: version, Data: mod})
		}
		return nil
	case PythonMetadata:
		data, err := readHeader(r, maxMetadataHeader)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if c.take(p, int64(len(data))) {
			c.keep(PackageFile{Path: p, Kind: kind, Data: data})
		}
		return nil
	}
	if !c.take(p, hdr.Size) {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, hdr.Size))
	if err != nil {
		c.used -= hdr.Size
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if kind != MavenPomProperties {
		c.used += int64(len(data)) - hdr.Size
		c.keep(PackageFile{Path: p, Kind: kind, Data: data})
		return nil
	}
	// The JAR itself is only buffered while its members are read.
	c.used -= hdr.Size
	var found []PackageFile
	if err := readJAR(data, p, "", 1, &found); err != nil {
		c.errs[p] = fmt.Errorf("%s: %w", p, err)
	}
	for _, f := range found {
		if !c.take(p, int64(len(f.Data))) {
			break
		}
		c.keep(f)
	}
	return nil
}

// readHeader reads r up to its first blank line, at most max bytes; the
// rest (a Python package's long description) is not needed.
func readHeader(r io.Reader, max int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	for len(out) < max {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if i := bytes.Index(out, []byte("\n\n")); i >= 0 {
			return out[:i+1], nil
		}
		if i := bytes.Index(out, []byte("\r\n\r\n")); i >= 0 {
			return out[:i+2], nil
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out[:max], nil
}

// readJAR finds the pom.properties members of the zip data, and those of
// the JARs it holds down to maxJARDepth.
func readJAR(data []byte, file, prefix string, depth int, out *[]PackageFile) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if prefix == "" {
			return fmt.Errorf("reading JAR: %w", err)
		}
		return fmt.Errorf("reading JAR %s: %w", strings.TrimSuffix(prefix, "!/"), err)
	}
	if len(zr.File) > maxJARMembers {
		return fmt.Errorf("JAR has %d members, more than the %d read", len(zr.File), maxJARMembers)
	}
	var errs []error
	for _, m := range zr.File {
		name := m.Name
		switch {
		case strings.HasPrefix(name, "META-INF/maven/") && strings.HasSuffix(name, "/pom.properties") && strings.Count(name, "/") == 4:
			body, err := readMember(m, maxPomProperties)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %w", prefix, name, err))
				continue
			}
			*out = append(*out, PackageFile{Path: file, Kind: MavenPomProperties, Member: prefix + name, Data: body})
		case depth < maxJARDepth && strings.HasSuffix(name, ".jar"):
			size := int64(m.UncompressedSize64)
			if m.UncompressedSize64 > uint64(len(data))*4+(1<<20) {
				errs = append(errs, fmt.Errorf("%s%s: declares %d bytes, more than its JAR could hold", prefix, name, m.UncompressedSize64))
				continue
			}
			body, err := readMember(m, size)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %w", prefix, name, err))
				continue
			}
			if err := readJAR(body, file, prefix+name+"!/", depth+1, out); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// readMember reads a zip member of at most max bytes.
func readMember(m *zip.File, max int64) ([]byte, error) {
	if m.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%d bytes, more than the %d read", m.UncompressedSize64, max)
	}
	rc, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than the %d bytes read", max)
	}
	return data, nil
}

// PackagesRead says whether the package files were read: an image loaded
// without LoadOptions.Packages has none, whatever it contains.
func (img *Image) PackagesRead() bool { return img.packagesRead }

// PackageFiles returns the files the package inventory reads, by path
// (then member): see PackageFile.
func (img *Image) PackageFiles() []PackageFile {
	var out []PackageFile
	for _, fs := range img.packages {
		out = append(out, fs...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Member < out[j].Member
	})
	return out
}

// PackageFileErrors returns what kept files from the package inventory:
// a file over the inventory-size limit, a corrupt JAR. The image itself
// was read.
func (img *Image) PackageFileErrors() []error {
	keys := make([]string, 0, len(img.packageErrs))
	for k := range img.packageErrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]error, len(keys))
	for i, k := range keys {
		out[i] = img.packageErrs[k]
	}
	return out
}
