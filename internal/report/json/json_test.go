package json

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
)

func render(t *testing.T, res *scan.Result, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, res, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, c := range reporttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got := render(t, c.Result, Options{Version: reporttest.Version})
			reporttest.Golden(t, filepath.Join("testdata", c.Name+".golden"), got)
		})
	}
}

// decode reads a document generically, as a consumer in another language
// would, so that the test sees the contract and not the Go types.
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	return doc
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keys(m); !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

func TestContract(t *testing.T) {
	doc := decode(t, render(t, reporttest.Full(), Options{Version: "9.9.9"}))
	wantKeys(t, "document", doc, "version", "findings", "suppressed", "errors", "summary")
	if doc["version"] != "9.9.9" {
		t.Errorf("version = %v", doc["version"])
	}

	findings := doc["findings"].([]any)
	if len(findings) != 7 {
		t.Fatalf("%d findings, want 7", len(findings))
	}
	first := findings[0].(map[string]any)
	wantKeys(t, "finding", first, "check", "severity", "message", "remediation", "fixable", "object", "location", "path")
	want := map[string]any{
		"check":       "run-as-non-root",
		"severity":    "high",
		"message":     `container "api" must set securityContext.runAsNonRoot=true`,
		"remediation": "Set securityContext.runAsNonRoot to true\nand runAsUser to a UID of 10000 or more.",
		"fixable":     true,
		"object":      map[string]any{"kind": "Deployment", "name": "web", "namespace": "shop", "apiVersion": "apps/v1"},
		"location":    map[string]any{"file": "deploy/web.yaml", "line": json.Number("18"), "column": json.Number("9")},
		"path":        "spec.template.spec.containers[0]",
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first finding =\n%#v\nwant\n%#v", first, want)
	}

	// origin only when the object has one.
	withOrigin := findings[4].(map[string]any)["object"].(map[string]any)
	if withOrigin["origin"] != "helm chart shop: templates/worker.yaml" {
		t.Errorf("object with origin = %v", withOrigin)
	}
	// A finding outside objects has object null, present.
	config := findings[6].(map[string]any)
	if v, ok := config["object"]; !ok || v != nil {
		t.Errorf("config finding object = %v (present %v), want null", v, ok)
	}

	suppressed := doc["suppressed"].([]any)
	if len(suppressed) != 2 {
		t.Fatalf("%d suppressed, want 2", len(suppressed))
	}
	for i, wantSup := range []map[string]any{
		{"kind": "config", "reason": "vendor image, pinned upstream", "source": ".kubeharden.yaml:12"},
		{"kind": "annotation", "reason": "initdb needs root; tracked in SEC-12", "source": "ignore.kubeharden.io/run-as-non-root"},
	} {
		s := suppressed[i].(map[string]any)
		wantKeys(t, "suppressed finding", s, "check", "severity", "message", "remediation", "fixable", "object", "location", "path", "suppression")
		if !reflect.DeepEqual(s["suppression"], any(wantSup)) {
			t.Errorf("suppressed[%d].suppression = %v, want %v", i, s["suppression"], wantSup)
		}
	}
	for _, f := range findings {
		if _, ok := f.(map[string]any)["suppression"]; ok {
			t.Error("unsuppressed finding has a suppression")
		}
	}

	errs := doc["errors"].([]any)
	if len(errs) != 3 {
		t.Fatalf("%d errors, want 3", len(errs))
	}
	wantErr := map[string]any{"file": "deploy/broken.yaml", "line": json.Number("3"), "column": json.Number("0"), "message": "invalid YAML: mapping values are not allowed in this context"}
	if !reflect.DeepEqual(errs[1], any(wantErr)) {
		t.Errorf("errors[1] = %v, want %v", errs[1], wantErr)
	}

	summary := doc["summary"].(map[string]any)
	wantSummary := map[string]any{
		"files": json.Number("5"), "objects": json.Number("6"), "findings": json.Number("7"),
		"suppressed": json.Number("2"), "errors": json.Number("3"),
		"bySeverity": map[string]any{
			"critical": json.Number("1"), "high": json.Number("1"), "medium": json.Number("2"),
			"low": json.Number("2"), "info": json.Number("1"),
		},
		"byCheck": map[string]any{
			"automount-service-account-token": json.Number("1"), "expired-exemption": json.Number("1"),
			"image-tag": json.Number("1"), "privileged-container": json.Number("1"),
			"resource-limits": json.Number("2"), "run-as-non-root": json.Number("1"),
		},
	}
	if !reflect.DeepEqual(summary, wantSummary) {
		t.Errorf("summary =\n%v\nwant\n%v", summary, wantSummary)
	}
}

