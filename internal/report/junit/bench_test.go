package junit

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// reflective is the hand-written test case appenders done by encoding/xml:
// each test case encoded on its own into a buffer reused, from the types
// of renderReference, with its parts reused too. Names and texts are built
// as the hand-written appenders build them, because encoding/xml leaves
// CDATA as it is. BenchmarkRenderLarge measures it against the
// hand-written appenders.
type reflective struct {
	buf        bytes.Buffer
	enc        *xml.Encoder
	tc         testCase
	prob       problem
	skip       skipped
	name, text []byte
}

var testcase = xml.StartElement{Name: xml.Name{Local: "testcase"}}

func newReflective() appenders {
	r := &reflective{}
	r.enc = xml.NewEncoder(&r.buf)
	r.enc.Indent("    ", "  ")
	return appenders{failure: r.appendFailure, skipped: r.appendSkipped, inputError: r.appendInputError}
}

func verbatim(b []byte, s string) []byte { return append(b, s...) }

// startCase starts the test case of f, named as appendCaseStart names it.
func (r *reflective) startCase(f *check.Finding) {
	r.name = r.name[:0]
	if f.Object != nil {
		r.name = appendObjectName(r.name, f.Object, verbatim)
		r.name = append(r.name, " at "...)
	}
	r.name = appendPlace(r.name, f.Location.File, f.Location.Line, f.Location.Column, verbatim)
	r.tc = testCase{Name: string(r.name), Classname: f.Check, File: f.Location.File}
}

func (r *reflective) encode(b []byte) []byte {
	r.buf.Reset()
	if err := r.enc.EncodeElement(&r.tc, testcase); err != nil {
		panic(err) // a test case is strings
	}
	// encoding/xml starts the first element it writes without a newline.
	if !bytes.HasPrefix(r.buf.Bytes(), []byte("\n")) {
		b = append(b, '\n')
	}
	return append(b, r.buf.Bytes()...)
}

func (r *reflective) appendFailure(_ *encoder, b []byte, f *check.Finding, fix string, hasFix bool) []byte {
	r.startCase(f)
	t := appendPlace(r.text[:0], f.Location.File, f.Location.Line, f.Location.Column, appendXMLText)
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
	t = appendXMLText(t, f.Severity.String())
	if hasFix {
		t = append(t, "\nfix: "...)
		t = appendXMLText(t, fix)
	}
	r.text = t
	r.prob = problem{Message: f.Message, Type: f.Severity.String(), Text: string(t)}
	r.tc.Failure = &r.prob
	return r.encode(b)
}

func (r *reflective) appendSkipped(_ *encoder, b []byte, f *check.Finding) []byte {
	r.startCase(f)
	r.skip = skipped{Message: "suppressed: "}
	if f.Suppression() != nil {
		r.skip.Message += f.Suppression().Reason
	}
	r.tc.Skipped = &r.skip
	return r.encode(b)
}

func (r *reflective) appendInputError(_ *encoder, b []byte, ie *source.Error) []byte {
	place := string(appendPlace(r.name[:0], ie.File, ie.Line, ie.Column, verbatim))
	r.tc = testCase{Name: place, Classname: inputErrorsSuite, File: ie.File}
	r.prob = problem{Message: ie.Message, Type: "input-error", Text: refXMLText(place + ": " + ie.Message)}
	r.tc.Error = &r.prob
	return r.encode(b)
}

// BenchmarkRenderLarge renders a document of 100,000 findings and 10,000
// suppressed ones with the hand-written appenders and with encoding/xml
// encoding each test case into a reused buffer: what the choice of encoder
// is made by.
func BenchmarkRenderLarge(b *testing.B) {
	res := reporttest.Large(100_000)
	for _, c := range []struct {
		name string
		app  appenders
	}{
		{"hand-written", handWritten},
		{"encoding-xml", newReflective()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := renderWith(io.Discard, res, c.app); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReflectiveRendersTheSame keeps BenchmarkRenderLarge honest: both
// encoders it measures write the same document.
func TestReflectiveRendersTheSame(t *testing.T) {
	same := func(res *scan.Result) {
		t.Helper()
		var hand, refl bytes.Buffer
		if err := renderWith(&hand, res, handWritten); err != nil {
			t.Fatal(err)
		}
		if err := renderWith(&refl, res, newReflective()); err != nil {
			t.Fatal(err)
		}
		reporttest.SameBytes(t, refl.Bytes(), hand.Bytes(), "hand-written")
	}
	same(reporttest.Large(1000))
	for i, s := range awkward {
		same(awkwardResult(s, i))
	}
}
