package helm_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// corpus are real public charts (testdata/charts/SOURCES.md), with the
// values that turn on more of their templates.
var corpus = []struct {
	name   string
	set    []string
	values []string
	// minValues is how many findings at least must name the values file
	// line that set them.
	minValues int
	// maxUnplaced is how many findings may go without a template line
	// (each is listed); measured, so that a regression fails.
	maxUnplaced int
}{
	{name: "cert-manager"},
	{name: "external-dns"},
	{name: "metrics-server"},
	{name: "kyverno", set: []string{"grafana.enabled=true"}},
	{name: "external-secrets"},
	// Values files whose settings are findings: the values line is named.
	{name: "external-dns", values: []string{"testdata/values/external-dns-low-uid.yaml"}, minValues: 1},
	{name: "cert-manager", values: []string{"testdata/values/cert-manager-webhook-root.yaml"}, minValues: 3},
}

// scanChart renders and scans a chart as `kubeharden scan` does.
func scanChart(t testing.TB, dir string, opts helm.Options, scanNS string) *scan.Result {
	t.Helper()
	ctx := context.Background()
	walk := source.Walk(ctx, []string{dir}, source.Options{Renderers: map[source.Kind]source.Renderer{
		source.HelmChart: func(ctx context.Context, p string) ([]source.Document, []source.Error) {
			return helm.Render(ctx, p, opts)
		},
	}})
	return scan.Run(ctx, walk, scan.Options{Registry: checks.Registry(), Namespace: scanNS})
}

// lines reads a file's lines, once per test.
type lines map[string][]string

