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

// renderReference is Render as it was before it streamed: the whole
// document built as Go values and written by encoding/xml at once. It is
// the specification Render is held to byte for byte (TestMatchesReference,
// FuzzMatchesReference), and its types read documents back in the tests.
func renderReference(w io.Writer, res *scan.Result) error {
	metas := map[string]check.Meta{}
	for _, m := range res.Checks {
		if _, dup := metas[m.ID]; !dup {
			metas[m.ID] = m
		}
	}
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
		tc := refCase(f)
		tc.Failure = &problem{Message: f.Message, Type: f.Severity.String(), Text: refXMLText(refDetails(f, metas[f.Check].Remediation))}
		s.Cases = append(s.Cases, tc)
		s.Failures++
	}
	for _, f := range res.Suppressed {
		s := suites[f.Check]
		tc := refCase(f)
		reason := ""
		if f.Suppression() != nil {
			reason = f.Suppression().Reason
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
			where := refPlace(e.File, e.Line, e.Column)
			s.Cases = append(s.Cases, testCase{
				Name:      where,
				Classname: inputErrorsSuite,
				File:      e.File,
				Error:     &problem{Message: e.Message, Type: "input-error", Text: refXMLText(where + ": " + e.Message)},
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
	Text    string `xml:",cdata"`
}

type skipped struct {
	Message string `xml:"message,attr"`
}

func refCase(f check.Finding) testCase {
	name := refPlace(f.Location.File, f.Location.Line, f.Location.Column)
	if f.Object != nil {
		name = refObjectName(f.Object) + " at " + name
	}
	return testCase{Name: name, Classname: f.Check, File: f.Location.File}
}

func refDetails(f check.Finding, remediation string) string {
	lines := []string{refPlace(f.Location.File, f.Location.Line, f.Location.Column) + ": " + f.Message}
	if f.Object != nil {
		o := "object: " + refObjectName(f.Object)
		if f.Object.Origin != "" {
			o += " (from " + f.Object.Origin + ")"
		}
		lines = append(lines, o)
	}
	if f.Path != "" {
		lines = append(lines, "path: "+f.Path)
	}
	if f.Trace() != nil {
		lines = append(lines, "template: "+TemplateNote(f.Trace()))
	}
	lines = append(lines, "severity: "+f.Severity.String())
	if remediation != "" {
		lines = append(lines, "fix: "+strings.Join(strings.Fields(remediation), " "))
	}
	return strings.Join(lines, "\n")
}

func refObjectName(o *check.ObjectRef) string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

func refPlace(file string, line, col int) string {
	s := file
	if line > 0 {
		s += ":" + strconv.Itoa(line)
		if col > 0 {
			s += ":" + strconv.Itoa(col)
		}
	}
	return s
}

func refXMLText(s string) string {
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
