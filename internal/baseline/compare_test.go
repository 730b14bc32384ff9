package baseline

import (
	"slices"
	"strconv"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
)

func fd(checkID, file string, line int, name, path, msg string) check.Finding {
	f := check.Finding{Check: checkID, Severity: check.High, Message: msg, Path: path,
		Location: check.Location{File: file, Line: line, Column: 3}}
	if name != "" {
		f.Object = &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: name}
	}
	return f
}

func statuses(c *Comparison, n int) []Status {
	out := make([]Status, n)
	for i := range out {
		out[i] = c.Of(i)
	}
	return out
}

func lines(fs []check.Finding) []int {
	var out []int
	for _, f := range fs {
		out = append(out, f.Location.Line)
	}
	return out
}

func TestAddedFixedMoved(t *testing.T) {
	base := &Report{Name: "old.json", Version: "v1.0.0", Findings: []check.Finding{
		fd("privileged-container", "deploy/web.yaml", 21, "web", "spec.template.spec.containers[0].securityContext.privileged", `container "api" must not set securityContext.privileged=true`),
		fd("run-as-non-root", "deploy/web.yaml", 25, "web", "spec.template.spec.containers[0]", `container "api" must set securityContext.runAsNonRoot=true`),
		fd("image-tag", "deploy/db.yaml", 9, "db", "spec.template.spec.containers[0].image", `container "db" uses image "postgres" without a tag`),
	}}
	cur := []check.Finding{
		// Moved: 30 lines down, same identity.
		fd("privileged-container", "deploy/web.yaml", 51, "web", "spec.template.spec.containers[0].securityContext.privileged", `container "api" must not set securityContext.privileged=true`),
		// Added.
		fd("host-network", "deploy/web.yaml", 40, "web", "spec.template.spec.hostNetwork", `pod must not set hostNetwork=true`),
		// Same check and place, another object: new.
		fd("run-as-non-root", "deploy/web.yaml", 25, "api", "spec.template.spec.containers[0]", `container "api" must set securityContext.runAsNonRoot=true`),
		// Same, written ./deploy/db.yaml now.
		fd("image-tag", "./deploy/db.yaml", 9, "db", "spec.template.spec.containers[0].image", `container "db" uses image "postgres" without a tag`),
	}
	c := Compare(base, cur, nil)
	if got, want := statuses(c, len(cur)), []Status{Unchanged, New, New, Unchanged}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if c.New != 2 || c.Unchanged != 2 {
		t.Errorf("New, Unchanged = %d, %d, want 2, 2", c.New, c.Unchanged)
	}
	if len(c.Fixed) != 1 || c.Fixed[0].Check != "run-as-non-root" || c.Fixed[0].Object.Name != "web" {
		t.Errorf("Fixed = %+v, want the run-as-non-root finding of web", c.Fixed)
	}
	if c.Report != "old.json" || c.Version != "v1.0.0" {
		t.Errorf("Report, Version = %q, %q", c.Report, c.Version)
	}
	if !c.IsNew(1) || c.IsNew(0) {
		t.Error("IsNew disagrees with Of")
	}
}

// A message or field path that changes makes another finding: the old one
// is fixed and the new one new.
func TestIdentityParts(t *testing.T) {
	b := fd("c", "f.yaml", 3, "web", "spec.a", "m")
	for name, mod := range map[string]func(*check.Finding){
		"check":     func(f *check.Finding) { f.Check = "d" },
		"file":      func(f *check.Finding) { f.Location.File = "g.yaml" },
		"path":      func(f *check.Finding) { f.Path = "spec.b" },
		"message":   func(f *check.Finding) { f.Message = "m2" },
		"kind":      func(f *check.Finding) { o := *f.Object; o.Kind = "StatefulSet"; f.Object = &o },
		"namespace": func(f *check.Finding) { o := *f.Object; o.Namespace = "other"; f.Object = &o },
		"name":      func(f *check.Finding) { o := *f.Object; o.Name = "api"; f.Object = &o },
		"no object": func(f *check.Finding) { f.Object = nil },
	} {
		cur := b
		mod(&cur)
		c := Compare(&Report{Findings: []check.Finding{b}}, []check.Finding{cur}, nil)
		if c.Of(0) != New || len(c.Fixed) != 1 {
			t.Errorf("%s changed: status %v, %d fixed; want new and 1 fixed", name, c.Of(0), len(c.Fixed))
		}
	}
	for name, mod := range map[string]func(*check.Finding){
		"line":       func(f *check.Finding) { f.Location.Line = 300 },
		"column":     func(f *check.Finding) { f.Location.Column = 9 },
		"severity":   func(f *check.Finding) { f.Severity = check.Low },
		"apiVersion": func(f *check.Finding) { o := *f.Object; o.APIVersion = "apps/v1beta2"; f.Object = &o },
	} {
		cur := b
		mod(&cur)
		c := Compare(&Report{Findings: []check.Finding{b}}, []check.Finding{cur}, nil)
		if c.Of(0) != Unchanged || len(c.Fixed) != 0 {
			t.Errorf("%s changed: status %v, %d fixed; want unchanged and none fixed", name, c.Of(0), len(c.Fixed))
		}
	}
}