func (l lines) get(t *testing.T, file string) []string {
	t.Helper()
	if ls, ok := l[file]; ok {
		return ls
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	l[file] = strings.Split(string(data), "\n")
	return l[file]
}

// lastKey is the last mapping key of a field path, "-" for an item.
func lastKey(path string) string {
	if strings.HasSuffix(path, "]") {
		return "-"
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

var keyAt = regexp.MustCompile(`^(?:-\s*$|- |["']?([A-Za-z0-9_.\-/]+)["']?\s*:)`)

// keyOf is the key a template text starts with, "-" for an item.
func keyOf(text string) string {
	m := keyAt.FindStringSubmatch(text)
	switch {
	case m == nil:
		return ""
	case m[1] == "":
		return "-"
	}
	return m[1]
}

// TestCorpusTemplateLines checks, for every finding on the real charts,
// that the reported template line holds the finding's key (or, for a
// missing field, a parent's key), or is the action that emitted it; and
// that a values line, when given, holds the key the value sets. Findings
// that cannot be placed must say why, and are counted and listed.
func TestCorpusTemplateLines(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "charts", c.name)
			res := scanChart(t, dir, helm.Options{Set: c.set, ValueFiles: c.values}, "")
			if len(res.Errors) > 0 {
				t.Fatalf("input errors: %v", res.Errors)
			}
			if len(res.Findings) == 0 {
				t.Fatal("no findings: the corpus test tests nothing")
			}
			src := lines{}
			var unplaced []string
			byVia := map[string]int{}
			for _, f := range append(res.Findings, res.Suppressed...) {
				loc := f.Location
				if f.Trace() == nil {
					t.Errorf("%s:%d %s: no trace on a rendered object", loc.File, loc.Line, f.Check)
					continue
				}
				tr := f.Trace()
				if tr.Uncertain != "" {
					unplaced = append(unplaced, loc.File+": "+f.Check+" "+f.Path+": "+tr.Uncertain)
					continue
				}
				byVia[tr.Via]++
				ls := src.get(t, loc.File)
				if loc.Line < 1 || loc.Line > len(ls) || loc.Column < 1 || loc.Column > len(ls[loc.Line-1]) {
					t.Errorf("%s:%d:%d %s: outside the template", loc.File, loc.Line, loc.Column, f.Check)
					continue
				}
				text := ls[loc.Line-1][loc.Column-1:]
				switch tr.Via {
				case object.TraceKey:
					flowItem := lastKey(f.Path) == "-" && strings.Contains(ls[loc.Line-1][:loc.Column-1], "[")
					if keyOf(text) != lastKey(f.Path) && !flowItem {
						t.Errorf("%s:%d:%d %s %s: key line does not hold %q: %q", loc.File, loc.Line, loc.Column, f.Check, f.Path, lastKey(f.Path), ls[loc.Line-1])
					}
				case object.TraceParent:
					if k := keyOf(text); (k == "" || k != "-" && !strings.Contains(f.Path, k)) && !strings.HasPrefix(text, "{{") {
						t.Errorf("%s:%d:%d %s %s: parent line holds no parent key: %q", loc.File, loc.Line, loc.Column, f.Check, f.Path, ls[loc.Line-1])
					}
				case object.TraceEmitted:
					if !strings.HasPrefix(text, "{{") {
						t.Errorf("%s:%d:%d %s %s: emitting line has no action there: %q", loc.File, loc.Line, loc.Column, f.Check, f.Path, ls[loc.Line-1])
					}
				default:
					t.Errorf("%s:%d %s: unknown via %q", loc.File, loc.Line, f.Check, tr.Via)
				}
				if tr.ValueFile != "" {
					vl := src.get(t, tr.ValueFile)
					if tr.ValueLine < 1 || tr.ValueLine > len(vl) {
						t.Errorf("%s: values line %d outside %s", f.Check, tr.ValueLine, tr.ValueFile)
					} else if k := keyOf(strings.TrimLeft(vl[tr.ValueLine-1], " ")); k != lastKey(f.Path) {
						t.Errorf("%s %s: values line %s:%d does not set %q: %q", f.Check, f.Path, tr.ValueFile, tr.ValueLine, lastKey(f.Path), vl[tr.ValueLine-1])
					} else {
						byVia["value"]++
					}
				}
			}
			t.Logf("%d findings: %v, %d unplaced", len(res.Findings)+len(res.Suppressed), byVia, len(unplaced))
			for _, u := range unplaced {
				t.Logf("unplaced: %s", u)
			}
			if byVia["value"] < c.minValues {
				t.Errorf("%d findings name their values line, want at least %d", byVia["value"], c.minValues)
			}
			if len(unplaced) > c.maxUnplaced {
				t.Errorf("%d findings unplaced, at most %d expected", len(unplaced), c.maxUnplaced)
			}
		})
	}
}

