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
// and sarif formats list them. With a baseline, new findings are marked
// NEW before their severity, the baseline's fixed findings follow under
// "fixed since the baseline", and a last line sums up the comparison.
package text

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// Options tune the text format.
type Options struct {
	// Color turns on ANSI colours. The CLI sets it only when stdout is a
	// terminal and NO_COLOR is unset.
	Color bool
	// Baseline, when set, marks new findings NEW, lists the baseline's
	// fixed findings and adds a line that sums up the comparison.
	Baseline *baseline.Comparison
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
	// boldMagenta marks new findings, apart from every severity's colour.
	boldMagenta = "1;35"
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
	order := groupByFile(res.Findings)
	origin := ""
	for n := range res.Findings {
		i := n
		if order != nil {
			i = order[n]
		}
		f := &res.Findings[i]
		if n > 0 {
			prev := n - 1
			if order != nil {
				prev = order[n-1]
			}
			if f.Location.File != res.Findings[prev].Location.File {
				bw.WriteString("\n")
			}
		}
		// A chart's origin (the chart and release) is said once, above its
		// findings, rather than on every one. A kustomization's stays on
		// each: one base file is built into several overlays.
		if o := f.Object; o != nil && strings.HasPrefix(o.Origin, "helm") && o.Origin != origin {
			origin = o.Origin
			bw.WriteString(p.paint(bold, "# "+clean(origin)))
			bw.WriteString("\n")
		}
		mark := ""
		if opts.Baseline.IsNew(i) {
			mark = "NEW"
		}
		writeFinding(bw, p, f, mark, origin)
		if fix := fixes[f.Check]; fix != "" {
			bw.WriteString("    ")
			bw.WriteString(p.paint(green, "fix:"))
			bw.WriteString(" ")
			bw.WriteString(clean(fix))
			bw.WriteString("\n")
		}
	}
	if c := opts.Baseline; c != nil && len(c.Fixed) > 0 {
		if len(res.Findings) > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString(p.paint(green, "fixed since the baseline"))
		bw.WriteString("\n")
		for i := range c.Fixed {
			writeFinding(bw, p, &c.Fixed[i], "", "")
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

	if len(res.Findings) > 0 || len(res.Errors) > 0 || (opts.Baseline != nil && len(opts.Baseline.Fixed) > 0) {
		bw.WriteString("\n")
	}
	bw.WriteString(p.paint(bold, Summary(res)))
	bw.WriteString("\n")
	if opts.Baseline != nil {
		bw.WriteString(p.paint(bold, BaselineSummary(opts.Baseline)))
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// writeFinding writes a finding's line: place, mark (NEW, or nothing),
// severity, check, message, object (without the origin said above it)
// and how a chart's finding was placed in its template.
func writeFinding(bw *bufio.Writer, p painter, f *check.Finding, mark, origin string) {
	where := place(f.Location.File, f.Location.Line, f.Location.Column)
	if where == "" && f.Object == nil {
		// A cluster finding: about the cluster as a whole, in no file.
		where = "(cluster)"
	}
	bw.WriteString(p.paint(bold, where))
	bw.WriteString("  ")
	if mark != "" {
		bw.WriteString(p.paint(boldMagenta, mark))
		bw.WriteString(" ")
	}
	bw.WriteString(p.paint(severityColor[f.Severity], strings.ToUpper(f.Severity.String())))
	bw.WriteString("  ")
	bw.WriteString(clean(f.Check))
	bw.WriteString("  ")
	bw.WriteString(clean(f.Message))
	if f.Object != nil {
		bw.WriteString("  ")
		bw.WriteString(p.paint(faint, "("+objectName(f.Object, origin)+")"))
	}
	if t := traceNote(f.Trace()); t != "" {
		bw.WriteString("  ")
		bw.WriteString(p.paint(faint, "["+clean(t)+"]"))
	}
	bw.WriteString("\n")
}

// BaselineSummary returns the line that sums up a comparison with a
// baseline, such as "since old.json (v1.2.0): 2 new · 5 fixed ·
// 40 unchanged · 1 now suppressed" (now suppressed only when some are).
func BaselineSummary(c *baseline.Comparison) string {
	s := "since " + clean(c.Report)
	if c.Version != "" {
		s += " (" + clean(c.Version) + ")"
	}
	s += ": " + strconv.Itoa(c.New) + " new · " + strconv.Itoa(len(c.Fixed)) + " fixed · " + strconv.Itoa(c.Unchanged) + " unchanged"
	if n := len(c.NowSuppressed); n > 0 {
		s += " · " + strconv.Itoa(n) + " now suppressed"
	}
	return s
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

// groupByFile returns the order, as indexes into fs, that puts the
// findings of each file together, files in the order they first appear;
// nil when fs already is in it, as the engine's results are (other front
// ends' may not be). Indexes, not copies: a finding's index is its
// identity in a baseline comparison.
func groupByFile(fs []check.Finding) []int {
	if grouped(fs) {
		return nil
	}
	var files []string
	byFile := map[string][]int{}
	for i, f := range fs {
		if _, ok := byFile[f.Location.File]; !ok {
			files = append(files, f.Location.File)
		}
		byFile[f.Location.File] = append(byFile[f.Location.File], i)
	}
	out := make([]int, 0, len(fs))
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
// rendered object came from unless that is said already (said).
func objectName(o *check.ObjectRef, said string) string {
	s := o.Kind + "/"
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	s += o.Name
	if o.Origin != "" && o.Origin != said {
		s += " from " + o.Origin
	}
	return clean(s)
}

// traceNote says how a rendered object's finding was placed in its
// template, when the line is not simply the one holding the field.
func traceNote(t *object.Trace) string {
	switch {
	case t == nil:
		return ""
	case t.Uncertain != "":
		return "template line unknown: " + t.Uncertain + "; rendered line " + strconv.Itoa(t.Rendered)
	case t.Via == object.TraceEmitted && t.ValueFile != "":
		return "emitted by this line; value set at " + place(t.ValueFile, t.ValueLine, 0)
	case t.Via == object.TraceEmitted:
		return "emitted by this line"
	}
	return ""
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
