package junit

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// The functions below write the document piece by piece exactly as
// encoding/xml writes it whole with Indent("", "  "), without reflection: a
// large scan writes hundreds of thousands of test cases.
// TestMatchesReference and FuzzMatchesReference hold them to encoding/xml
// byte for byte.
//
// Writing them by hand is worth its tests: with encoding/xml encoding each
// test case into a reused buffer, a document of 110,000 test cases takes
// about five times as long (309 ms against 58 ms, BenchmarkRenderLarge),
// with nine allocations a test case where the hand-written encoder makes
// none.

// appendDocStart writes the XML declaration and the start tag of the
// document.
func appendDocStart(b []byte, tests, failures, errors int) []byte {
	b = append(b, xml.Header...)
	b = append(b, `<testsuites name="kubeharden" tests="`...)
	b = appendInt(b, tests)
	b = append(b, `" failures="`...)
	b = appendInt(b, failures)
	b = append(b, `" errors="`...)
	b = appendInt(b, errors)
	return append(b, `">`...)
}

// appendSuiteStart writes the start of a check's suite, up to its first
// test case.
func appendSuiteStart(b []byte, s *suite) []byte {
	b = append(b, "\n  <testsuite name=\""...)
	b = appendEscaped(b, s.meta.ID)
	b = append(b, `" tests="`...)
	b = appendInt(b, s.tests())
	b = append(b, `" failures="`...)
	b = appendInt(b, s.failures)
	b = append(b, `" errors="0" skipped="`...)
	b = appendInt(b, s.skipped)
	b = append(b, "\">\n    <properties>"...)
	if s.meta.Title != "" {
		b = append(b, "\n      <property name=\"title\" value=\""...)
		b = appendEscaped(b, s.meta.Title)
		b = append(b, "\"></property>"...)
	}
	b = append(b, "\n      <property name=\"severity\" value=\""...)
	b = appendEscaped(b, s.meta.Severity.String())
	return append(b, "\"></property>\n    </properties>"...)
}

// appendNoFindings writes the one passing test case of a check without
// findings.
func appendNoFindings(b []byte, id string) []byte {
	b = append(b, "\n    <testcase name=\"no findings\" classname=\""...)
	b = appendEscaped(b, id)
	return append(b, "\"></testcase>"...)
}

// appendErrorsSuiteStart writes the start tag of the input-errors suite,
// which has no properties.
func appendErrorsSuiteStart(b []byte, errors int) []byte {
	b = append(b, "\n  <testsuite name=\""+inputErrorsSuite+"\" tests=\""...)
	b = appendInt(b, errors)
	b = append(b, `" failures="0" errors="`...)
	b = appendInt(b, errors)
	return append(b, `" skipped="0">`...)
}

// appendCaseStart writes the start tag of a finding's test case, named by
// its object and place, which tell two findings of one check apart.
func appendCaseStart(b []byte, f *check.Finding) []byte {
	b = append(b, "\n    <testcase name=\""...)
	if f.Object != nil {
		b = appendObjectName(b, f.Object, appendEscaped)
		b = append(b, " at "...)
	}
	b = appendPlace(b, f.Location.File, f.Location.Line, f.Location.Column, appendEscaped)
	b = append(b, `" classname="`...)
	b = appendEscaped(b, f.Check)
	return appendFileAttr(b, f.Location.File)
}

func appendFileAttr(b []byte, file string) []byte {
	if file != "" {
		b = append(b, `" file="`...)
		b = appendEscaped(b, file)
	}
	return append(b, `">`...)
}

// appendFailure writes the test case of a finding, failed. fix is the
// check's remediation on one line, if hasFix.
func (e *encoder) appendFailure(b []byte, f *check.Finding, fix string, hasFix bool) []byte {
	b = appendCaseStart(b, f)
	b = append(b, "\n      <failure message=\""...)
	b = appendEscaped(b, f.Message)
	b = append(b, `" type="`...)
	sev := f.Severity.String()
	b = appendEscaped(b, sev)
	b = append(b, `">`...)

	// The details: what a reader needs to find and fix the finding.
	t := appendPlace(e.text[:0], f.Location.File, f.Location.Line, f.Location.Column, appendXMLText)
	t = append(t, ": "...)
	t = appendXMLText(t, f.Message)
	if o := f.Object; o != nil {
		t = append(t, "\nobject: "...)
		t = appendObjectName(t, o, appendXMLText)
		if o.Origin != "" {
			t = append(t, " (from "...)
			t = appendXMLText(t, o.Origin)
			t = append(t, ')')
		}
	}
	if f.Path != "" {
		t = append(t, "\npath: "...)
		t = appendXMLText(t, f.Path)
	}
	if tr := f.Trace(); tr != nil {
		t = append(t, "\ntemplate: "...)
		t = appendXMLText(t, TemplateNote(tr))
	}
	t = append(t, "\nseverity: "...)
	t = appendXMLText(t, sev)
	if hasFix {
		t = append(t, "\nfix: "...)
		t = appendXMLText(t, fix)
	}
	e.text = t
	b = appendCDATA(b, t)
	return append(b, "</failure>\n    </testcase>"...)
}

