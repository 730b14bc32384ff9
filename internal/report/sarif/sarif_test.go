package sarif

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
)

var testOptions = Options{Version: reporttest.Version, InformationURI: "https://github.com/kubeharden/kubeharden"}

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
			got := render(t, c.Result, testOptions)
			reporttest.Golden(t, filepath.Join("testdata", c.Name+".golden"), got)
			validate(t, got)
		})
	}
}

// The validator below checks what the SARIF 2.1.0 schema requires of the
// parts this package writes, and what GitHub code scanning relies on. It
// reads the log generically so that it checks the bytes, not the Go types.

type obj = map[string]any

type validator struct {
	t    *testing.T
	errs []string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) object(path string, x any) obj {
	o, ok := x.(obj)
	if !ok {
		v.fail(path, "want an object, got %T", x)
	}
	return o
}

func (v *validator) array(path string, x any, min int) []any {
	a, ok := x.([]any)
	if !ok {
		v.fail(path, "want an array, got %T", x)
		return nil
	}
	if len(a) < min {
		v.fail(path, "want at least %d items, got %d", min, len(a))
	}
	return a
}

func (v *validator) str(path string, x any) string {
	s, ok := x.(string)
	if !ok || s == "" {
		v.fail(path, "want a non-empty string, got %#v", x)
	}
	return s
}

func (v *validator) integer(path string, x any, min int64) int64 {
	n, ok := x.(json.Number)
	if !ok {
		v.fail(path, "want a number, got %#v", x)
		return 0
	}
	i, err := n.Int64()
	if err != nil || i < min {
		v.fail(path, "want an integer ≥ %d, got %s", min, n)
	}
	return i
}

func (v *validator) oneOf(path string, x any, allowed ...string) {
	s, _ := x.(string)
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(path, "%#v is not one of %v", x, allowed)
}

func (v *validator) message(path string, x any) {
	m := v.object(path, x)
	v.str(path+".text", m["text"])
}

