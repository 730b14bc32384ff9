package json

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
)

// reflective is appendFinding done by encoding/json: each finding encoded
// on its own into a buffer reused, with its parts reused too so that a
// finding costs no allocation. BenchmarkRenderLarge measures it against
// appendFinding.
type reflective struct {
	buf bytes.Buffer
	enc *json.Encoder
	f   finding
	obj object
	sup suppression
}

func newReflective() *reflective {
	r := &reflective{}
	r.enc = json.NewEncoder(&r.buf)
	r.enc.SetIndent("    ", "  ")
	r.enc.SetEscapeHTML(false)
	return r
}

func (r *reflective) appendFinding(b []byte, f *check.Finding, remediation string, fixable bool) []byte {
	r.f = finding{
		Check:       f.Check,
		Severity:    f.Severity.String(),
		Message:     f.Message,
		Remediation: remediation,
		Fixable:     fixable,
		Location:    location{File: f.Location.File, Line: f.Location.Line, Column: f.Location.Column},
		Path:        f.Path,
	}
	if o := f.Object; o != nil {
		r.obj = object{Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, APIVersion: o.APIVersion, Origin: o.Origin}
		r.f.Object = &r.obj
	}
	if s := f.Suppression(); s != nil {
		r.sup = suppression{Kind: s.Kind, Reason: s.Reason, Source: s.Source}
		r.f.Suppression = &r.sup
	}
	r.buf.Reset()
	if err := r.enc.Encode(&r.f); err != nil {
		panic(err) // a finding is strings and numbers
	}
	return append(b, bytes.TrimSuffix(r.buf.Bytes(), []byte("\n"))...)
}

// BenchmarkRenderLarge renders a report of 100,000 findings and 10,000
// suppressed ones with the hand-written appendFinding and with
// encoding/json encoding each finding into a reused buffer: what the choice
// of encoder is made by.
func BenchmarkRenderLarge(b *testing.B) {
	res := reporttest.Large(100_000)
	opts := Options{Version: reporttest.Version}
	for _, c := range []struct {
		name   string
		append findingAppender
	}{
		{"hand-written", nil},
		{"encoding-json", newReflective().appendFinding},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := renderWith(io.Discard, res, opts, c.append); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReflectiveRendersTheSame keeps BenchmarkRenderLarge honest: both
// encoders it measures write the same report.
func TestReflectiveRendersTheSame(t *testing.T) {
	res := reporttest.Large(1000)
	var hand, refl bytes.Buffer
	if err := renderWith(&hand, res, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := renderWith(&refl, res, Options{}, newReflective().appendFinding); err != nil {
		t.Fatal(err)
	}
	reporttest.SameBytes(t, hand.Bytes(), refl.Bytes(), "encoding/json")
}