func TestEmptyArraysAreNotNull(t *testing.T) {
	out := render(t, &scan.Result{}, Options{})
	doc := decode(t, out)
	for _, k := range []string{"findings", "suppressed", "errors"} {
		if a, ok := doc[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s = %#v, want []", k, doc[k])
		}
	}
	summary := doc["summary"].(map[string]any)
	if m, ok := summary["byCheck"].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("byCheck = %#v, want {}", summary["byCheck"])
	}
	if bs := summary["bySeverity"].(map[string]any); len(bs) != 5 {
		t.Errorf("bySeverity = %v, want all five severities", bs)
	}
	if bytes.Contains(out, []byte("null")) {
		t.Errorf("null in an empty report:\n%s", out)
	}
}

func TestKeyOrderIsStable(t *testing.T) {
	out := string(render(t, reporttest.Full(), Options{}))
	// bySeverity keeps severity order, not alphabetical.
	if i, j := strings.Index(out, `"critical"`), strings.Index(out, `"info"`); i < 0 || j < i {
		t.Errorf("bySeverity out of order:\n%s", out)
	}
	for range 5 {
		if again := string(render(t, reporttest.Full(), Options{})); again != out {
			t.Fatal("two renderings of one result differ")
		}
	}
}

func TestHTMLIsNotEscaped(t *testing.T) {
	out := render(t, reporttest.Full(), Options{})
	if !bytes.Contains(out, []byte(`latest\" & its tag`)) || bytes.Contains(out, []byte(`\u0026`)) {
		t.Error("& is escaped; messages should stay readable")
	}
}

func TestSeverityIsAWord(t *testing.T) {
	for _, s := range []check.Severity{check.Info, check.Low, check.Medium, check.High, check.Critical} {
		res := &scan.Result{Findings: []check.Finding{{Check: "c", Severity: s}}}
		doc := decode(t, render(t, res, Options{}))
		f := doc["findings"].([]any)[0].(map[string]any)
		if f["severity"] != s.String() {
			t.Errorf("severity %d written as %v, want %q", s, f["severity"], s.String())
		}
		if n := doc["summary"].(map[string]any)["bySeverity"].(map[string]any)[s.String()]; n != json.Number("1") {
			t.Errorf("bySeverity[%s] = %v, want 1", s, n)
		}
	}
}

// With a baseline, the document is still exactly what encoding/json would
// indent: the hand-written status field included.
func TestBaselineIndent(t *testing.T) {
	for _, c := range reporttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			old := &baseline.Report{Name: "old.json", Version: "v0.9.0"}
			if len(c.Result.Findings) > 1 {
				old.Findings = c.Result.Findings[1:]
			}
			old.Findings = append(old.Findings, check.Finding{Check: "gone", Message: "m"})
			cmp := baseline.Compare(old, c.Result.Findings, c.Result.Suppressed)
			got := render(t, c.Result, Options{Version: reporttest.Version, Baseline: cmp})
			var want bytes.Buffer
			if err := json.Indent(&want, got, "", "  "); err != nil {
				t.Fatalf("%v:\n%s", err, got)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("not indented as encoding/json would:\n%s", got)
			}
			doc := decode(t, got)
			fs := doc["findings"].([]any)
			for i, f := range fs {
				if want := cmp.Of(i).String(); f.(map[string]any)["baseline"] != want {
					t.Errorf("findings[%d].baseline = %v, want %s", i, f.(map[string]any)["baseline"], want)
				}
			}
			if n := len(doc["fixed"].([]any)); n != len(cmp.Fixed) || n == 0 {
				t.Errorf("%d fixed, want %d", n, len(cmp.Fixed))
			}
		})
	}
}