// Identical findings (a Dockerfile with the same mistake twice) are a
// multiset: counts decide, and the nearest lines pick which is new.
func TestDuplicates(t *testing.T) {
	df := func(line int) check.Finding {
		return fd("apt-no-recommends", "Dockerfile", line, "", "", "apt-get install must use --no-install-recommends")
	}
	base := &Report{Findings: []check.Finding{df(10), df(20)}}

	// One more, added above: everything moved down by 3, the first is new.
	cur := []check.Finding{df(5), df(13), df(23)}
	c := Compare(base, cur, nil)
	if got, want := statuses(c, 3), []Status{New, Unchanged, Unchanged}; !slices.Equal(got, want) {
		t.Errorf("added above: statuses = %v, want %v", got, want)
	}
	if len(c.Fixed) != 0 {
		t.Errorf("added above: fixed %v, want none", lines(c.Fixed))
	}

	// One more, added between, nothing moved.
	cur = []check.Finding{df(10), df(15), df(20)}
	if got, want := statuses(Compare(base, cur, nil), 3), []Status{Unchanged, New, Unchanged}; !slices.Equal(got, want) {
		t.Errorf("added between: statuses = %v, want %v", got, want)
	}

	// One of the two fixed: the one left matches, the other is fixed.
	c = Compare(base, []check.Finding{df(18)}, nil)
	if c.Of(0) != Unchanged || !slices.Equal(lines(c.Fixed), []int{10}) {
		t.Errorf("one fixed: status %v, fixed lines %v; want unchanged, [10]", c.Of(0), lines(c.Fixed))
	}

	// Both still there, swapped in order by a move: no new, none fixed.
	c = Compare(base, []check.Finding{df(40), df(41)}, nil)
	if c.New != 0 || c.Unchanged != 2 || len(c.Fixed) != 0 {
		t.Errorf("moved pair: %d new, %d unchanged, %d fixed", c.New, c.Unchanged, len(c.Fixed))
	}
}

// More identical findings than pair weighs one by one are paired in order,
// with the same counts.
func TestManyDuplicates(t *testing.T) {
	const n = 400 // n*n > nearestPairs
	df := func(line int) check.Finding { return fd("c", "big.yaml", line, "", "", "m") }
	var base, cur []check.Finding
	for i := range n {
		base = append(base, df(2*i+1))
		cur = append(cur, df(2*i+2))
	}
	cur = append(cur, df(5000), df(5001))
	c := Compare(&Report{Findings: base}, cur, nil)
	if c.New != 2 || c.Unchanged != n || len(c.Fixed) != 0 {
		t.Errorf("%d new, %d unchanged, %d fixed; want 2, %d, 0", c.New, c.Unchanged, len(c.Fixed), n)
	}
}

// A baseline finding that is now suppressed is not fixed: it is listed
// apart, once per suppressed finding.
func TestNowSuppressed(t *testing.T) {
	a := fd("run-as-non-root", "db.yaml", 14, "db", "spec.template.spec.containers[0]", `container "postgres" must set securityContext.runAsNonRoot=true`)
	b := fd("image-tag", "db.yaml", 20, "db", "spec.template.spec.containers[0].image", "tag")
	base := &Report{Findings: []check.Finding{a, a, b}}
	sup := a
	sup.SetSuppression(&check.Suppression{Kind: "annotation", Reason: "initdb", Source: "ignore.kubeharden.io/run-as-non-root"})
	c := Compare(base, nil, []check.Finding{sup})
	if len(c.NowSuppressed) != 1 || len(c.Fixed) != 2 || c.Fixed[0].Check != "run-as-non-root" || c.Fixed[1].Check != "image-tag" {
		t.Errorf("now suppressed %d, fixed %+v; want 1 and [run-as-non-root image-tag]", len(c.NowSuppressed), c.Fixed)
	}
}

func TestNilComparison(t *testing.T) {
	var c *Comparison
	if c.Of(0) != 0 || c.IsNew(0) || Status(0).String() != "" {
		t.Error("a nil comparison must report no status")
	}
	c = Compare(&Report{}, []check.Finding{fd("c", "f", 1, "", "", "m")}, nil)
	if c.Of(-1) != 0 || c.Of(1) != 0 || c.Of(0) != New || New.String() != "new" || Unchanged.String() != "unchanged" {
		t.Error("statuses out of range or their names are wrong")
	}
}

func BenchmarkCompare(b *testing.B) {
	// A large scan against its own earlier report, half of it moved.
	const n = 100_000
	base := make([]check.Finding, n)
	cur := make([]check.Finding, n)
	for i := range n {
		// Every tenth finding repeats the one before (two identical).
		id := i
		if i%10 == 9 {
			id = i - 1
		}
		name := "web-" + strconv.Itoa(id)
		base[i] = fd("run-as-non-root", "N100k.yaml", 10*i+1, name, "spec.template.spec.containers[0]", `container "app" must set securityContext.runAsNonRoot=true`)
		cur[i] = base[i]
		if i%2 == 0 {
			cur[i].Location.Line += 7
		}
	}
	rep := &Report{Findings: base}
	b.ReportAllocs()
	for b.Loop() {
		if c := Compare(rep, cur, nil); c.New != 0 {
			b.Fatal(c.New)
		}
	}
}
