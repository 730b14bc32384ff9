package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/source"
)

// testRegistry has one plain check and one deferred check, so that the
// engine is tested apart from the built-in checks.
func testRegistry() *check.Registry {
	var r check.Registry
	r.Register(&check.ObjectCheck{
		Meta:    check.Meta{ID: "every-pod", Title: "t", Severity: check.High, Description: "d.", Remediation: "r", References: []string{"x"}},
		Applies: check.PodSpecs,
		Run: func(p *check.Pass) {
			for _, c := range p.Pod.Containers {
				p.Report(c.Ref, "%s found", c.Describe())
			}
		},
	})
	r.Register(&check.ObjectCheck{
		Meta:    check.Meta{ID: "needs-config", Title: "t", Severity: check.Medium, Description: "d.", Remediation: "r", References: []string{"x"}},
		Applies: func(o *object.Object) bool { return o.Kind == "ConfigMap" || check.PodSpecs(o) },
		Run: func(p *check.Pass) {
			ns, name := p.Namespace, p.Object.Name
			key := "needs-config/" + ns + "/" + name
			if p.Object.Kind == "ConfigMap" {
				p.Keep(key, true)
				return
			}
			p.ReportUnless(p.Pod.Ref, func(x check.Facts) bool { return len(x.Kept(key)) > 0 },
				"pod %q has no config map", name)
		},
	})
	r.Register(&check.ObjectCheck{
		Meta:    check.Meta{ID: "once-per-ns", Title: "t", Severity: check.Low, Description: "d.", Remediation: "r", References: []string{"x"}},
		Applies: check.PodSpecs,
		Run: func(p *check.Pass) {
			p.ReportDeferred(p.Pod.Ref, check.Deferral{Once: "ns/" + p.Namespace}, "namespace %q", p.Namespace)
		},
	})
	return &r
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pod(name, ns string, annotations ...string) string {
	md := "name: " + name
	if ns != "" {
		md += ", namespace: " + ns
	}
	if len(annotations) > 0 {
		md += ", annotations: {" + strings.Join(annotations, ", ") + "}"
	}
	return "apiVersion: v1\nkind: Pod\nmetadata: {" + md + "}\nspec:\n  containers:\n  - {name: c, image: i}\n"
}

// summarize lists findings as file:line check severity message, leaving
// out the once-per-ns check that has its own test.
func summarize(fs []check.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Check == "once-per-ns" {
			continue
		}
		s := fmt.Sprintf("%s:%d %s %s %s", filepath.Base(f.Location.File), f.Location.Line, f.Check, f.Severity, f.Message)
		if f.Suppression() != nil {
			s += " [" + f.Suppression().Kind + ": " + f.Suppression().Reason + "]"
		}
		out = append(out, s)
	}
	return out
}

func TestDeferredAndSuppressed(t *testing.T) {
	dir := t.TempDir()
	// The config map of "a" comes in a later file; "b" has none but is
	// suppressed; "c" has none.
	write(t, dir, "1.yaml", pod("a", "")+"---\n"+pod("b", "", `ignore.kubeharden.io/needs-config: "uses env"`)+"---\n"+pod("c", "x"))
	write(t, dir, "2.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
	res := runPaths([]string{dir}, Options{Registry: testRegistry()})
	got := summarize(res.Findings)
	want := []string{
		"1.yaml:6 every-pod high container \"c\" found",
		"1.yaml:13 every-pod high container \"c\" found",
		"1.yaml:18 needs-config medium pod \"c\" has no config map",
		"1.yaml:20 every-pod high container \"c\" found",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sup := summarize(res.Suppressed)
	if len(sup) != 1 || !strings.Contains(sup[0], `needs-config medium pod "b" has no config map [annotation: uses env]`) {
		t.Errorf("suppressed: %v", sup)
	}
	if res.Objects != 4 || res.Files != 2 || len(res.Errors) != 0 {
		t.Errorf("objects %d files %d errors %v", res.Objects, res.Files, res.Errors)
	}
}

func TestOncePerKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b.yaml", pod("b1", "x")+"---\n"+pod("b2", "y"))
	write(t, dir, "a.yaml", pod("a1", "x")+"---\n"+pod("a2", "x"))
	for _, w := range []int{1, 4} {
		res := runPaths([]string{dir}, Options{Registry: testRegistry(), Workers: w})
		var got []string
		for _, f := range res.Findings {
			if f.Check == "once-per-ns" {
				got = append(got, fmt.Sprintf("%s:%d %s", filepath.Base(f.Location.File), f.Location.Line, f.Message))
			}
		}
		want := []string{`a.yaml:4 namespace "x"`, `b.yaml:11 namespace "y"`}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d workers: %q, want %q", w, got, want)
		}
	}
}

func TestNamespaceDefault(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", pod("a", "")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n")
	for ns, want := range map[string]int{"": 1, "shop": 0} {
		res := runPaths([]string{dir}, Options{Registry: testRegistry(), Namespace: ns})
		n := 0
		for _, f := range res.Findings {
			if f.Check == "needs-config" {
				n++
			}
		}
		if n != want {
			t.Errorf("--namespace %q: %d needs-config findings, want %d", ns, n, want)
		}
	}
}

