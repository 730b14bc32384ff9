// Package junit renders a scan result as JUnit XML, which CI systems
// (Jenkins, GitLab, Azure Pipelines, CircleCI) show as test results.
//
// Each check that ran is a test suite named after its ID. Its test cases
// are its findings, failed with the finding's severity as the failure type,
// and its suppressed findings, skipped with the reason. A check without any
// finding has one passing test case, "no findings", so that it shows as
// passed rather than as an empty suite. A suite's tests attribute counts its
// test cases. Input errors are the suite "input-errors", one test case in
// error per input error.
package junit

import (
	"bufio"
	"io"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// inputErrorsSuite is the name of the suite that holds input errors.
const inputErrorsSuite = "input-errors"

// suite is what the test suite of one check needs before its test cases
// are written.
type suite struct {
	meta     check.Meta
	failures int
	skipped  int
	// cases is where the suite's test cases start in the order of all
	// test cases; the next suite's cases is where they end.
	cases int
}

// tests is the suite's tests attribute: its test cases, or the one
// passing "no findings".
func (s *suite) tests() int {
	return max(1, s.failures+s.skipped)
}

// Render writes res to w as an indented JUnit XML document, as
// encoding/xml would write the whole document with Indent("", "  "). It
// streams: a first pass over the findings counts each suite's test cases,
// then each test case is encoded on its own through a reused buffer, so
// memory grows by only an index entry per finding.
func Render(w io.Writer, res *scan.Result) error {
	return renderWith(w, res, handWritten)
}

// appenders write the test cases there are many of: a failure per finding,
// a skip per suppressed finding and an error per input error. Render's are
// written by hand; the benchmark swaps in encoding/xml to show what that
// saves.
type appenders struct {
	failure    func(e *encoder, b []byte, f *check.Finding, fix string, hasFix bool) []byte
	skipped    func(e *encoder, b []byte, f *check.Finding) []byte
	inputError func(e *encoder, b []byte, ie *source.Error) []byte
}

var handWritten = appenders{
	failure:    (*encoder).appendFailure,
	skipped:    func(_ *encoder, b []byte, f *check.Finding) []byte { return appendSkipped(b, f) },
	inputError: (*encoder).appendInputError,
}

func renderWith(w io.Writer, res *scan.Result, app appenders) error {
	metas := map[string]check.Meta{}
	for _, m := range res.Checks {
		if _, dup := metas[m.ID]; !dup {
			metas[m.ID] = m
		}
	}
	// A finding of a check the result does not describe still gets a suite.
	for _, fs := range [][]check.Finding{res.Findings, res.Suppressed} {
		for i := range fs {
			if _, ok := metas[fs[i].Check]; !ok {
				metas[fs[i].Check] = check.Meta{ID: fs[i].Check, Severity: fs[i].Severity}
			}
		}
	}
	ids := make([]string, 0, len(metas))
	for id := range metas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	suites := make([]suite, len(ids)+1) // and an end for the last one's cases
	which := suiteIndex{index: make(map[string]int, len(ids))}
	for i, id := range ids {
		suites[i].meta = metas[id]
		which.index[id] = i
	}

	// Count, then index the test cases by suite: a stable counting sort, so
	// that a suite's failures keep their order and precede its skips.
	for i := range res.Findings {
		suites[which.of(res.Findings[i].Check)].failures++
	}
	for i := range res.Suppressed {
		suites[which.of(res.Suppressed[i].Check)].skipped++
	}
	var tests, failures int
	for i := range ids {
		s := &suites[i]
		suites[i+1].cases = s.cases + s.failures + s.skipped
		tests += s.tests()
		failures += s.failures
	}
	// order holds positions in Findings, then in Suppressed after
	// len(Findings); an int32 is 4 bytes a finding, and a result holds far
	// fewer than 2^31 of them.
	order := make([]int32, len(res.Findings)+len(res.Suppressed))
	next := make([]int, len(ids))
	for i := range ids {
		next[i] = suites[i].cases
	}
	for i := range res.Findings {
		k := which.of(res.Findings[i].Check)
		order[next[k]] = int32(i)
		next[k]++
	}
	for i := range res.Suppressed {
		k := which.of(res.Suppressed[i].Check)
		order[next[k]] = int32(len(res.Findings) + i)
		next[k]++
	}
	tests += len(res.Errors) // the input-errors suite's

	bw := bufio.NewWriterSize(w, 64<<10)
	e := &encoder{w: bw}
	e.write(appendDocStart(e.buf[:0], tests, failures, len(res.Errors)))

	for k := range ids {
		s := &suites[k]
		e.write(appendSuiteStart(e.buf[:0], s))
		if s.failures+s.skipped == 0 {
			e.write(appendNoFindings(e.buf[:0], s.meta.ID))
		}
		// Each failure's fix line is the check's remediation on one line;
		// a remediation of only white space still gets one, empty.
		fix, hasFix := strings.Join(strings.Fields(s.meta.Remediation), " "), s.meta.Remediation != ""
		for _, p := range order[s.cases:suites[k+1].cases] {
			if e.err != nil {
				break
			}
			if int(p) < len(res.Findings) {
				e.write(app.failure(e, e.buf[:0], &res.Findings[p], fix, hasFix))
			} else {
				e.write(app.skipped(e, e.buf[:0], &res.Suppressed[int(p)-len(res.Findings)]))
			}
		}
		e.raw("\n  </testsuite>")
	}

	if len(res.Errors) > 0 {
		e.write(appendErrorsSuiteStart(e.buf[:0], len(res.Errors)))
		for i := range res.Errors {
			if e.err != nil {
				break
			}
			e.write(app.inputError(e, e.buf[:0], &res.Errors[i]))
		}
		e.raw("\n  </testsuite>")
	}
	// encoding/xml closes a document without suites on its start line.
	if len(ids) > 0 || len(res.Errors) > 0 {
		e.raw("\n")
	}
	e.raw("</testsuites>\n")
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// suiteIndex maps a check ID to the index of its suite.
type suiteIndex struct {
	index map[string]int
	// last and lastIndex spare the map look-up for a run of findings of
	// one check.
	last      string
	lastIndex int
	cached    bool
}

func (s *suiteIndex) of(id string) int {
	if !s.cached || id != s.last {
		s.last, s.lastIndex, s.cached = id, s.index[id], true
	}
	return s.lastIndex
}

// encoder writes the document piece by piece.
type encoder struct {
	w *bufio.Writer
	// buf is the piece being encoded; text is a failure's text before it
	// goes into CDATA.
	buf, text []byte
	err       error
}

func (e *encoder) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// write writes b, which is e.buf grown, and keeps it for the next piece.
func (e *encoder) write(b []byte) {
	e.buf = b[:0]
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
