package vuln

import (
	"errors"
	"fmt"
	"strings"

	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	apk "github.com/knqyf263/go-apk-version"
	deb "github.com/knqyf263/go-deb-version"
	rpm "github.com/knqyf263/go-rpm-version"
	mvn "github.com/masahiro331/go-mvn-version"
	"golang.org/x/mod/semver"
)

// version is a parsed version of one ecosystem; compare is only called
// with a version of the same ecosystem.
type version interface {
	compare(other version) int
}

// parser parses the versions of one ecosystem.
type parser func(string) (version, error)

type debVersion struct{ v deb.Version }

func (a debVersion) compare(b version) int { return a.v.Compare(b.(debVersion).v) }

type apkVersion struct{ v apk.Version }

func (a apkVersion) compare(b version) int { return a.v.Compare(b.(apkVersion).v) }

type rpmVersion struct{ v rpm.Version }

func (a rpmVersion) compare(b version) int { return a.v.Compare(b.(rpmVersion).v) }

type pepVersion struct{ v pep440.Version }

func (a pepVersion) compare(b version) int { return a.v.Compare(b.(pepVersion).v) }

type npmVersion struct{ v npm.Version }

func (a npmVersion) compare(b version) int { return a.v.Compare(b.(npmVersion).v) }

type mvnVersion struct{ v mvn.Version }

func (a mvnVersion) compare(b version) int { return a.v.Compare(b.(mvnVersion).v) }

type semVersion string

func (a semVersion) compare(b version) int { return semver.Compare(string(a), string(b.(semVersion))) }

// errNoComparison is the error of an ecosystem matching does not know.
var errNoComparison = errors.New("no version comparison for this ecosystem")

// parserOf returns the version parser of an OSV ecosystem (release
// suffix allowed), or errNoComparison. Every comparison is a library's,
// chosen to be the ecosystem's own rules: dpkg's for Debian and Ubuntu,
// apk's for Alpine and Wolfi, rpmvercmp for the RPM family, PEP 440,
// node-semver, Maven's ComparableVersion, and Go's semantic versions
// (pseudo-versions included).
func parserOf(ecosystem string) (parser, error) {
	base, _ := splitEcosystem(ecosystem)
	switch Ecosystem(base) {
	case Debian, Ubuntu:
		return func(s string) (version, error) {
			v, err := deb.NewVersion(s)
			return debVersion{v}, err
		}, nil
	case Alpine, Wolfi, "Chainguard":
		return func(s string) (version, error) {
			v, err := apk.NewVersion(s)
			if err == nil && !apk.Valid(s) {
				err = fmt.Errorf("%q is not an apk version", s)
			}
			return apkVersion{v}, err
		}, nil
	case RedHat, Rocky, AlmaLinux, Fedora, "openSUSE", "SUSE", "Mageia", "openEuler":
		return func(s string) (version, error) {
			if strings.TrimSpace(s) == "" {
				return nil, errors.New("empty rpm version")
			}
			return rpmVersion{rpm.NewVersion(s)}, nil
		}, nil
	case PyPI:
		return func(s string) (version, error) {
			v, err := pep440.Parse(s)
			return pepVersion{v}, err
		}, nil
	case Npm:
		return func(s string) (version, error) {
			v, err := npm.NewVersion(s)
			return npmVersion{v}, err
		}, nil
	case Maven:
		return func(s string) (version, error) {
			if strings.TrimSpace(s) == "" {
				return nil, errors.New("empty maven version")
			}
			v, err := mvn.NewVersion(s)
			return mvnVersion{v}, err
		}, nil
	case Go:
		return parseSemver, nil
	}
	return nil, fmt.Errorf("%s: %w", base, errNoComparison)
}

// parseSemver reads a semantic version as Go writes it: with or without
// the v, and Go toolchain versions (go1.21.5) as the Go vulnerability
// database writes the standard library's (1.21.5).
func parseSemver(s string) (version, error) {
	s = strings.TrimPrefix(s, "go")
	if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	if !semver.IsValid(s) {
		// Go toolchains name their first releases go1.21 and their
		// pre-releases go1.21rc2; canonical semver wants 1.21.0-rc2.
		if fixed, ok := goToolchainSemver(s); ok {
			s = fixed
		} else {
			return nil, fmt.Errorf("%q is not a semantic version", s)
		}
	}
	return semVersion(s), nil
}

// goToolchainSemver turns v1.21rc2 into v1.21.0-rc2 and v1.21 into
// v1.21.0.
func goToolchainSemver(s string) (string, bool) {
	for _, pre := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(s, pre); i > 0 && !strings.Contains(s, "-") {
			base, rest := s[:i], s[i:]
			if strings.Count(base, ".") == 1 {
				base += ".0"
			}
			out := base + "-" + rest
			return out, semver.IsValid(out)
		}
	}
	if strings.Count(s, ".") == 1 && semver.IsValid(s+".0") {
		return s + ".0", true
	}
	return "", false
}
