package baseline_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/report/json"
	"github.com/kubeharden/kubeharden/internal/scan"
)

func finding(checkID, file string, line int, name, path, msg string) check.Finding {
	return check.Finding{Check: checkID, Severity: check.High, Message: msg, Path: path,
		Location: check.Location{File: file, Line: line, Column: 3},
		Object:   &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: name}}
}

// A report the json renderer writes reads back as the same findings.
func TestReadsTheJSONReport(t *testing.T) {
	res := &scan.Result{
		Findings: []check.Finding{
			finding("privileged-container", "deploy/web.yaml", 21, "web", "spec.template.spec.containers[0].securityContext.privileged", `container "api" must not set <x> & "y"`),
			{Check: "apt-no-recommends", Severity: check.Low, Message: "m", Location: check.Location{File: "Dockerfile", Line: 4, Column: 1}},
		},
		Suppressed: []check.Finding{{Check: "image-tag", Severity: check.Low, Message: "s", Extra: &check.Extra{Suppression: &check.Suppression{Kind: "config", Reason: "r", Source: ".kubeharden.yaml:3"}}}},
	}
	res.Findings[0].Object.Origin = "templates/web.yaml"
	var buf bytes.Buffer
	if err := json.Render(&buf, res, json.Options{Version: "v1.4.0"}); err != nil {
		t.Fatal(err)
	}
	rep, err := baseline.Parse(buf.Bytes(), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "v1.4.0" || rep.Name != "old.json" || len(rep.Findings) != 2 {
		t.Fatalf("got version %q, name %q, %d findings", rep.Version, rep.Name, len(rep.Findings))
	}
	for i := range rep.Findings {
		got, want := rep.Findings[i], res.Findings[i]
		if got.Check != want.Check || got.Severity != want.Severity || got.Message != want.Message || got.Path != want.Path ||
			got.Location != want.Location || (got.Object == nil) != (want.Object == nil) || (got.Object != nil && *got.Object != *want.Object) {
			t.Errorf("finding %d: got %+v, want %+v", i, got, want)
		}
	}
	// The scan compared with its own report: nothing new, nothing fixed.
	c := baseline.Compare(rep, res.Findings, res.Suppressed)
	if c.New != 0 || c.Unchanged != 2 || len(c.Fixed) != 0 {
		t.Errorf("self comparison: %d new, %d unchanged, %d fixed", c.New, c.Unchanged, len(c.Fixed))
	}
}

// A JSON report with --baseline carries each finding's status, the fixed
// findings and a summary; read as a baseline in turn, its fixed findings
// are not findings.
func TestJSONWithBaseline(t *testing.T) {
	old := &baseline.Report{Name: "old.json", Version: "v1.0.0", Findings: []check.Finding{
		finding("a", "web.yaml", 3, "web", "spec.a", "m"),
		finding("gone", "web.yaml", 9, "web", "spec.g", "m"),
	}}
	res := &scan.Result{Findings: []check.Finding{
		finding("a", "web.yaml", 13, "web", "spec.a", "m"),
		finding("b", "web.yaml", 14, "web", "spec.b", "m"),
	}}
	cmp := baseline.Compare(old, res.Findings, nil)
	var buf bytes.Buffer
	if err := json.Render(&buf, res, json.Options{Version: "v1.1.0", Baseline: cmp}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct {
			Check    string `json:"check"`
			Baseline string `json:"baseline"`
		} `json:"findings"`
		Fixed []struct {
			Check    string `json:"check"`
			Baseline *string
		} `json:"fixed"`
		Summary struct {
			Baseline map[string]any `json:"baseline"`
		} `json:"summary"`
	}
	if err := stdjson.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	if len(doc.Findings) != 2 || doc.Findings[0].Baseline != "unchanged" || doc.Findings[1].Baseline != "new" {
		t.Errorf("findings = %+v, want a unchanged, b new", doc.Findings)
	}
	if len(doc.Fixed) != 1 || doc.Fixed[0].Check != "gone" || doc.Fixed[0].Baseline != nil {
		t.Errorf("fixed = %+v, want gone without a status", doc.Fixed)
	}
	want := map[string]any{"report": "old.json", "version": "v1.0.0", "new": 1.0, "unchanged": 1.0, "fixed": 1.0, "nowSuppressed": 0.0}
	if !reflect.DeepEqual(doc.Summary.Baseline, want) {
		t.Errorf("summary.baseline = %v, want %v", doc.Summary.Baseline, want)
	}
	again, err := baseline.Parse(buf.Bytes(), "new.json")
	if err != nil || len(again.Findings) != 2 || again.Version != "v1.1.0" {
		t.Fatalf("reading it back: %v, %+v", err, again)
	}

	// Without a baseline, none of it.
	buf.Reset()
	if err := json.Render(&buf, res, json.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"baseline"`, `"fixed"`} {
		if bytes.Contains(buf.Bytes(), []byte(field)) {
			t.Errorf("report without --baseline has %s:\n%s", field, buf.Bytes())
		}
	}
}

// BenchmarkLoad reads the JSON report of 100,000 findings (about 78 MB)
// as a baseline.
func BenchmarkLoad(b *testing.B) {
	res := &scan.Result{Findings: make([]check.Finding, 100_000)}
	for i := range res.Findings {
		res.Findings[i] = finding("run-as-non-root", "deploy/N100k.yaml", 10*i+1, "web-"+strconv.Itoa(i), "spec.template.spec.containers[0]",
			`container "app" must set securityContext.runAsNonRoot=true or runAsUser > 0`)
	}
	res.Checks = []check.Meta{{ID: "run-as-non-root", Remediation: strings.Repeat("Set securityContext.runAsNonRoot to true. ", 6)}}
	path := filepath.Join(b.TempDir(), "base.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Render(f, res, json.Options{Version: "v1"}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	info, _ := os.Stat(path)
	b.SetBytes(info.Size())
	b.ReportAllocs()
	for b.Loop() {
		rep, err := baseline.Load(context.Background(), path, limits.Default())
		if err != nil || len(rep.Findings) != len(res.Findings) {
			b.Fatal(err)
		}
	}
}
