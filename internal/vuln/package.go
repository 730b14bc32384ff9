// Package vuln knows what a container image contains and what is known
// to be wrong with it: the inventory of installed packages (OS packages,
// Go modules built into binaries, language packages), SBOMs of that
// inventory, and offline matching of it against OSV-format vulnerability
// data or another scanner's report.
package vuln

// Ecosystem is a package ecosystem, spelled as OSV spells it without the
// release suffix ("Debian", not "Debian:12").
type Ecosystem string

// The ecosystems the inventory reads.
const (
	Debian    Ecosystem = "Debian"
	Ubuntu    Ecosystem = "Ubuntu"
	Alpine    Ecosystem = "Alpine"
	RedHat    Ecosystem = "Red Hat"
	Rocky     Ecosystem = "Rocky Linux"
	AlmaLinux Ecosystem = "AlmaLinux"
	Fedora    Ecosystem = "Fedora"
	Wolfi     Ecosystem = "Wolfi"
	Go        Ecosystem = "Go"
	PyPI      Ecosystem = "PyPI"
	Npm       Ecosystem = "npm"
	Maven     Ecosystem = "Maven"
)

// Package is one installed package of an image.
type Package struct {
	// Name is the package's name in its ecosystem: the binary package of
	// dpkg, apk and rpm, the module path of Go, groupId:artifactId of
	// Maven.
	Name string
	// Version is the installed version as the ecosystem writes it, epoch
	// and release included ("1:2.36-9+deb12u4", "1.2.3-r0", "v1.2.3").
	Version   string
	Ecosystem Ecosystem
	// Release is the distribution release an OS package belongs to, as
	// OSV suffixes the ecosystem ("12" for Debian:12, "v3.19" for
	// Alpine:v3.19); empty for language packages.
	Release string
	// SourceName and SourceVersion name the source package an OS package
	// was built from (dpkg Source:, apk origin, rpm source RPM), which is
	// what distribution advisories name. Empty when the same as Name.
	SourceName    string
	SourceVersion string
	// PURL is the package URL (https://github.com/package-url/purl-spec).
	PURL string
	// Path is the file in the image that brought the package in: the
	// package database, the Go binary, the dist-info directory, the JAR.
	Path string
	// Licenses are the declared licenses, when the package says.
	Licenses []string
}

// OSVEcosystem is the ecosystem as OSV records name it, release included
// for OS packages ("Debian:12").
func (p Package) OSVEcosystem() string {
	if p.Release == "" {
		return string(p.Ecosystem)
	}
	return string(p.Ecosystem) + ":" + p.Release
}