// TestReleaseNamespace checks default-namespace and the namespace-scoped
// checks on a chart with an object in {{ .Release.Namespace }}, one hard
// coded in "default", and a default-deny policy in the release namespace:
// without -n the release namespace is chosen at install time, not
// "default"; with -n default it is "default"; with -n prod it is prod.
func TestReleaseNamespace(t *testing.T) {
	const chart = "testdata/releasens"
	type key struct{ check, kind, name string }
	tests := []struct {
		name, ns string
		want     map[key]bool // true: reported, false: must not be
	}{
		{"no -n", "", map[key]bool{
			{"default-namespace", "Deployment", "in-release"}:       false,
			{"default-namespace", "NetworkPolicy", "default-deny"}:  false,
			{"namespace-default-deny", "Deployment", "in-release"}:  false,
			{"network-policy-coverage", "Deployment", "in-release"}: false,
			{"default-namespace", "Deployment", "hard-coded"}:       true,
			{"namespace-default-deny", "Deployment", "hard-coded"}:  true,
		}},
		{"-n default", "default", map[key]bool{
			{"default-namespace", "Deployment", "in-release"}:      true,
			{"default-namespace", "NetworkPolicy", "default-deny"}: true,
			{"namespace-default-deny", "Deployment", "in-release"}: false,
			{"default-namespace", "Deployment", "hard-coded"}:      true,
			{"namespace-default-deny", "Deployment", "hard-coded"}: false,
		}},
		{"-n prod", "prod", map[key]bool{
			{"default-namespace", "Deployment", "in-release"}:       false,
			{"namespace-default-deny", "Deployment", "in-release"}:  false,
			{"network-policy-coverage", "Deployment", "in-release"}: false,
			{"default-namespace", "Deployment", "hard-coded"}:       true,
			{"namespace-default-deny", "Deployment", "hard-coded"}:  true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := scanChart(t, chart, helm.Options{Namespace: tc.ns}, tc.ns)
			if len(res.Errors) > 0 {
				t.Fatalf("input errors: %v", res.Errors)
			}
			got := map[key]bool{}
			for _, f := range res.Findings {
				got[key{f.Check, f.Object.Kind, f.Object.Name}] = true
				if f.Object.Name == "in-release" && tc.ns == "" && f.Object.Namespace != "" {
					t.Errorf("%s: namespace %q, want none (the release's)", f.Check, f.Object.Namespace)
				}
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%v reported = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

// TestTracedChart checks the three ways a finding is placed on a small
// chart and its subchart: at its key, at the toYaml line that emitted it
// with the values line, and not at all (said so) where the traced render
// differs.
func TestTracedChart(t *testing.T) {
	res := scanChart(t, "testdata/traced", helm.Options{}, "")
	if len(res.Errors) > 0 {
		t.Fatalf("input errors: %v", res.Errors)
	}
	type want struct {
		file      string
		line, col int
		via       string
		values    string // the values file, below testdata/traced
		value     int
		uncertain bool
	}
	wants := map[string]want{
		"resources-limits": {file: "templates/deploy.yaml", line: 13, col: 9, via: object.TraceKey},
		"run-as-high-uid":  {file: "templates/deploy.yaml", line: 19, col: 13, via: object.TraceEmitted, values: "values.yaml", value: 2},
		"image-digest":     {file: "templates/deploy.yaml", line: 16, col: 11, uncertain: true},
		// The subchart's value set in the parent's values.yaml, under sub.
		"privileged-container": {file: "charts/sub/templates/deploy.yaml", line: 20, col: 13, via: object.TraceEmitted, values: "values.yaml", value: 6},
		// The subchart's own values.yaml, for a value the parent leaves.
		"capabilities-added": {file: "charts/sub/templates/deploy.yaml", line: 20, col: 13, via: object.TraceEmitted, values: "charts/sub/values.yaml", value: 5},
	}
	seen := map[string]bool{}
	for _, f := range res.Findings {
		w, ok := wants[f.Check]
		if !ok || !strings.HasSuffix(f.Location.File, filepath.Join("traced", w.file)) {
			continue
		}
		seen[f.Check] = true
		tr := f.Trace()
		if tr == nil {
			t.Fatalf("%s: no trace", f.Check)
		}
		if f.Location.Line != w.line || f.Location.Column != w.col {
			t.Errorf("%s at %d:%d, want %d:%d", f.Check, f.Location.Line, f.Location.Column, w.line, w.col)
		}
		if got := tr.Uncertain != ""; got != w.uncertain {
			t.Errorf("%s: uncertain %q, want uncertain %v", f.Check, tr.Uncertain, w.uncertain)
		}
		if tr.Via != w.via {
			t.Errorf("%s: via %q, want %q", f.Check, tr.Via, w.via)
		}
		wantFile := ""
		if w.values != "" {
			wantFile = filepath.Join("testdata", "traced", w.values)
		}
		if tr.ValueLine != w.value || tr.ValueFile != wantFile {
			t.Errorf("%s: value at %s:%d, want %s:%d", f.Check, tr.ValueFile, tr.ValueLine, wantFile, w.value)
		}
	}
	for c := range wants {
		if !seen[c] {
			t.Errorf("no %s finding", c)
		}
	}
}