// appendSkipped writes the test case of a suppressed finding, skipped.
func appendSkipped(b []byte, f *check.Finding) []byte {
	b = appendCaseStart(b, f)
	b = append(b, "\n      <skipped message=\"suppressed: "...)
	if f.Suppression() != nil {
		b = appendEscaped(b, f.Suppression().Reason)
	}
	return append(b, "\"></skipped>\n    </testcase>"...)
}

// appendInputError writes the test case of an input error, in error.
func (e *encoder) appendInputError(b []byte, ie *source.Error) []byte {
	b = append(b, "\n    <testcase name=\""...)
	b = appendPlace(b, ie.File, ie.Line, ie.Column, appendEscaped)
	b = append(b, "\" classname=\""+inputErrorsSuite...)
	b = appendFileAttr(b, ie.File)
	b = append(b, "\n      <error message=\""...)
	b = appendEscaped(b, ie.Message)
	b = append(b, `" type="input-error">`...)
	t := appendPlace(e.text[:0], ie.File, ie.Line, ie.Column, appendXMLText)
	t = append(t, ": "...)
	t = appendXMLText(t, ie.Message)
	e.text = t
	b = appendCDATA(b, t)
	return append(b, "</error>\n    </testcase>"...)
}

// The text of a name or failure is written in pieces, each escaped or
// cleaned on its own by an appender. Both go rune by rune, and the pieces
// are joined by ASCII, so that they come out as their join would.
type appender func(b []byte, s string) []byte

// appendObjectName writes Kind/namespace/name, or Kind/name when the
// manifest sets no namespace.
func appendObjectName(b []byte, o *check.ObjectRef, app appender) []byte {
	b = app(b, o.Kind)
	b = append(b, '/')
	if o.Namespace != "" {
		b = app(b, o.Namespace)
		b = append(b, '/')
	}
	return app(b, o.Name)
}

// appendPlace writes file:line:col, leaving out what is unknown (zero).
func appendPlace(b []byte, file string, line, col int, app appender) []byte {
	b = app(b, file)
	if line > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(line), 10)
		if col > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(col), 10)
		}
	}
	return b
}

func appendInt(b []byte, n int) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}

// inCharacterRange reports whether XML 1.0 allows r.
func inCharacterRange(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// appendEscaped writes s escaped as encoding/xml escapes an attribute
// value: markup characters and white space other than the space as
// character references, and what XML does not allow, invalid UTF-8
// included, as U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default:
				if c >= 0x20 {
					i++
					continue
				}
				esc = "\uFFFD"
			}
		} else {
			var r rune
			r, width = utf8.DecodeRuneInString(s[i:])
			if inCharacterRange(r) && (r != utf8.RuneError || width != 1) {
				i += width
				continue
			}
			esc = "\uFFFD"
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		i += width
		start = i
	}
	return append(b, s[start:]...)
}

// appendXMLText writes s with the characters XML 1.0 does not allow (most
// control characters), and each byte of invalid UTF-8, replaced by U+FFFD.
// encoding/xml does that when it escapes text and attributes, but not in
// CDATA.
func appendXMLText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		width := 1
		if c < utf8.RuneSelf {
			if c >= 0x20 || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
		} else {
			var r rune
			r, width = utf8.DecodeRuneInString(s[i:])
			if inCharacterRange(r) && (r != utf8.RuneError || width != 1) {
				i += width
				continue
			}
		}
		b = append(b, s[start:i]...)
		b = append(b, "\uFFFD"...)
		i += width
		start = i
	}
	return append(b, s[start:]...)
}

var cdataEnd = []byte("]]>")

// appendCDATA writes text as a CDATA section, as encoding/xml does: nothing
// when text is empty, and "]]>" split across two sections so that it does
// not end the first.
func appendCDATA(b, text []byte) []byte {
	if len(text) == 0 {
		return b
	}
	b = append(b, "<![CDATA["...)
	for {
		before, after, ok := bytes.Cut(text, cdataEnd)
		if !ok {
			break
		}
		b = append(b, before...)
		b = append(b, "]]]]><![CDATA[>"...)
		text = after
	}
	b = append(b, text...)
	return append(b, "]]>"...)
}

// TemplateNote says how a rendered object's finding was placed in its
// template (the details line "template: ...").
func TemplateNote(t *object.Trace) string {
	rendered := "rendered line " + strconv.Itoa(t.Rendered)
	if t.Uncertain != "" {
		return "line unknown (" + t.Uncertain + "); " + rendered
	}
	s := "line " + strconv.Itoa(t.Line)
	switch t.Via {
	case object.TraceKey:
		s += " holds the field"
	case object.TraceEmitted:
		s += " emits the field"
	case object.TraceParent:
		s += " holds the field's nearest parent"
	}
	s += "; " + rendered
	if t.ValueFile != "" {
		s += "; value set at " + t.ValueFile + ":" + strconv.Itoa(t.ValueLine)
	}
	return s
}