func TestConfigApplied(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "apps/a.yaml", pod("a", "shop"))
	write(t, dir, "legacy/b.yaml", pod("b", "shop"))
	cfgPath := write(t, dir, ".kubeharden.yaml", `checks:
  severity: {every-pod: low}
  disable: [needs-config]
exemptions:
- path: legacy/**
  reason: old
- name: a
  reason: expired one
  expires: 2025-06-01
- name: "*"
  reason: bad annotation below
  checks: [invalid-suppression]
  expires: 2099-01-01
`)
	known := func(id string) bool { return testRegistry().Get(id) != nil || id == policy.InvalidSuppression.ID }
	cfg, err := config.Load(cfgPath, known)
	if err != nil {
		t.Fatal(err)
	}
	res := runPaths([]string{dir}, Options{Registry: testRegistry(), Policy: policy.New(cfg, testRegistry(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	got := summarize(res.Findings)
	want := []string{
		"a.yaml:6 every-pod low container \"c\" found",
		".kubeharden.yaml:7 expired-exemption low exemption expired on 2025-06-01 (reason was: expired one)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sup := summarize(res.Suppressed)
	if len(sup) != 1 || !strings.Contains(sup[0], "b.yaml:6 every-pod low") || !strings.Contains(sup[0], "[config: old]") {
		t.Errorf("suppressed: %v", sup)
	}
}

func TestInvalidSuppression(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", pod("a", "", `ignore.kubeharden.io/every-pod: ""`, `ignore.kubeharden.io/nope: "why"`))
	res := runPaths([]string{dir}, Options{Registry: testRegistry()})
	var msgs []string
	for _, f := range res.Findings {
		if f.Check == policy.InvalidSuppression.ID {
			msgs = append(msgs, f.Message)
		}
		if f.Check == "every-pod" && f.Suppression() != nil {
			t.Errorf("suppressed by an annotation without a reason")
		}
	}
	want := []string{
		`annotation "ignore.kubeharden.io/every-pod" gives no reason and suppresses nothing`,
		`annotation "ignore.kubeharden.io/nope" names no known check and suppresses nothing`,
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("got %q\nwant %q", msgs, want)
	}
}

// TestDeterministic: the result does not depend on the number of workers
// or on which one finishes first.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 200 {
		b.WriteString(pod(fmt.Sprintf("p%d", i), "ns"))
		b.WriteString("---\n")
		if i%3 == 0 {
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p%d, namespace: ns}\n---\n", i)
		}
	}
	write(t, dir, "many.yaml", b.String())
	write(t, dir, "more/x.yaml", b.String())
	base := runPaths([]string{dir}, Options{Registry: testRegistry(), Workers: 1})
	for _, w := range []int{2, 8} {
		res := runPaths([]string{dir}, Options{Registry: testRegistry(), Workers: w})
		if !reflect.DeepEqual(summarize(res.Findings), summarize(base.Findings)) {
			t.Fatalf("%d workers: findings differ from 1 worker", w)
		}
	}
	if len(summarize(base.Findings)) != 2*(200+133) {
		t.Errorf("findings: %d", len(base.Findings))
	}
}

// TestKeptInInputOrder: the facts checks keep reach the deferred conditions
// in input order, whatever the number of workers, and those of one object
// in the order kept.
func TestKeptInInputOrder(t *testing.T) {
	var r check.Registry
	var got []any
	meta := func(id string) check.Meta {
		return check.Meta{ID: id, Title: "t", Severity: check.Low, Description: "d.", Remediation: "r", References: []string{"x"}}
	}
	r.Register(&check.ObjectCheck{
		Meta:    meta("keeps-names"),
		Applies: check.Kinds("ConfigMap"),
		Run: func(p *check.Pass) {
			p.Keep("names", p.Object.Name)
			p.Keep("names", p.Object.Name+"!")
		},
	})
	r.Register(&check.ObjectCheck{
		Meta:    meta("reads-names"),
		Applies: check.PodSpecs,
		Run: func(p *check.Pass) {
			p.ReportUnless(p.Pod.Ref, func(x check.Facts) bool { got = x.Kept("names"); return true }, "never")
		},
	})
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n---\n"
	}
	dir := t.TempDir()
	write(t, dir, "b.yaml", cm("b1")+cm("b2"))
	write(t, dir, "a.yaml", pod("p", "")+"---\n"+cm("a1"))
	for _, w := range []int{1, 4} {
		got = nil
		res := runPaths([]string{dir}, Options{Registry: &r, Workers: w})
		if len(res.Findings) != 0 {
			t.Errorf("%d workers: findings %v", w, res.Findings)
		}
		if want := []any{"a1", "a1!", "b1", "b1!", "b2", "b2!"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%d workers: kept %q, want %q", w, got, want)
		}
	}
}

// runPaths scans files and directories.
func runPaths(inputs []string, opts Options) *Result {
	ctx := context.Background()
	return Run(ctx, source.Walk(ctx, inputs, source.Options{}), opts)
}

func TestNamespaceObjects(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", pod("a", "")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n---\n"+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n")
	write(t, dir, "b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\n")
	res := runPaths([]string{dir}, Options{Registry: testRegistry()})
	want := map[string]int{"": 1, "shop": 2, "web": 1}
	if !reflect.DeepEqual(res.NamespaceObjects, want) {
		t.Errorf("NamespaceObjects = %v, want %v", res.NamespaceObjects, want)
	}
	merged := Merge(res, &Result{Objects: 1, NamespaceObjects: map[string]int{"web": 2}})
	if merged.NamespaceObjects["web"] != 3 {
		t.Errorf("merged web objects = %d, want 3", merged.NamespaceObjects["web"])
	}
}
