// Package text renders a scan result for a person at a terminal: the
// findings in input order, one line each with its place, severity, check and
// message and a second line with the fix, files apart by a blank line; then
// the input errors; then a one-line summary.
//
//	deploy/web.yaml:21:13  CRITICAL  privileged-container  container "api" must not set securityContext.privileged=true  (Deployment/shop/web)
//	    fix: Set securityContext.privileged to false.
//
//	errors
//	deploy/broken.yaml:3: invalid YAML: did not find expected key
//
//	2 findings (1 critical, 1 high) · 1 suppressed · 1 input error · 4 objects in 2 files
//
// Each finding line starts with file:line:col so that editors and terminals
// make it a link. Suppressed findings are counted but not listed: the json
// and sarif formats list them.
package text

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// Options tune the text format.
type Options struct {
	// Color turns on ANSI colours. The CLI sets it only when stdout is a
	// terminal and NO_COLOR is unset.
	Color bool
}

// ANSI SGR codes.
const (
	bold    = "1"
	faint   = "2"
	red     = "31"
	green   = "32"
	yellow  = "33"
	blue    = "34"
	boldRed = "1;31"
)

var severityColor = map[check.Severity]string{
	check.Critical: boldRed,
	check.High:     red,
	check.Medium:   yellow,
	check.Low:      blue,
	check.Info:     faint,
}

// Render writes res to w.
func Render(w io.Writer, res *scan.Result, opts Options) error {
	bw := bufio.NewWriter(w)
	p := painter{on: opts.Color}
	fixes := make(map[string]string, len(res.Checks))
	for _, m := range res.Checks {
		fixes[m.ID] = oneLine(m.Remediation)
		if c := m.FixCommand(); c != "" {
			fixes[m.ID] = "run `" + c + "`, or by hand: " + fixes[m.ID]
		}
	}

	writeImages(bw, p, res.Images, vulnerabilityCounts(res))
	findings := groupByFile(res.Findings)
	for i, f := range findings {
		if i > 0 && f.Location.File != findings[i-1].Location.File {
			bw.WriteString("\n")
		}
		where := place(f.Location.File, f.Location.Line, f.Location.Column)
		if where == "" && f.Object == nil {
			// A cluster finding: about the cluster as a whole, in no file.
			where = "(cluster)"
		}
		bw.WriteString(p.paint(bold, where))
		bw.WriteString("  ")
		bw.WriteString(p.paint(severityColor[f.Severity], strings.ToUpper(f.Severity.String())))
		bw.WriteString("  ")
		bw.WriteString(clean(f.Check))
		bw.WriteString("  ")
		bw.WriteString(clean(f.Message))
		if f.Object != nil {
			bw.WriteString("  ")
			bw.WriteString(p.paint(faint, "("+objectName(f.Object)+")"))
		}
		bw.WriteString("\n")
		if fix := fixes[f.Check]; fix != "" {
			bw.WriteString("    ")
			bw.WriteString(p.paint(green, "fix:"))
			bw.WriteString(" ")
			bw.WriteString(clean(fix))
			bw.WriteString("\n")
		}
	}

	if len(res.Errors) > 0 {
		if len(res.Findings) > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString(p.paint(boldRed, "errors"))
		bw.WriteString("\n")
		for _, e := range res.Errors {
			bw.WriteString(p.paint(bold, place(e.File, e.Line, e.Column)))
			bw.WriteString(": ")
			bw.WriteString(clean(e.Message))
			bw.WriteString("\n")
		}
	}

	if len(res.Findings) > 0 || len(res.Errors) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString(p.paint(bold, Summary(res)))
	bw.WriteString("\n")
	return bw.Flush()
}

// grouped reports whether each file's findings are already together, as
// the engine sorts them, so that a large report is not copied.
func grouped(fs []check.Finding) bool {
	done := map[string]bool{}
	for i := range fs {
		f := fs[i].Location.File
		if i > 0 && f != fs[i-1].Location.File {
			if done[f] {
				return false
			}
			done[fs[i-1].Location.File] = true
		}
	}
	return true
}

// groupByFile puts the findings of each file together, files in the order
// they first appear. The engine's results already are; other front ends'
// may not be.
func groupByFile(fs []check.Finding) []check.Finding {
	if grouped(fs) {
		return fs
	}
	var files []string
	byFile := map[string][]check.Finding{}
	for _, f := range fs {
		if _, ok := byFile[f.Location.File]; !ok {
			files = append(files, f.Location.File)
		}
		byFile[f.Location.File] = append(byFile[f.Location.File], f)
	}
	out := make([]check.Finding, 0, len(fs))
	for _, file := range files {
		out = append(out, byFile[file]...)
	}
	return out
}

// Summary returns the closing line of the text report, such as
// "12 findings (2 critical, 5 high, 3 medium, 2 low) · 3 suppressed ·
// 1 input error · 40 objects in 7 files" or "no findings · 40 objects in 7
// files". Zero counts other than objects and files are left out.
func Summary(res *scan.Result) string {
	var parts []string
	if n := len(res.Findings); n == 0 {
		parts = append(parts, "no findings")
	} else {
		var counts [check.Critical + 1]int
		for _, f := range res.Findings {
			if f.Severity >= check.Info && f.Severity <= check.Critical {
				counts[f.Severity]++
			}
		}
		var bySeverity []string
		for s := check.Critical; s >= check.Info; s-- {
			if counts[s] > 0 {
				bySeverity = append(bySeverity, strconv.Itoa(counts[s])+" "+s.String())
			}
		}
		part := plural(n, "finding", "findings")
		if len(bySeverity) > 0 {
			part += " (" + strings.Join(bySeverity, ", ") + ")"
		}
		parts = append(parts, part)
	}
	if n := len(res.Suppressed); n > 0 {
		parts = append(parts, strconv.Itoa(n)+" suppressed")
	}
	if n := len(res.Errors); n > 0 {
		parts = append(parts, plural(n, "input error", "input errors"))
	}
	// Images count as objects and inputs; name them apart.
	objects, files := res.Objects-len(res.Images), res.Files-len(res.Images)
	if objects > 0 || files > 0 || len(res.Images) == 0 {
		parts = append(parts, plural(objects, "object", "objects")+" in "+plural(files, "file", "files"))
	}
	if len(res.Images) > 0 {
		parts = append(parts, plural(len(res.Images), "image", "images"))
	}
	return strings.Join(parts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// place formats file:line:col, leaving out what is unknown (zero).
func place(file string, line, col int) string {
	s := clean(file)
	if line > 0 {
		s += ":" + strconv.Itoa(line)
		if col > 0 {
			s += ":" + strconv.Itoa(col)
		}
	}
	return s
}

// objectName is the compact identity of an object: Kind/namespace/name, or
// Kind/name when the manifest sets no namespace, followed by where a
// rendered object came from.
func objectName(o *check.ObjectRef) string {
	s := o.Kind + "/"
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	s += o.Name
	if o.Origin != "" {
		s += " from " + o.Origin
	}
	return clean(s)
}

// oneLine folds a multi-line remediation into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clean escapes control characters: names and messages come from the
// scanned files, and a manifest must not be able to drive the terminal.
func clean(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
