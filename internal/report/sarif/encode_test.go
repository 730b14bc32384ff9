package sarif

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

var awkward = []string{
	"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\x7f \b\f\n\r\t", "<html> & more ]]> 'single'",
	"bad utf8 \xff\xfe end", "line sep \u2028 para \u2029", "émoji 🚀 ünïcode \ufffd \uffff", "\xe2\x80", "tail \\",
	"/abs/dir/my file.yaml", "a#b?c%d:e", "c:odd.yaml", "../up/./x//y.yaml", "\xed\xa0\x80 surrogate",
}

// awkwardResult puts s, and the n-th variation of everything optional, in
// every field a result, rule or notification is written from.
func awkwardResult(s string, n int) *scan.Result {
	sev := check.Severity(n%7 - 1) // includes out-of-range severities
	obj := func(i int) *check.ObjectRef {
		switch i % 5 {
		case 0:
			return nil
		case 1:
			return &check.ObjectRef{Kind: s, Name: s, Namespace: s, APIVersion: s, Origin: s}
		case 2:
			return &check.ObjectRef{Kind: s, Name: "n"}
		case 3:
			return &check.ObjectRef{Kind: "Pod", Name: s, Origin: s}
		}
		return &check.ObjectRef{Kind: "Pod", Name: "p", Namespace: s, APIVersion: "v1"}
	}
	sup := func(i int) *check.Suppression {
		switch i % 4 {
		case 0:
			return nil
		case 1:
			return &check.Suppression{Kind: "annotation", Reason: s, Source: s}
		case 2:
			return &check.Suppression{Kind: s, Reason: s}
		}
		return &check.Suppression{Kind: "config", Reason: "r", Source: "cfg:1"}
	}
	files := []string{s, "", "deploy/web.yaml", "/abs/" + s}
	var fs, sups []check.Finding
	for i := range 8 {
		f := check.Finding{
			Check:    []string{s, "image-tag", "gone", "privileged-container"}[(i+n)%4],
			Severity: sev,
			Message:  s,
			Object:   obj(i + n),
			Location: check.Location{File: files[(i+n)%len(files)], Line: (i+n)%3 - 1, Column: (i*7+n)%3 - 1},
			Path:     []string{s, ""}[i%2],
		}
		if (i+n)%3 == 0 {
			f.SetVulnerability(&check.Vulnerability{ID: s, Aliases: [][]string{nil, {s}, {s, "CVE-1"}}[(i+n)%3], Package: s, Ecosystem: s, PURL: s, Installed: s, Fixed: s, Score: float64((i+n)%101) / 10})
		}
		f.SetSuppression(sup(i + n))
		switch (i + n) % 3 {
		case 1:
			f.SetTrace(&object.Trace{Line: 2, Column: 1, Via: s, Rendered: i, ValueFile: files[(i+n)%len(files)], ValueLine: i})
		case 2:
			f.SetTrace(&object.Trace{Rendered: n, Uncertain: s})
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
	checks = append(checks, check.Meta{ID: s, Title: s, Severity: sev, Description: s, Remediation: s, References: []string{s, s}}, checks[0])
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

func matchesReference(t *testing.T, res *scan.Result, opts Options) {
	t.Helper()
	var got, want bytes.Buffer
	if err := Render(&got, res, opts); err != nil {
		t.Fatal(err)
	}
	if err := renderReference(&want, res, opts); err != nil {
		t.Fatal(err)
	}
	reporttest.SameBytes(t, got.Bytes(), want.Bytes(), "encoding/json")
}

func TestMatchesReference(t *testing.T) {
	for _, c := range reporttest.Cases() {
		matchesReference(t, c.Result, testOptions)
		matchesReference(t, c.Result, Options{})
	}
	matchesReference(t, &scan.Result{}, Options{})
	// With a baseline: every other finding of each case was in it.
	for _, c := range reporttest.Cases() {
		old := &baseline.Report{}
		for i, f := range c.Result.Findings {
			if i%2 == 0 {
				old.Findings = append(old.Findings, f)
			}
		}
		cmp := baseline.Compare(old, c.Result.Findings, c.Result.Suppressed)
		if len(c.Result.Findings) > 1 && (cmp.New == 0 || cmp.Unchanged == 0) {
			t.Fatalf("%s: %d new, %d unchanged", c.Name, cmp.New, cmp.Unchanged)
		}
		matchesReference(t, c.Result, Options{Version: "v1", Baseline: cmp})
	}
	for i, s := range awkward {
		for n := range 8 {
			matchesReference(t, awkwardResult(s, n+i), Options{Version: s, InformationURI: s})
		}
	}
}

func FuzzMatchesReference(f *testing.F) {
	for i, s := range awkward {
		f.Add(s, i)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		matchesReference(t, awkwardResult(s, n&0xff), Options{Version: s})
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := Render(failingWriter{}, reporttest.Full(), testOptions); err == nil {
		t.Error("Render() = nil, want the writer's error")
	}
	// Past the first buffer, too.
	res := awkwardResult("x", 0)
	for range 12 {
		res.Findings = append(res.Findings, res.Findings...)
	}
	if err := Render(failingWriter{}, res, testOptions); err == nil {
		t.Error("Render() of a large result = nil, want the writer's error")
	}
}