func (v *validator) location(path string, x any) {
	l := v.object(path, x)
	if pl, ok := l["physicalLocation"]; ok {
		p := v.object(path+".physicalLocation", pl)
		al := v.object(path+".physicalLocation.artifactLocation", p["artifactLocation"])
		uri := v.str(path+".physicalLocation.artifactLocation.uri", al["uri"])
		u, err := url.Parse(uri)
		switch {
		case err != nil:
			v.fail(path, "uri %q: %v", uri, err)
		case u.Scheme != "" && u.Scheme != "file":
			v.fail(path, "uri %q has scheme %q", uri, u.Scheme)
		case strings.ContainsAny(uri, ` \`):
			v.fail(path, "uri %q is not escaped", uri)
		}
		if r, ok := p["region"]; ok {
			reg := v.object(path+".physicalLocation.region", r)
			v.integer(path+".physicalLocation.region.startLine", reg["startLine"], 1)
			if c, ok := reg["startColumn"]; ok {
				v.integer(path+".physicalLocation.region.startColumn", c, 1)
			}
		}
	}
	if lls, ok := l["logicalLocations"]; ok {
		for i, ll := range v.array(path+".logicalLocations", lls, 1) {
			lp := fmt.Sprintf("%s.logicalLocations[%d]", path, i)
			o := v.object(lp, ll)
			v.str(lp+".fullyQualifiedName", o["fullyQualifiedName"])
			v.str(lp+".kind", o["kind"])
		}
	}
}

var levels = []string{"none", "note", "warning", "error"}

func validate(t *testing.T, data []byte) obj {
	t.Helper()
	var log obj
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	v := &validator{t: t}
	if log["version"] != "2.1.0" {
		v.fail("version", "%#v", log["version"])
	}
	if log["$schema"] != "https://json.schemastore.org/sarif-2.1.0.json" {
		v.fail("$schema", "%#v", log["$schema"])
	}
	runs := v.array("runs", log["runs"], 1)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	run := v.object("runs[0]", runs[0])
	driver := v.object("tool.driver", v.object("tool", run["tool"])["driver"])
	if driver["name"] != "kubeharden" {
		v.fail("tool.driver.name", "%#v", driver["name"])
	}
	if u, ok := driver["informationUri"]; ok {
		if pu, err := url.Parse(v.str("tool.driver.informationUri", u)); err != nil || !pu.IsAbs() {
			v.fail("tool.driver.informationUri", "%v is not an absolute URI", u)
		}
	}
	v.oneOf("columnKind", run["columnKind"], "utf16CodeUnits", "unicodeCodePoints")

	rules := v.array("tool.driver.rules", driver["rules"], 0)
	ruleIDs := map[string]bool{}
	for i, r := range rules {
		p := fmt.Sprintf("rules[%d]", i)
		rule := v.object(p, r)
		id := v.str(p+".id", rule["id"])
		if ruleIDs[id] {
			v.fail(p, "duplicate rule id %q", id)
		}
		ruleIDs[id] = true
		for _, k := range []string{"shortDescription", "fullDescription", "help"} {
			if m, ok := rule[k]; ok {
				v.message(p+"."+k, m)
			}
		}
		v.oneOf(p+".defaultConfiguration.level", v.object(p+".defaultConfiguration", rule["defaultConfiguration"])["level"], levels...)
		props := v.object(p+".properties", rule["properties"])
		if f, err := strconv.ParseFloat(v.str(p+".properties.security-severity", props["security-severity"]), 64); err != nil || f < 0 || f > 10 {
			v.fail(p+".properties.security-severity", "%#v is not a score from 0 to 10", props["security-severity"])
		}
		v.array(p+".properties.tags", props["tags"], 1)
	}

	results := v.array("results", run["results"], 0)
	for i, r := range results {
		p := fmt.Sprintf("results[%d]", i)
		res := v.object(p, r)
		id := v.str(p+".ruleId", res["ruleId"])
		idx := v.integer(p+".ruleIndex", res["ruleIndex"], 0)
		if idx >= int64(len(rules)) {
			v.fail(p+".ruleIndex", "%d out of %d rules", idx, len(rules))
		} else if rid := rules[idx].(obj)["id"]; rid != id {
			v.fail(p+".ruleIndex", "points at rule %v, want %q", rid, id)
		}
		v.oneOf(p+".level", res["level"], levels...)
		v.message(p+".message", res["message"])
		for j, l := range v.array(p+".locations", res["locations"], 1) {
			v.location(fmt.Sprintf("%s.locations[%d]", p, j), l)
		}
		if sups, ok := res["suppressions"]; ok {
			for j, s := range v.array(p+".suppressions", sups, 1) {
				sp := fmt.Sprintf("%s.suppressions[%d]", p, j)
				v.oneOf(sp+".kind", v.object(sp, s)["kind"], "inSource", "external")
			}
		}
	}

	invs := v.array("invocations", run["invocations"], 1)
	for i, in := range invs {
		p := fmt.Sprintf("invocations[%d]", i)
		inv := v.object(p, in)
		if _, ok := inv["executionSuccessful"].(bool); !ok {
			v.fail(p+".executionSuccessful", "missing")
		}
		if ns, ok := inv["toolExecutionNotifications"]; ok {
			for j, n := range v.array(p+".toolExecutionNotifications", ns, 1) {
				np := fmt.Sprintf("%s.toolExecutionNotifications[%d]", p, j)
				no := v.object(np, n)
				v.message(np+".message", no["message"])
				v.oneOf(np+".level", no["level"], levels...)
				if ls, ok := no["locations"]; ok {
					for k, l := range v.array(np+".locations", ls, 1) {
						v.location(fmt.Sprintf("%s.locations[%d]", np, k), l)
					}
				}
			}
		}
	}
	for _, e := range v.errs {
		t.Error(e)
	}
	return log
}

func TestFull(t *testing.T) {
	res := reporttest.Full()
	log := validate(t, render(t, res, testOptions))
	run := log["runs"].([]any)[0].(obj)

	driver := run["tool"].(obj)["driver"].(obj)
	if driver["version"] != reporttest.Version {
		t.Errorf("driver.version = %v", driver["version"])
	}
	rules := driver["rules"].([]any)
	if len(rules) != len(res.Checks) {
		t.Errorf("%d rules, want one per check (%d)", len(rules), len(res.Checks))
	}
	priv := rules[3].(obj)
	if priv["id"] != "privileged-container" || priv["name"] != "Privileged container" ||
		priv["defaultConfiguration"].(obj)["level"] != "error" ||
		priv["properties"].(obj)["security-severity"] != "9.5" {
		t.Errorf("privileged-container rule = %v", priv)
	}
	md := priv["help"].(obj)["markdown"].(string)
	for _, want := range []string{"**Fix:** Set securityContext.privileged to false.", "- seed 000: enforce user-mode containers"} {
		if !strings.Contains(md, want) {
			t.Errorf("help.markdown lacks %q:\n%s", want, md)
		}
	}

	results := run["results"].([]any)
	if len(results) != len(res.Findings)+len(res.Suppressed) {
		t.Fatalf("%d results, want findings and suppressed (%d)", len(results), len(res.Findings)+len(res.Suppressed))
	}
	loc := results[0].(obj)["locations"].([]any)[0].(obj)
	want := obj{
		"physicalLocation": obj{
			"artifactLocation": obj{"uri": "deploy/web.yaml"},
			"region":           obj{"startLine": json.Number("18"), "startColumn": json.Number("9")},
		},
		"logicalLocations": []any{obj{
			"name": "web", "fullyQualifiedName": "Deployment/shop/web", "kind": "object",
			"properties": obj{"apiVersion": "apps/v1"},
		}},
	}
	if fmt.Sprint(loc) != fmt.Sprint(want) {
		t.Errorf("first location =\n%v\nwant\n%v", loc, want)
	}
	// The db finding: escaped URI, no namespace in the qualified name.
	db := results[5].(obj)["locations"].([]any)[0].(obj)
	if uri := db["physicalLocation"].(obj)["artifactLocation"].(obj)["uri"]; uri != "deploy/my%20app/db.yaml" {
		t.Errorf("uri = %v", uri)
	}
	if fqn := db["logicalLocations"].([]any)[0].(obj)["fullyQualifiedName"]; fqn != "StatefulSet/db" {
		t.Errorf("fullyQualifiedName = %v", fqn)
	}
	// The config file's finding has no logical location.
	if _, ok := results[6].(obj)["locations"].([]any)[0].(obj)["logicalLocations"]; ok {
		t.Error("finding without object has a logical location")
	}

	for i, want := range []struct{ kind, justification string }{
		{"external", "vendor image, pinned upstream"},
		{"inSource", "initdb needs root; tracked in SEC-12"},
	} {
		r := results[len(res.Findings)+i].(obj)
		s := r["suppressions"].([]any)[0].(obj)
		if s["kind"] != want.kind || s["justification"] != want.justification {
			t.Errorf("suppressed result %d: suppression %v, want %+v", i, s, want)
		}
	}
	for _, r := range results[:len(res.Findings)] {
		if _, ok := r.(obj)["suppressions"]; ok {
			t.Error("unsuppressed result has suppressions")
		}
	}

	inv := run["invocations"].([]any)[0].(obj)
	if inv["executionSuccessful"] != true {
		t.Error("executionSuccessful is not true")
	}
	notes := inv["toolExecutionNotifications"].([]any)
	if len(notes) != len(res.Errors) {
		t.Fatalf("%d notifications, want %d", len(notes), len(res.Errors))
	}
	// Without a line, no region; without a column, no startColumn.
	if pl := notes[2].(obj)["locations"].([]any)[0].(obj)["physicalLocation"].(obj); pl["region"] != nil {
		t.Errorf("error without line has region %v", pl["region"])
	}
	if reg := notes[1].(obj)["locations"].([]any)[0].(obj)["physicalLocation"].(obj)["region"].(obj); reg["startColumn"] != nil {
		t.Errorf("error without column has startColumn %v", reg["startColumn"])
	}
}

func TestCleanRunHasEmptyResults(t *testing.T) {
	out := render(t, reporttest.Clean(), Options{})
	log := validate(t, out)
	run := log["runs"].([]any)[0].(obj)
	if r, ok := run["results"].([]any); !ok || len(r) != 0 {
		t.Errorf("results = %#v, want [] (absent would mean the tool did not run)", run["results"])
	}
	if _, ok := run["invocations"].([]any)[0].(obj)["toolExecutionNotifications"]; ok {
		t.Error("notifications without errors")
	}
	driver := run["tool"].(obj)["driver"].(obj)
	for _, k := range []string{"version", "informationUri"} {
		if _, ok := driver[k]; ok {
			t.Errorf("empty %s written", k)
		}
	}
}

func TestFindingOfUnknownCheckGetsARule(t *testing.T) {
	res := &scan.Result{
		Checks: reporttest.Checks()[:1],
		Findings: []check.Finding{
			{Check: "gone", Severity: check.High, Message: "m", Location: check.Location{File: "a.yaml", Line: 1, Column: 1}},
			{Check: "gone", Severity: check.High, Message: "n", Location: check.Location{File: "a.yaml", Line: 2, Column: 1}},
		},
	}
	log := validate(t, render(t, res, Options{}))
	run := log["runs"].([]any)[0].(obj)
	if rules := run["tool"].(obj)["driver"].(obj)["rules"].([]any); len(rules) != 2 {
		t.Errorf("%d rules, want the check's and one for gone", len(rules))
	}
}

func TestLevel(t *testing.T) {
	for s, want := range map[check.Severity]string{
		check.Critical: "error", check.High: "error", check.Medium: "warning", check.Low: "note", check.Info: "note",
	} {
		if got := level(s); got != want {
			t.Errorf("level(%v) = %q, want %q", s, got, want)
		}
	}
	for s, want := range map[check.Severity]string{
		check.Critical: "9.5", check.High: "8.0", check.Medium: "5.5", check.Low: "3.0", check.Info: "0.0",
	} {
		if got := securitySeverity(s); got != want {
			t.Errorf("securitySeverity(%v) = %q, want %q", s, got, want)
		}
	}
}

func TestArtifactURI(t *testing.T) {
	tests := []struct{ file, want string }{
		{"deploy/web.yaml", "deploy/web.yaml"},
		{"./deploy/web.yaml", "deploy/web.yaml"},
		{"deploy//x/../web.yaml", "deploy/web.yaml"},
		{"../other/web.yaml", "../other/web.yaml"},
		{"deploy/my app/db.yaml", "deploy/my%20app/db.yaml"},
		{"a#b?.yaml", "a%23b%3F.yaml"},
		{"100%.yaml", "100%25.yaml"},
		{"héllo.yaml", "h%C3%A9llo.yaml"},
		{"c:odd.yaml", "./c:odd.yaml"},
		{"/abs/dir/web.yaml", "file:///abs/dir/web.yaml"},
		{"-", "-"},
	}
	for _, tt := range tests {
		if got := artifactURI(tt.file); got != tt.want {
			t.Errorf("artifactURI(%q) = %q, want %q", tt.file, got, tt.want)
		}
		if _, err := url.Parse(artifactURI(tt.file)); err != nil {
			t.Errorf("artifactURI(%q) does not parse: %v", tt.file, err)
		}
	}
}
