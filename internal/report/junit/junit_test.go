package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

func render(t *testing.T, res *scan.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, c := range reporttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got := render(t, c.Result)
			reporttest.Golden(t, filepath.Join("testdata", c.Name+".golden"), got)
			wellFormed(t, got)
		})
	}
}

// wellFormed reads every token, which fails on any XML syntax error, and
// checks the counts of each suite against its test cases.
func wellFormed(t *testing.T, data []byte) testSuites {
	t.Helper()
	if !bytes.HasPrefix(data, []byte(xml.Header)) {
		t.Error("no XML declaration")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, data)
		}
	}
	// Read it back into types of the reader's own, not this package's, so
	// that a field the writer forgets to tag shows up.
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name      string    `xml:"name,attr"`
				Classname string    `xml:"classname,attr"`
				Failure   *struct{} `xml:"failure"`
				Error     *struct{} `xml:"error"`
				Skipped   *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var tests, failures, errs int
	for _, s := range doc.Suites {
		var f, e, sk int
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" {
				t.Errorf("suite %s: test case without name or classname", s.Name)
			}
			if c.Failure != nil {
				f++
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
			t.Errorf("suite %s: tests=%d failures=%d errors=%d skipped=%d, but has %d cases, %d failed, %d in error, %d skipped",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
		}
		tests += s.Tests
		failures += s.Failures
		errs += s.Errors
	}
	if doc.Tests != tests || doc.Failures != failures || doc.Errors != errs {
		t.Errorf("testsuites: tests=%d failures=%d errors=%d, suites add up to %d, %d, %d", doc.Tests, doc.Failures, doc.Errors, tests, failures, errs)
	}
	var full testSuites
	if err := xml.Unmarshal(data, &full); err != nil {
		t.Fatal(err)
	}
	return full
}

func TestFull(t *testing.T) {
	res := reporttest.Full()
	doc := wellFormed(t, render(t, res))

	var names []string
	suites := map[string]testSuite{}
	for _, s := range doc.Suites {
		names = append(names, s.Name)
		suites[s.Name] = s
	}
	want := "automount-service-account-token expired-exemption host-namespaces image-tag invalid-suppression privileged-container resource-limits run-as-non-root input-errors"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("suites = %s\nwant     %s", got, want)
	}
	if doc.Tests != 14 || doc.Failures != 7 || doc.Errors != 3 {
		t.Errorf("totals: tests=%d failures=%d errors=%d, want 14, 7, 3", doc.Tests, doc.Failures, doc.Errors)
	}

	// A check without findings passes.
	if c := suites["host-namespaces"].Cases; len(c) != 1 || c[0].Name != "no findings" || c[0].Failure != nil || c[0].Skipped != nil {
		t.Errorf("host-namespaces cases = %+v, want one passing case", c)
	}

	priv := suites["privileged-container"]
	if len(priv.Cases) != 1 {
		t.Fatalf("privileged-container has %d cases", len(priv.Cases))
	}
	c := priv.Cases[0]
	if c.Name != "Deployment/shop/web at deploy/web.yaml:21:13" || c.Classname != "privileged-container" || c.File != "deploy/web.yaml" {
		t.Errorf("case = %+v", c)
	}
	if c.Failure == nil || c.Failure.Type != "critical" || c.Failure.Message != `container "api" must not set securityContext.privileged=true` {
		t.Fatalf("failure = %+v", c.Failure)
	}
	for _, want := range []string{"deploy/web.yaml:21:13: container", "object: Deployment/shop/web", "path: spec.template.spec.containers[0].securityContext.privileged", "fix: Set securityContext.privileged to false."} {
		if !strings.Contains(c.Failure.Text, want) {
			t.Errorf("failure text lacks %q:\n%s", want, c.Failure.Text)
		}
	}

	img := suites["image-tag"]
	if img.Failures != 1 || img.Skipped != 1 || len(img.Cases) != 2 {
		t.Fatalf("image-tag suite = %+v", img)
	}
	if s := img.Cases[1].Skipped; s == nil || s.Message != "suppressed: vendor image, pinned upstream" {
		t.Errorf("skipped = %+v", s)
	}
	if !strings.Contains(img.Cases[0].Failure.Text, "(from helm chart shop: templates/worker.yaml)") {
		t.Errorf("origin missing from %q", img.Cases[0].Failure.Text)
	}

	exp := suites["expired-exemption"].Cases[0]
	if exp.Name != ".kubeharden.yaml:7:1" || strings.Contains(exp.Failure.Text, "object:") {
		t.Errorf("finding without object: %+v", exp)
	}

	in := suites["input-errors"]
	if in.Errors != 3 || len(in.Cases) != 3 {
		t.Fatalf("input-errors = %+v", in)
	}
	if e := in.Cases[1]; e.Name != "deploy/broken.yaml:3" || e.Error == nil || e.Error.Type != "input-error" ||
		e.Error.Message != "invalid YAML: mapping values are not allowed in this context" {
		t.Errorf("input error case = %+v", e)
	}
}

func TestNoInputErrorsSuiteWithoutErrors(t *testing.T) {
	doc := wellFormed(t, render(t, reporttest.Clean()))
	for _, s := range doc.Suites {
		if s.Name == inputErrorsSuite {
			t.Error("input-errors suite without input errors")
		}
		if s.Failures != 0 || s.Tests != 1 {
			t.Errorf("clean suite %s = %+v", s.Name, s)
		}
	}
}

func TestAwkwardTextStaysWellFormed(t *testing.T) {
	res := &scan.Result{
		Findings: []check.Finding{{
			Check: "image-tag", Severity: check.Low,
			Message:  "quotes \" ' <tags> & ]]> and \x00\x1b\x7f control\ncharacters",
			Object:   &check.ObjectRef{Kind: "Pod", Name: "a<b>&\"c\""},
			Location: check.Location{File: "dir/<weird> & \"name\".yaml", Line: 1, Column: 1},
		}},
		Errors: []source.Error{{File: "x]]>.yaml", Message: "bad \x01 byte"}},
		Checks: []check.Meta{{ID: "image-tag", Title: `"Mutable" <tag> & more`, Remediation: "a\n\tb"}},
	}
	doc := wellFormed(t, render(t, res))
	f := doc.Suites[0].Cases[0].Failure
	if f == nil || !strings.HasPrefix(f.Message, `quotes " ' <tags> & ]]> and`) {
		t.Errorf("failure message did not round-trip: %+v", f)
	}
	if !strings.Contains(f.Text, "<tags> & ]]> and \uFFFD\uFFFD\x7f control\ncharacters") {
		t.Errorf("failure text did not round-trip: %q", f.Text)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := Render(failingWriter{}, reporttest.Full()); err == nil {
		t.Error("Render() = nil, want the writer's error")
	}
}
