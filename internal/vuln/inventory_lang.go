package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
)

// parsePythonMetadata reads the headers of a Python distribution's
// METADATA or PKG-INFO (core metadata: RFC 822 headers). The path of the
// package is its .dist-info or .egg-info directory, or its .egg-info file.
func parsePythonMetadata(data []byte, file string) ([]Package, error) {
	fe := &fileErrors{path: file}
	var name, version, license, expr string
	var classifiers []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			fe.add(i+1, "not a header: %q", short(line))
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			name = v
		case "version":
			version = v
		case "license":
			license = v
		case "license-expression":
			expr = v
		case "classifier":
			if rest, ok := strings.CutPrefix(v, "License :: "); ok {
				parts := strings.Split(rest, " :: ")
				classifiers = append(classifiers, parts[len(parts)-1])
			}
		}
	}
	if name == "" || version == "" {
		fe.add(1, "no Name or Version header")
		return nil, fe.err()
	}
	p := Package{Name: name, Version: version, Ecosystem: PyPI, Path: path.Dir(file)}
	if strings.HasSuffix(file, ".egg-info") {
		p.Path = file // the metadata file is the package's record
	}
	switch {
	case expr != "":
		p.Licenses = []string{expr}
	case license != "" && license != "UNKNOWN" && len(license) <= 100:
		p.Licenses = []string{license}
	default:
		p.Licenses = classifiers
	}
	p.PURL = purl("pypi", "", pypiNormalize(name), version)
	return []Package{p}, fe.err()
}

var pypiSeparators = regexp.MustCompile(`[-_.]+`)

// pypiNormalize is PEP 503's normalized name, as PURLs and OSV write it.
func pypiNormalize(name string) string {
	return strings.ToLower(pypiSeparators.ReplaceAllString(name, "-"))
}

// parseNpmPackageJSON reads the package.json of an installed npm package.
func parseNpmPackageJSON(data []byte, file string) ([]Package, error) {
	var pj struct {
		Name     string          `json:"name"`
		Version  string          `json:"version"`
		License  json.RawMessage `json:"license"`
		Licenses []struct {
			Type string `json:"type"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if pj.Name == "" || pj.Version == "" {
		// Some packages ship package.json files that are not the
		// package's own (a "type": "module" marker): not an error.
		return nil, nil
	}
	p := Package{Name: pj.Name, Version: pj.Version, Ecosystem: Npm, Path: file}
	var lic string
	var licObj struct {
		Type string `json:"type"`
	}
	switch {
	case json.Unmarshal(pj.License, &lic) == nil && lic != "":
		p.Licenses = []string{lic}
	case json.Unmarshal(pj.License, &licObj) == nil && licObj.Type != "":
		p.Licenses = []string{licObj.Type}
	default:
		for _, l := range pj.Licenses {
			if l.Type != "" {
				p.Licenses = append(p.Licenses, l.Type)
			}
		}
	}
	ns, name := "", pj.Name
	if strings.HasPrefix(name, "@") {
		if i := strings.IndexByte(name, '/'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	}
	p.PURL = purl("npm", ns, name, pj.Version)
	return []Package{p}, nil
}

// parsePomProperties reads a JAR's META-INF/maven/GROUP/ARTIFACT/pom.properties
// (Java properties: key=value or key: value, # and ! comments). The path
// of the package is the JAR, nested JARs joined with "!/".
func parsePomProperties(data []byte, jar, member string) ([]Package, error) {
	fe := &fileErrors{path: jar + "!/" + member}
	props := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		j := strings.IndexAny(line, "=:")
		if j < 0 {
			fe.add(i+1, "not a property: %q", short(line))
			continue
		}
		props[strings.TrimSpace(line[:j])] = strings.TrimSpace(line[j+1:])
	}
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if g == "" || a == "" || v == "" {
		fe.add(1, "no groupId, artifactId or version")
		return nil, fe.err()
	}
	p := Package{Name: g + ":" + a, Version: v, Ecosystem: Maven, Path: jar}
	if i := strings.LastIndex(member, "!/"); i >= 0 {
		p.Path = jar + "!/" + member[:i]
	}
	p.PURL = purl("maven", g, a, v)
	return []Package{p}, fe.err()
}

// parseGoBuildInfo reads the module information of a Go executable: its
// main module (unless built from a work tree, "(devel)"), every
// dependency (as replaced, a local replacement left out) and the standard
// library as the module "stdlib" at the toolchain's version, which is how
// OSV names it.
func parseGoBuildInfo(goVersion string, modinfo []byte, file string) ([]Package, error) {
	var out []Package
	add := func(mod, version string) {
		if mod == "" || version == "" || version == "(devel)" {
			return
		}
		ns, name := path.Split(mod)
		out = append(out, Package{Name: mod, Version: version, Ecosystem: Go, Path: file, PURL: purl("golang", ns, name, version)})
	}
	if v := goSemver(goVersion); v != "" {
		add("stdlib", v)
	}
	if len(bytes.TrimSpace(modinfo)) == 0 {
		return out, nil
	}
	bi, err := debug.ParseBuildInfo(string(modinfo))
	if err != nil {
		return out, fmt.Errorf("%s: go build information: %w", file, err)
	}
	add(bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		add(d.Path, d.Version)
	}
	return out, nil
}

var goToolchain = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta)(\d+))?`)

// goSemver turns a toolchain version ("go1.22.5", "go1.21rc2",
// "go1.22.5 X:boringcrypto") into the semver OSV's stdlib entries use
// with a v ("v1.22.5", "v1.21.0-rc.2"); empty for a development build.
func goSemver(v string) string {
	m := goToolchain.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	minor, patch := m[2], m[3]
	if minor == "" {
		minor = "0"
	}
	if patch == "" {
		patch = "0"
	}
	out := "v" + m[1] + "." + minor + "." + patch
	if m[4] != "" {
		out += "-" + m[4] + "." + m[5]
	}
	return out
}
