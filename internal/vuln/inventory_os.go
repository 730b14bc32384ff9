package vuln

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// maxFileErrors bounds the errors reported for one package file: a file
// that is not what its path says would otherwise give one per line.
const maxFileErrors = 5

// stanza is one paragraph of a dpkg status file, with its first line.
type stanza struct {
	line   int
	fields map[string]string
}

// fileErrors collects the errors of one file, bounded.
type fileErrors struct {
	path string
	errs []error
	n    int
}

func (e *fileErrors) add(line int, format string, args ...any) {
	e.n++
	if e.n <= maxFileErrors {
		e.errs = append(e.errs, fmt.Errorf("%s:%d: %s", e.path, line, fmt.Sprintf(format, args...)))
	}
}

func (e *fileErrors) err() error {
	if e.n > maxFileErrors {
		e.errs = append(e.errs, fmt.Errorf("%s: %d more errors", e.path, e.n-maxFileErrors))
	}
	return errors.Join(e.errs...)
}

// parseDebControl splits a dpkg status file (deb822: "Key: value" fields,
// continuation lines starting with a space or tab, paragraphs separated
// by blank lines) into stanzas.
func parseDebControl(data []byte, fe *fileErrors) []stanza {
	var out []stanza
	var cur *stanza
	last := ""
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			cur, last = nil, ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil || last == "" {
				fe.add(n, "continuation line outside a field")
				continue
			}
			// Only single-line values are used; continuations
			// (descriptions, conffiles) are skipped.
			continue
		}
		if line[0] == '#' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			fe.add(n, "not a field: %q", short(string(line)))
			continue
		}
		if cur == nil {
			out = append(out, stanza{line: n, fields: map[string]string{}})
			cur = &out[len(out)-1]
		}
		last = string(k)
		cur.fields[last] = string(bytes.TrimSpace(v))
	}
	return out
}

// short is the start of a line that may be very long, for an error.
func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// parseDpkgStatus reads /var/lib/dpkg/status or a distroless status.d
// file: the packages whose Status is "install ok installed" (a status.d
// file, which has no Status, is installed).
func parseDpkgStatus(data []byte, path string, d distro) ([]Package, error) {
	fe := &fileErrors{path: path}
	eco, ns := d.ecosystem, d.id
	if eco != Debian && eco != Ubuntu {
		eco, ns = Debian, "debian"
	}
	var out []Package
	for _, s := range parseDebControl(data, fe) {
		f := s.fields
		if st, ok := f["Status"]; ok {
			if w := strings.Fields(st); len(w) != 3 || w[2] != "installed" {
				continue
			}
		}
		name, version := f["Package"], f["Version"]
		if name == "" || version == "" {
			fe.add(s.line, "package without Package or Version")
			continue
		}
		p := Package{Name: name, Version: version, Ecosystem: eco, Path: path}
		if eco == d.ecosystem {
			p.Release = d.release
		}
		if src := f["Source"]; src != "" {
			sn, sv := src, version
			if i := strings.IndexByte(src, '('); i >= 0 {
				sn = strings.TrimSpace(src[:i])
				sv = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(src[i+1:]), ")"))
			}
			if sn != name || sv != version {
				p.SourceName, p.SourceVersion = sn, sv
			}
		}
		upstream := ""
		if p.SourceName != "" {
			upstream = p.SourceName
		}
		p.PURL = purl("deb", ns, name, version, [2]string{"arch", f["Architecture"]}, [2]string{"distro", d.purlDistro()}, [2]string{"upstream", upstream})
		out = append(out, p)
	}
	return out, fe.err()
}

// parseApkInstalled reads Alpine's /lib/apk/db/installed: "K:value"
// lines, packages separated by blank lines (P name, V version, o origin,
// L license, A architecture).
func parseApkInstalled(data []byte, path string, d distro) ([]Package, error) {
	fe := &fileErrors{path: path}
	eco, ns := d.ecosystem, d.id
	if eco != Alpine && eco != Wolfi {
		eco, ns = Alpine, "alpine"
	}
	var out []Package
	start := 0
	fields := map[string]string{}
	flush := func() {
		if len(fields) == 0 {
			return
		}
		name, version := fields["P"], fields["V"]
		if name == "" || version == "" {
			fe.add(start, "package without P: or V:")
		} else {
			p := Package{Name: name, Version: version, Ecosystem: eco, Path: path}
			if eco == d.ecosystem {
				p.Release = d.release
			}
			if o := fields["o"]; o != "" && o != name {
				p.SourceName, p.SourceVersion = o, version
			}
			if l := fields["L"]; l != "" {
				p.Licenses = []string{l}
			}
			p.PURL = purl("apk", ns, name, version, [2]string{"arch", fields["A"]}, [2]string{"distro", d.purlDistro()}, [2]string{"upstream", p.SourceName})
			out = append(out, p)
		}
		fields = map[string]string{}
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			flush()
			continue
		}
		if len(fields) == 0 {
			start = i + 1
		}
		if len(line) < 2 || line[1] != ':' {
			fe.add(i+1, "not a K:value line: %q", short(string(line)))
			continue
		}
		k := string(line[:1])
		if _, seen := fields[k]; !seen {
			// F:, R:, Z: repeat per file; the package keys do not.
			fields[k] = string(line[2:])
		}
	}
	flush()
	return out, fe.err()
}
