package junit

import (
	"bytes"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

var awkward = []string{
	"", "plain", `quote " and \ backslash 'single'`, "ctl \x00\x01\x1f\x7f \b\f\n\r\t", "<html> & more",
	"]]>", "a]]]>b]]>>]]", "bad utf8 \xff\xfe end", "line sep \u2028 para \u2029", "émoji 🚀 ünïcode",
	"\ufffd real, \uffff \ufffe not allowed", "\xe2\x80", "\xed\xa0\x80 surrogate", "spaces \u00a0\u0085 \v  wide",
	"tail ]]",
}

// awkwardResult puts s, and the n-th variation of everything optional, in
// every field a suite or test case is written from.
func awkwardResult(s string, n int) *scan.Result {
	sev := check.Severity(n%7 - 1) // includes out-of-range severities
	obj := func(i int) *check.ObjectRef {
		switch i % 4 {
		case 0:
			return nil
		case 1:
			return &check.ObjectRef{Kind: s, Name: s, Namespace: s, APIVersion: s, Origin: s}
		case 2:
			return &check.ObjectRef{Kind: s, Name: "n"}
		}
		return &check.ObjectRef{Kind: "Pod", Name: s, Namespace: "ns"}
	}
	files := []string{s, "", "deploy/web.yaml"}
	var fs, sups []check.Finding
	for i := range 9 {
		f := check.Finding{
			Check:    []string{s, "image-tag", "gone", "privileged-container", "zz" + s}[(i+n)%5],
			Severity: check.Severity((i+n)%7 - 1),
			Message:  s,
			Object:   obj(i + n),
			Location: check.Location{File: files[(i+n)%len(files)], Line: (i+n)%3 - 1, Column: (i*7+n)%3 - 1},
			Path:     []string{s, ""}[i%2],
		}
		switch (i + n) % 3 {
		case 1:
			f.SetTrace(&object.Trace{Line: 4, Column: 1, Via: object.TraceEmitted, Rendered: i, ValueFile: s, ValueLine: n})
		case 2:
			f.SetTrace(&object.Trace{Rendered: i, Uncertain: s})
		}
		if i%3 != 0 {
			f.SetSuppression(&check.Suppression{Kind: "annotation", Reason: s, Source: s})
		}
		fs = append(fs, f)
		f.Check = []string{"image-tag", "other-gone", s}[(i+n)%3]
		sups = append(sups, f)
	}
	var errs []source.Error
	for i := range 4 {
		errs = append(errs, source.Error{File: files[(i+n)%len(files)], Line: i - 1, Column: (i+n)%3 - 1, Message: s})
	}
	checks := reporttest.Checks()
	checks = append(checks,
		check.Meta{ID: s, Title: s, Severity: sev, Description: s, Remediation: " \t" + s + "\n " + s + " ", References: []string{s}},
		check.Meta{ID: "image-tag", Title: "a duplicate, ignored"},
		check.Meta{ID: "no-title", Severity: sev})
	res := &scan.Result{Checks: checks, Findings: fs, Suppressed: sups, Errors: errs}
	switch n % 4 {
	case 1:
		res.Findings = nil
	case 2:
		res.Suppressed = nil
	case 3:
		res.Errors = nil
	}
	return res
}

func matchesReference(t *testing.T, res *scan.Result) {
	t.Helper()
	var got, want bytes.Buffer
	if err := Render(&got, res); err != nil {
		t.Fatal(err)
	}
	if err := renderReference(&want, res); err != nil {
		t.Fatal(err)
	}
	reporttest.SameBytes(t, got.Bytes(), want.Bytes(), "encoding/xml")
}

func TestMatchesReference(t *testing.T) {
	for _, c := range reporttest.Cases() {
		matchesReference(t, c.Result)
	}
	matchesReference(t, &scan.Result{})
	matchesReference(t, &scan.Result{Errors: []source.Error{{Message: "no file"}}})
	matchesReference(t, &scan.Result{Suppressed: []check.Finding{{Check: "c"}}})
	for i, s := range awkward {
		for n := range 8 {
			matchesReference(t, awkwardResult(s, n+i))
		}
	}
}

func FuzzMatchesReference(f *testing.F) {
	for i, s := range awkward {
		f.Add(s, i)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		matchesReference(t, awkwardResult(s, n&0xff))
	})
}

func TestTemplateNote(t *testing.T) {
	for _, c := range []struct {
		tr   object.Trace
		want string
	}{
		{object.Trace{Line: 57, Via: object.TraceKey, Rendered: 42}, "line 57 holds the field; rendered line 42"},
		{object.Trace{Line: 60, Via: object.TraceEmitted, Rendered: 44, ValueFile: "c/values.yaml", ValueLine: 12},
			"line 60 emits the field; rendered line 44; value set at c/values.yaml:12"},
		{object.Trace{Line: 8, Via: object.TraceParent, Rendered: 9}, "line 8 holds the field's nearest parent; rendered line 9"},
		{object.Trace{Rendered: 3, Uncertain: "why"}, "line unknown (why); rendered line 3"},
	} {
		if got := TemplateNote(&c.tr); got != c.want {
			t.Errorf("TemplateNote(%+v) = %q, want %q", c.tr, got, c.want)
		}
	}
}
