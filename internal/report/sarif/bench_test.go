package sarif

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// reflective is appendResult and appendNotification done by encoding/json:
// each piece encoded on its own into a buffer reused, from the types of
// renderReference, with its parts reused too so that a piece costs few
// allocations. BenchmarkRenderLarge measures it against the hand-written
// appenders.
type reflective struct {
	buf       bytes.Buffer
	res, note *json.Encoder
	r         result
	loc       [1]location
	pl        physicalLocation
	reg       region
	ll        [1]logicalLocation
	llp       logicalLocationProperty
	sup       [1]suppression
	supp      suppressionProperties
	props     resultProperties
	n         notification
}

func newReflective() appenders {
	r := &reflective{}
	r.res = json.NewEncoder(&r.buf)
	r.res.SetIndent("        ", "  ")
	r.res.SetEscapeHTML(false)
	r.note = json.NewEncoder(&r.buf)
	r.note.SetIndent("            ", "  ")
	r.note.SetEscapeHTML(false)
	return appenders{result: r.appendResult, notification: r.appendNotification}
}

func (r *reflective) encode(b []byte, enc *json.Encoder, v any) []byte {
	r.buf.Reset()
	if err := enc.Encode(v); err != nil {
		panic(err) // a piece is strings and numbers
	}
	return append(b, bytes.TrimSuffix(r.buf.Bytes(), []byte("\n"))...)
}

func (r *reflective) physicalLocation(uri string, line, col int) *physicalLocation {
	if uri == "" {
		return nil
	}
	r.pl = physicalLocation{ArtifactLocation: artifactLocation{URI: uri}}
	if line >= 1 {
		r.reg = region{StartLine: line}
		if col >= 1 {
			r.reg.StartColumn = col
		}
		r.pl.Region = &r.reg
	}
	return &r.pl
}

func (r *reflective) appendResult(b []byte, f *check.Finding, ruleIndex int, uri string, suppressed bool) []byte {
	r.r = result{RuleID: f.Check, RuleIndex: ruleIndex, Level: level(f.Severity), Message: message{Text: f.Message}}
	loc := location{PhysicalLocation: r.physicalLocation(uri, f.Location.Line, f.Location.Column)}
	if o := f.Object; o != nil {
		fqn := o.Kind + "/" + o.Namespace + "/" + o.Name
		if o.Namespace == "" {
			fqn = o.Kind + "/" + o.Name
		}
		r.ll[0] = logicalLocation{Name: o.Name, FullyQualifiedName: fqn, Kind: "object"}
		if o.APIVersion != "" || o.Origin != "" {
			r.llp = logicalLocationProperty{APIVersion: o.APIVersion, Origin: o.Origin}
			r.ll[0].Properties = &r.llp
		}
		loc.LogicalLocations = r.ll[:]
	}
	if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
		r.loc[0] = loc
		r.r.Locations = r.loc[:]
	}
	r.r.Related = relatedLocations(f)
	if s := f.Suppression(); suppressed && s != nil {
		kind := "external"
		if s.Kind == "annotation" {
			kind = "inSource"
		}
		r.sup[0] = suppression{Kind: kind, Justification: s.Reason}
		if s.Source != "" {
			r.supp = suppressionProperties{Source: s.Source}
			r.sup[0].Properties = &r.supp
		}
		r.r.Suppressions = r.sup[:]
	}
	if tp := templateProps(f); f.Path != "" || tp != nil || f.Vulnerability() != nil {
		r.props = resultProperties{Path: f.Path, Template: tp}
		if v := f.Vulnerability(); v != nil {
			r.props.Vulnerability = &vulnerability{ID: v.ID, Aliases: v.Aliases, Package: v.Package, Ecosystem: v.Ecosystem, PURL: v.PURL, Installed: v.Installed, Fixed: v.Fixed, Score: v.Score}
		}
		r.r.Properties = &r.props
	}
	return r.encode(b, r.res, &r.r)
}

func (r *reflective) appendNotification(b []byte, e *source.Error, uri string) []byte {
	r.n = notification{Level: "error", Message: message{Text: e.Message}}
	if pl := r.physicalLocation(uri, e.Line, e.Column); pl != nil {
		r.loc[0] = location{PhysicalLocation: pl}
		r.n.Locations = r.loc[:]
	}
	return r.encode(b, r.note, &r.n)
}

// BenchmarkRenderLarge renders a log of 100,000 findings and 10,000
// suppressed ones with the hand-written appenders and with encoding/json
// encoding each result into a reused buffer: what the choice of encoder is
// made by.
func BenchmarkRenderLarge(b *testing.B) {
	res := reporttest.Large(100_000)
	for _, c := range []struct {
		name string
		app  appenders
	}{
		{"hand-written", handWritten},
		{"encoding-json", newReflective()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := renderWith(io.Discard, res, testOptions, c.app); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReflectiveRendersTheSame keeps BenchmarkRenderLarge honest: both
// encoders it measures write the same log.
func TestReflectiveRendersTheSame(t *testing.T) {
	same := func(res *scan.Result) {
		t.Helper()
		var hand, refl bytes.Buffer
		if err := renderWith(&hand, res, testOptions, handWritten); err != nil {
			t.Fatal(err)
		}
		if err := renderWith(&refl, res, testOptions, newReflective()); err != nil {
			t.Fatal(err)
		}
		reporttest.SameBytes(t, refl.Bytes(), hand.Bytes(), "hand-written")
	}
	same(reporttest.Large(1000))
	for i, s := range awkward {
		same(awkwardResult(s, i))
	}
}
