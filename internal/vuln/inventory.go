package vuln

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/internal/image"
)

// Inventory lists the packages installed in img: OS packages (dpkg
// status and distroless status.d, apk installed, sqlite and BerkeleyDB
// RPM databases; an ndb RPM database is an error saying its packages are
// missing), Go modules built into
// Go 1.18+ executables (the main module, its dependencies as replaced,
// and the standard library as "stdlib"), Python distributions
// (*.dist-info/METADATA, *.egg-info/PKG-INFO), npm packages (package.json
// under node_modules) and Maven artifacts (META-INF/maven/**/pom.properties
// of JARs, and of the JARs they hold one level down).
//
// It reads only what image.Load kept while the layers streamed
// (img.PackageFiles, with LoadOptions.Packages; an image loaded without
// it is an error): nothing is extracted, and the files are those of the
// final filesystem, whiteouts honoured. Packages come sorted by
// ecosystem, name, version and path.
//
// The error, when not nil, lists the files that could not be read (over
// the inventory-size limit, corrupt), each with its path and, for a
// database, line; the packages of every other file are still returned
// with it. ctx stops it between files.
func Inventory(ctx context.Context, img *image.Image) ([]Package, error) {
	if !img.PackagesRead() {
		// An empty inventory would read as an image without packages.
		return nil, fmt.Errorf("package inventory of %s: the image was loaded without its package files (image.LoadOptions.Packages)", img.Ref)
	}
	errs := append([]error(nil), img.PackageFileErrors()...)
	distro := distroOf(img.OSRelease)
	var out []Package
	for _, f := range img.PackageFiles() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var pkgs []Package
		var err error
		switch f.Kind {
		case image.DpkgStatus, image.DpkgStatusD:
			pkgs, err = parseDpkgStatus(f.Data, f.Path, distro)
		case image.ApkInstalled:
			pkgs, err = parseApkInstalled(f.Data, f.Path, distro)
		case image.PythonMetadata:
			pkgs, err = parsePythonMetadata(f.Data, f.Path)
		case image.NpmPackageJSON:
			pkgs, err = parseNpmPackageJSON(f.Data, f.Path)
		case image.MavenPomProperties:
			pkgs, err = parsePomProperties(f.Data, f.Path, f.Member)
		case image.GoBuildInfo:
			pkgs, err = parseGoBuildInfo(f.GoVersion, f.Data, f.Path)
		case image.RPMDB:
			pkgs, err = parseRPMDB(ctx, f.Data, f.Path, distro)
		}
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, pkgs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
	if len(errs) > 0 {
		return out, fmt.Errorf("package inventory of %s: %w", img.Ref, errors.Join(errs...))
	}
	return out, nil
}

// distro is what os-release says of the distribution, as the inventory
// needs it.
type distro struct {
	// id is os-release's ID ("debian"), versionID its VERSION_ID.
	id, versionID string
	// ecosystem and release are OSV's names for it, when it has some.
	ecosystem Ecosystem
	release   string
}

// distroOf reads os-release. The release is OSV's: Debian's VERSION_ID
// ("12"), Alpine's major.minor with a v ("v3.19"), Ubuntu's VERSION_ID
// with ":LTS" for a long-term release ("22.04:LTS"), the major version of
// the Red Hat family ("9"), Fedora's VERSION_ID; Wolfi has none.
func distroOf(osr map[string]string) distro {
	d := distro{id: osr["ID"], versionID: osr["VERSION_ID"]}
	major := d.versionID
	if i := strings.IndexByte(major, '.'); i >= 0 {
		major = major[:i]
	}
	switch d.id {
	case "debian":
		d.ecosystem, d.release = Debian, major
	case "ubuntu":
		d.ecosystem, d.release = Ubuntu, d.versionID
		if strings.Contains(osr["VERSION"], "LTS") {
			d.release += ":LTS"
		}
	case "alpine":
		d.ecosystem = Alpine
		if parts := strings.SplitN(d.versionID, ".", 3); len(parts) >= 2 {
			d.release = "v" + parts[0] + "." + parts[1]
		}
	case "wolfi", "chainguard":
		d.ecosystem = Wolfi
	case "rhel":
		d.ecosystem, d.release = RedHat, major
	case "rocky":
		d.ecosystem, d.release = Rocky, major
	case "almalinux":
		d.ecosystem, d.release = AlmaLinux, major
	case "fedora":
		d.ecosystem, d.release = Fedora, d.versionID
	}
	return d
}

// purlDistro is the distro qualifier of an OS package's PURL
// ("debian-12", "alpine-3.19.1"), empty when os-release does not say.
func (d distro) purlDistro() string {
	if d.id == "" || d.versionID == "" {
		return d.id
	}
	return d.id + "-" + d.versionID
}
