package text

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

func render(t *testing.T, res *scan.Result, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, res, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	for _, c := range reporttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got := render(t, c.Result, Options{})
			reporttest.Golden(t, filepath.Join("testdata", c.Name+".golden"), []byte(got))
			if strings.Contains(got, "\x1b") {
				t.Error("escape sequence in output without Color")
			}
		})
	}
	t.Run("full-color", func(t *testing.T) {
		got := render(t, reporttest.Full(), Options{Color: true})
		reporttest.Golden(t, filepath.Join("testdata", "full-color.golden"), []byte(got))
	})
}

func TestLayout(t *testing.T) {
	got := render(t, reporttest.Full(), Options{})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, want := range []string{
		`deploy/web.yaml:21:13  CRITICAL  privileged-container  container "api" must not set securityContext.privileged=true  (Deployment/shop/web)`,
		"    fix: run `kubeharden fix`, or by hand: Set securityContext.privileged to false.",
		// A multi-line remediation is folded into one line.
		"    fix: run `kubeharden fix`, or by hand: Set securityContext.runAsNonRoot to true and runAsUser to a UID of 10000 or more.",
		`rendered/shop.yaml:20:16  LOW  image-tag  container "worker" uses image "registry.local/worker:latest" & its tag can move  (Deployment/shop/worker)`,
		"# helm chart shop: templates/worker.yaml",
		// No namespace in the manifest: Kind/name.
		"deploy/my app/db.yaml:9:7  INFO  automount-service-account-token  pod must set automountServiceAccountToken=false  (StatefulSet/db)",
		// No object: no identity.
		".kubeharden.yaml:7:1  LOW  expired-exemption  exemption expired on 2024-01-31 (reason was: waiting for upstream <fix>)",
		"errors",
		"deploy/web.yaml:40:3: Pod has no metadata.name",
		"deploy/broken.yaml:3: invalid YAML: mapping values are not allowed in this context",
		"missing.yaml: no such file or directory",
	} {
		found := false
		for _, l := range lines {
			if l == want {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q in\n%s", want, got)
		}
	}
	if last := lines[len(lines)-1]; last != "7 findings (1 critical, 1 high, 2 medium, 2 low, 1 info) · 2 suppressed · 3 input errors · 6 objects in 5 files" {
		t.Errorf("summary = %q", last)
	}
	// Suppressed findings are counted, not listed.
	if strings.Contains(got, "postgres") {
		t.Error("suppressed finding listed")
	}
	// Files are apart by one blank line, findings of one file are not.
	if !strings.Contains(got, "(CronJob/shop/report)\n    fix: Set resources.limits (cpu & memory) to values <= what the node can spare.\n\n# helm chart shop: templates/worker.yaml\nrendered/shop.yaml:20:16") {
		t.Errorf("no blank line between files in\n%s", got)
	}
}

func TestSummary(t *testing.T) {
	f := func(s check.Severity) check.Finding { return check.Finding{Check: "c", Severity: s} }
	tests := []struct {
		name string
		res  *scan.Result
		want string
	}{
		{"nothing", &scan.Result{}, "no findings · 0 objects in 0 files"},
		{"clean", &scan.Result{Files: 7, Objects: 40}, "no findings · 40 objects in 7 files"},
		{"singular", &scan.Result{
			Findings:   []check.Finding{f(check.High)},
			Suppressed: []check.Finding{f(check.Low)},
			Errors:     []source.Error{{File: "x"}},
			Files:      1, Objects: 1,
		}, "1 finding (1 high) · 1 suppressed · 1 input error · 1 object in 1 file"},
		{"severity order", &scan.Result{
			Findings: []check.Finding{f(check.Low), f(check.Critical), f(check.Low), f(check.Medium)},
			Files:    2, Objects: 3,
		}, "4 findings (1 critical, 1 medium, 2 low) · 3 objects in 2 files"},
		{"errors only", &scan.Result{Errors: []source.Error{{File: "a"}, {File: "b"}}, Files: 2}, "no findings · 2 input errors · 0 objects in 2 files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summary(tt.res); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		file      string
		line, col int
		want      string
	}{
		{"a.yaml", 3, 5, "a.yaml:3:5"},
		{"a.yaml", 3, 0, "a.yaml:3"},
		{"a.yaml", 0, 5, "a.yaml"},
		{"-", 1, 1, "-:1:1"},
	}
	for _, tt := range tests {
		if got := place(tt.file, tt.line, tt.col); got != tt.want {
			t.Errorf("place(%q, %d, %d) = %q, want %q", tt.file, tt.line, tt.col, got, tt.want)
		}
	}
}

func TestControlCharactersAreEscaped(t *testing.T) {
	res := &scan.Result{
		Findings: []check.Finding{{
			Check: "image-tag", Severity: check.Low,
			Message:  "container \"x\x1b[2J\" uses image \"evil\a\"",
			Object:   &check.ObjectRef{Kind: "Pod", Name: "p\x1b]0;title\a"},
			Location: check.Location{File: "a\tb.yaml", Line: 1, Column: 1},
		}},
		Errors: []source.Error{{File: "c.yaml", Line: 2, Message: "bad\r\nthing"}},
	}
	got := render(t, res, Options{})
	for _, r := range got {
		if r != '\n' && r < 0x20 || r == 0x7f {
			t.Fatalf("control character %U in output:\n%q", r, got)
		}
	}
	if !strings.Contains(got, `container "x\x1b[2J" uses image "evil\a"`) {
		t.Errorf("message not escaped visibly:\n%s", got)
	}
	if !strings.Contains(got, `c.yaml:2: bad\r\nthing`) {
		t.Errorf("error not escaped visibly:\n%s", got)
	}
}

func TestUnknownCheckHasNoFixLine(t *testing.T) {
	res := &scan.Result{Findings: []check.Finding{{Check: "gone", Severity: check.Medium, Message: "m", Location: check.Location{File: "a.yaml", Line: 1, Column: 1}}}}
	got := render(t, res, Options{})
	want := "a.yaml:1:1  MEDIUM  gone  m\n\n1 finding (1 medium) · 0 objects in 0 files\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestColorPaintsSeverities(t *testing.T) {
	got := render(t, reporttest.Full(), Options{Color: true})
	for _, want := range []string{"\x1b[1;31mCRITICAL\x1b[0m", "\x1b[31mHIGH\x1b[0m", "\x1b[33mMEDIUM\x1b[0m", "\x1b[34mLOW\x1b[0m", "\x1b[2mINFO\x1b[0m", "\x1b[1;31merrors\x1b[0m"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in colour output", want)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := Render(failingWriter{}, reporttest.Full(), Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Render() = %v, want the writer's error", err)
	}
}

func TestFindingsAreGroupedByFile(t *testing.T) {
	f := func(file string, line int) check.Finding {
		return check.Finding{Check: "c", Severity: check.Low, Message: "m", Location: check.Location{File: file, Line: line, Column: 1}}
	}
	res := &scan.Result{Findings: []check.Finding{f("b.yaml", 9), f("a.yaml", 1), f("b.yaml", 2)}}
	got := render(t, res, Options{})
	want := "b.yaml:9:1  LOW  c  m\nb.yaml:2:1  LOW  c  m\n\na.yaml:1:1  LOW  c  m\n\n3 findings (3 low) · 0 objects in 0 files\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBaseline(t *testing.T) {
	res := reporttest.Full()
	// The baseline had every finding but the first (on other lines), one
	// since fixed, with a control character, and a check now suppressed.
	old := &baseline.Report{Name: "old.json", Version: "v1.0.0"}
	for _, f := range res.Findings[1:] {
		f.Location.Line += 4
		old.Findings = append(old.Findings, f)
	}
	gone := check.Finding{Check: "host-pid", Severity: check.High, Message: "pod must not set hostPID=true\x1b[2J",
		Object: &check.ObjectRef{Kind: "Pod", Name: "debug"}, Location: check.Location{File: "deploy/debug.yaml", Line: 7, Column: 3}}
	old.Findings = append(old.Findings, gone)
	old.Findings = append(old.Findings, res.Suppressed...)
	cmp := baseline.Compare(old, res.Findings, res.Suppressed)
	got := render(t, res, Options{Baseline: cmp})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")

	first := res.Findings[0]
	newLine := place(first.Location.File, first.Location.Line, first.Location.Column) + "  NEW " + strings.ToUpper(first.Severity.String()) + "  " + first.Check + "  "
	news := 0
	for _, l := range lines {
		if strings.Contains(l, "  NEW ") {
			news++
			if !strings.HasPrefix(l, newLine) {
				t.Errorf("marked new: %q, want only the line starting %q", l, newLine)
			}
		}
	}
	if news != 1 {
		t.Errorf("%d lines marked NEW, want 1:\n%s", news, got)
	}
	fixedAt := slices.Index(lines, "fixed since the baseline")
	if fixedAt < 0 || fixedAt+1 >= len(lines) ||
		lines[fixedAt+1] != `deploy/debug.yaml:7:3  HIGH  host-pid  pod must not set hostPID=true\x1b[2J  (Pod/debug)` {
		t.Errorf("no fixed section with the fixed finding, escaped:\n%s", got)
	}
	if want := "since old.json (v1.0.0): 1 new · 1 fixed · " + strconv.Itoa(len(res.Findings)-1) + " unchanged · " +
		strconv.Itoa(len(res.Suppressed)) + " now suppressed"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	if lines[len(lines)-2] != Summary(res) {
		t.Errorf("the summary must come before the baseline line:\n%s", got)
	}

	// Findings out of file order: the marks follow the findings, not
	// their places in the output.
	shuffled := &scan.Result{Findings: []check.Finding{
		{Check: "a", Severity: check.Low, Message: "m", Location: check.Location{File: "x.yaml", Line: 1}},
		{Check: "b", Severity: check.Low, Message: "m", Location: check.Location{File: "y.yaml", Line: 1}},
		{Check: "c", Severity: check.Low, Message: "m", Location: check.Location{File: "x.yaml", Line: 2}},
	}}
	cmp = baseline.Compare(&baseline.Report{Findings: shuffled.Findings[:2]}, shuffled.Findings, nil)
	got = render(t, shuffled, Options{Baseline: cmp})
	if !strings.Contains(got, "x.yaml:2  NEW LOW  c  m\n") || strings.Count(got, "NEW") != 1 {
		t.Errorf("regrouped output marks the wrong finding:\n%s", got)
	}

	// Without a baseline: no marks, no comparison line.
	if got := render(t, res, Options{}); strings.Contains(got, "NEW") || strings.Contains(got, "since ") {
		t.Errorf("baseline output without a baseline:\n%s", got)
	}
}

// TestChartOrigin checks that a chart's origin is said once above its
// findings, not on each, and that a finding placed at the line that
// emitted it, or not placed, says so.
func TestChartOrigin(t *testing.T) {
	origin := `helm: rendered from charts/shop (release "r")`
	obj := &check.ObjectRef{Kind: "Deployment", Name: "web", Origin: origin}
	res := &scan.Result{Files: 1, Objects: 1, Findings: []check.Finding{
		{Check: "a", Message: "m1", Object: obj, Location: check.Location{File: "charts/shop/templates/web.yaml", Line: 57, Column: 11},
			Extra: &check.Extra{Trace: &object.Trace{Line: 57, Column: 11, Via: object.TraceKey, Rendered: 42}}},
		{Check: "b", Message: "m2", Object: obj, Location: check.Location{File: "charts/shop/templates/web.yaml", Line: 60, Column: 11},
			Extra: &check.Extra{Trace: &object.Trace{Line: 60, Column: 11, Via: object.TraceEmitted, Rendered: 44, ValueFile: "charts/shop/values.yaml", ValueLine: 12}}},
		{Check: "c", Message: "m3", Object: obj, Location: check.Location{File: "charts/shop/templates/svc.yaml", Line: 3, Column: 1},
			Extra: &check.Extra{Trace: &object.Trace{Rendered: 3, Uncertain: "the line renders differently when traced"}}},
	}}
	var b strings.Builder
	if err := Render(&b, res, Options{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if n := strings.Count(got, origin); n != 1 {
		t.Errorf("origin said %d times, want once:\n%s", n, got)
	}
	for _, want := range []string{
		"# " + origin + "\ncharts/shop/templates/web.yaml:57:11  ",
		"(Deployment/web)\n",
		"m2  (Deployment/web)  [emitted by this line; value set at charts/shop/values.yaml:12]\n",
		"m3  (Deployment/web)  [template line unknown: the line renders differently when traced; rendered line 3]\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}
