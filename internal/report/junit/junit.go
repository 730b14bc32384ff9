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
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// inputErrorsSuite is the name of the suite that holds input errors.
const inputErrorsSuite = "input-errors"

type testSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Suites   []testSuite `xml:"testsuite"`
}

type testSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Properties *properties `xml:"properties,omitempty"`
	Cases      []testCase  `xml:"testcase"`
}

type properties struct {
	Property []property `xml:"property"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testCase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	File      string   `xml:"file,attr,omitempty"`
	Failure   *problem `xml:"failure,omitempty"`
	Error     *problem `xml:"error,omitempty"`
	Skipped   *skipped `xml:"skipped,omitempty"`
}

type problem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	// Text is CDATA so that its lines stay lines in the file; xmlText
	// keeps it to characters XML allows.
	Text string `xml:",cdata"`
}

type skipped struct {
	Message string `xml:"message,attr"`
}

// Render writes res to w as an indented JUnit XML document.
func Render(w io.Writer, res *scan.Result) error {
	metas := map[string]check.Meta{}
	for _, m := range res.Checks {
		if _, dup := metas[m.ID]; !dup {
			metas[m.ID] = m
		}
	}
	// A finding of a check the result does not describe still gets a suite.
	for _, fs := range [][]check.Finding{res.Findings, res.Suppressed} {
		for _, f := range fs {
			if _, ok := metas[f.Check]; !ok {
				metas[f.Check] = check.Meta{ID: f.Check, Severity: f.Severity}
			}
		}
	}
	ids := make([]string, 0, len(metas))
	for id := range metas {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	suites := make(map[string]*testSuite, len(ids))
	doc := testSuites{Name: "kubeharden"}
	for _, id := range ids {
		m := metas[id]
		props := &properties{}
		if m.Title != "" {
			props.Property = append(props.Property, property{"title", m.Title})
		}
		props.Property = append(props.Property, property{"severity", m.Severity.String()})
		doc.Suites = append(doc.Suites, testSuite{Name: id, Properties: props})
	}
	for i := range doc.Suites {
		suites[doc.Suites[i].Name] = &doc.Suites[i]
	}

	for _, f := range res.Findings {
		s := suites[f.Check]
		tc := newCase(f)
		tc.Failure = &problem{Message: f.Message, Type: f.Severity.String(), Text: xmlText(details(f, metas[f.Check].Remediation))}
		s.Cases = append(s.Cases, tc)
		s.Failures++
	}
	for _, f := range res.Suppressed {
		s := suites[f.Check]
		tc := newCase(f)
		reason := ""
		if f.Suppression != nil {
			reason = f.Suppression.Reason
		}
		tc.Skipped = &skipped{Message: "suppressed: " + reason}
		s.Cases = append(s.Cases, tc)
		s.Skipped++
	}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		if len(s.Cases) == 0 {
			s.Cases = []testCase{{Name: "no findings", Classname: s.Name}}
		}
	}

	if len(res.Errors) > 0 {
		s := testSuite{Name: inputErrorsSuite}
		for _, e := range res.Errors {
			where := place(e.File, e.Line, e.Column)
			s.Cases = append(s.Cases, testCase{
				Name:      where,
				Classname: inputErrorsSuite,
				File:      e.File,
				Error:     &problem{Message: e.Message, Type: "input-error", Text: xmlText(where + ": " + e.Message)},
			})
			s.Errors++
		}
		doc.Suites = append(doc.Suites, s)
	}

	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// newCase names a finding's test case by its object and place, which tell
// two findings of one check apart.
func newCase(f check.Finding) testCase {
	name := place(f.Location.File, f.Location.Line, f.Location.Column)
	if f.Object != nil {
		name = objectName(f.Object) + " at " + name
	}
	return testCase{Name: name, Classname: f.Check, File: f.Location.File}
}

// details is the body of a failure: what a reader needs to find and fix it.
func details(f check.Finding, remediation string) string {
	lines := []string{place(f.Location.File, f.Location.Line, f.Location.Column) + ": " + f.Message}
	if f.Object != nil {
		o := "object: " + objectName(f.Object)
		if f.Object.Origin != "" {
			o += " (from " + f.Object.Origin + ")"
		}
		lines = append(lines, o)
	}
	if f.Path != "" {
		lines = append(lines, "path: "+f.Path)
	}
	lines = append(lines, "severity: "+f.Severity.String())
	if remediation != "" {
		lines = append(lines, "fix: "+strings.Join(strings.Fields(remediation), " "))
	}
	return strings.Join(lines, "\n")
}

// objectName is Kind/namespace/name, or Kind/name when the manifest sets no
// namespace.
func objectName(o *check.ObjectRef) string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// place formats file:line:col, leaving out what is unknown (zero).
func place(file string, line, col int) string {
	s := file
	if line > 0 {
		s += ":" + strconv.Itoa(line)
		if col > 0 {
			s += ":" + strconv.Itoa(col)
		}
	}
	return s
}

// xmlText replaces the characters XML 1.0 does not allow (most control
// characters) with U+FFFD. encoding/xml does that when it escapes text and
// attributes, but not in CDATA.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}
