package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/corpustest"
)

const basePod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: web
    image: nginx:1.27
    securityContext: {privileged: true}
`

const otherPod = `---
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
spec:
  containers:
  - name: api
    image: nginx:1.27
`

type baselineDoc struct {
	Findings []struct {
		Check    string
		Baseline string
		Object   struct{ Name string }
		Location struct{ Line int }
	}
	Fixed []struct {
		Check  string
		Object struct{ Name string }
	}
	Summary struct {
		Baseline *struct {
			Report                               string
			New, Unchanged, Fixed, NowSuppressed int
		}
	}
}

func decodeReport(t *testing.T, out string) baselineDoc {
	t.Helper()
	var doc baselineDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return doc
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBaseline scans, keeps the JSON report, changes the manifests and
// scans again against it: a line shift alone is not new, an added finding
// is, a removed one is fixed, and --fail-on-new fails only on new ones.
func TestBaseline(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pod.yaml")
	write(t, manifest, basePod)
	old := filepath.Join(dir, "old.json")
	out, errOut, code := run("scan", "-o", "json", "--output-file", old, manifest)
	if code != ExitFindings {
		t.Fatalf("first scan: exit %d\n%s\n%s", code, out, errOut)
	}

	// Unchanged: nothing new, exit 0 with --fail-on-new, 1 without.
	out, errOut, code = run("scan", "-o", "json", "--baseline", old, "--fail-on-new", manifest)
	if code != ExitOK {
		t.Fatalf("same manifests, --fail-on-new: exit %d\n%s\n%s", code, out, errOut)
	}
	doc := decodeReport(t, out)
	if b := doc.Summary.Baseline; b == nil || b.New != 0 || b.Fixed != 0 || b.Unchanged != len(doc.Findings) || b.Report != old {
		t.Fatalf("same manifests: summary.baseline %+v", b)
	}
	if _, _, code = run("scan", "--baseline", old, manifest); code != ExitFindings {
		t.Errorf("--baseline without --fail-on-new: exit %d, want %d", code, ExitFindings)
	}

	// Moved: comments above shift every line; still nothing new.
	write(t, manifest, "# a comment\n# and another\n\n"+basePod)
	out, _, code = run("scan", "-o", "json", "--baseline", old, "--fail-on-new", manifest)
	doc = decodeReport(t, out)
	if code != ExitOK || doc.Summary.Baseline.New != 0 || doc.Summary.Baseline.Fixed != 0 {
		t.Fatalf("moved: exit %d, summary %+v", code, doc.Summary.Baseline)
	}
	for _, f := range doc.Findings {
		if f.Baseline != "unchanged" {
			t.Errorf("moved: %s at line %d is %q", f.Check, f.Location.Line, f.Baseline)
		}
	}

	// Added: another pod with a high finding is new, and fails.
	write(t, manifest, "# a comment\n# and another\n\n"+basePod+otherPod)
	out, errOut, code = run("scan", "-o", "json", "--baseline", old, "--fail-on-new", manifest)
	if code != ExitFindings {
		t.Fatalf("added: exit %d\n%s\n%s", code, out, errOut)
	}
	doc = decodeReport(t, out)
	news := 0
	for _, f := range doc.Findings {
		if (f.Baseline == "new") != (f.Object.Name == "api") {
			t.Errorf("added: %s on %s is %q", f.Check, f.Object.Name, f.Baseline)
		}
		if f.Baseline == "new" {
			news++
		}
	}
	if news == 0 || doc.Summary.Baseline.New != news {
		t.Errorf("added: %d new findings, summary says %d", news, doc.Summary.Baseline.New)
	}
	// New findings below --fail-on do not fail.
	if _, _, code = run("scan", "--baseline", old, "--fail-on-new", "--fail-on", "critical", manifest); code != ExitOK {
		t.Errorf("added, --fail-on critical --fail-on-new: exit %d, want 0 (the new findings are high)", code)
	}
	out, _, _ = run("scan", "--baseline", old, "--color", "never", manifest)
	if !strings.Contains(out, "  NEW HIGH  run-as-non-root  container \"api\"") || !strings.Contains(out, "since "+old+" (dev): "+itoa(news)+" new · 0 fixed · ") {
		t.Errorf("added, text:\n%s", out)
	}

	// Fixed: privileged gone from web, the api pod stays.
	write(t, manifest, strings.Replace(basePod, "privileged: true", "privileged: false", 1)+otherPod)
	out, _, _ = run("scan", "-o", "json", "--baseline", old, manifest)
	doc = decodeReport(t, out)
	fixed := false
	for _, f := range doc.Fixed {
		fixed = fixed || (f.Check == "privileged-container" && f.Object.Name == "web")
		if f.Object.Name != "web" {
			t.Errorf("fixed: %s of %s", f.Check, f.Object.Name)
		}
	}
	if !fixed || doc.Summary.Baseline.Fixed != len(doc.Fixed) {
		t.Errorf("fixed: %+v, summary %+v", doc.Fixed, doc.Summary.Baseline)
	}
	out, _, _ = run("scan", "--baseline", old, "--color", "never", manifest)
	if !strings.Contains(out, "\nfixed since the baseline\n") || !strings.Contains(out, "\n"+manifest+":10:23  CRITICAL  privileged-container  ") {
		t.Errorf("fixed, text:\n%s", out)
	}

	// The same report in SARIF, JUnit: the flags are accepted, exit codes
	// follow --fail-on-new whatever the format.
	write(t, manifest, basePod)
	for _, format := range []string{"sarif", "junit", "openreports"} {
		out, errOut, code := run("scan", "-o", format, "--baseline", old, "--fail-on-new", manifest)
		if code != ExitOK {
			t.Errorf("-o %s: exit %d\n%s", format, code, errOut)
		}
		if format == "sarif" && (!strings.Contains(out, `"baselineState": "unchanged"`) || strings.Contains(out, `"baselineState": "new"`)) {
			t.Errorf("-o sarif: no baselineState unchanged on every result:\n%s", out)
		}
	}
}

// A baseline written by another kubeharden version (fewer fields, another
// version string) compares the same.
func TestBaselineOtherVersion(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pod.yaml")
	write(t, manifest, basePod)
	old := filepath.Join(dir, "v0.json")
	write(t, old, `{"version": "v0.1.0", "findings": [{"check": "privileged-container", "severity": "critical",
	  "message": "container \"web\" must not set securityContext.privileged=true",
	  "object": {"kind": "Pod", "name": "web", "namespace": "shop"},
	  "location": {"file": "`+manifest+`", "line": 3},
	  "path": "spec.containers[0].securityContext.privileged"}]}`)
	out, errOut, code := run("scan", "-o", "json", "--baseline", old, manifest)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	doc := decodeReport(t, out)
	for _, f := range doc.Findings {
		if want := map[bool]string{true: "unchanged", false: "new"}[f.Check == "privileged-container"]; f.Baseline != want {
			t.Errorf("%s is %q, want %q", f.Check, f.Baseline, want)
		}
	}
	if _, _, code := run("scan", "--baseline", old, "--fail-on-new", "--fail-on", "critical", manifest); code != ExitOK {
		t.Errorf("the only critical finding is in the baseline: exit %d, want 0", code)
	}
}

// A bad baseline is a usage error: exit 2, the file and the place named,
// nothing scanned or written.
func TestBadBaseline(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pod.yaml")
	write(t, manifest, basePod)
	corrupt := filepath.Join(dir, "corrupt.json")
	write(t, corrupt, "{\n  \"findings\": [\n    {\"check\": \"x\",,\n")
	huge := filepath.Join(dir, "huge.json")
	write(t, huge, `{"findings": [`+strings.Repeat(`{"check": "c", "severity": "low"},`, 10000)+`{"check": "c", "severity": "low"}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"corrupt", []string{"--baseline", corrupt}, "kubeharden: error: " + corrupt + ":3:5: baseline is not valid JSON: findings[0]: invalid character"},
		{"huge", []string{"--baseline", huge, "--max-baseline-size", "64KiB"}, "kubeharden: error: reading baseline " + huge + ": exceeds the baseline size limit of 64 KiB (raise it with --max-baseline-size)"},
		{"missing", []string{"--baseline", filepath.Join(dir, "nope.json")}, "kubeharden: error: reading baseline: open " + filepath.Join(dir, "nope.json") + ": no such file or directory"},
		{"a directory", []string{"--baseline", dir}, "not a regular file"},
		{"the manifest", []string{"--baseline", manifest}, manifest + ":1:1: baseline is not valid JSON"},
		{"no baseline", []string{"--fail-on-new"}, "kubeharden: error: --fail-on-new needs --baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(append(append([]string{"scan"}, tc.args...), manifest)...)
			if code != ExitError || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, out, errOut, tc.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// fix --exit-code: 1 when something was fixed or, without --write, would
// be; 0 when nothing was; 2 still wins for input errors.
func TestFixExitCode(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pod.yaml")
	write(t, manifest, basePod)
	if out, errOut, code := run("fix", "--exit-code", manifest); code != ExitFindings || !strings.Contains(out, "+++ b/"+manifest) {
		t.Errorf("diff: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if _, _, code := run("fix", manifest); code != ExitOK {
		t.Errorf("diff without --exit-code: exit %d, want 0", code)
	}
	if _, errOut, code := run("fix", "--write", "--exit-code", manifest); code != ExitFindings {
		t.Errorf("--write: exit %d, want 1\n%s", code, errOut)
	}
	if out, errOut, code := run("fix", "--write", "--exit-code", manifest); code != ExitOK {
		t.Errorf("--write again: exit %d, want 0 (nothing left to fix)\n%s\n%s", code, out, errOut)
	}
	if _, _, code := run("fix", "--exit-code", manifest, filepath.Join(dir, "missing.yaml")); code != ExitError {
		t.Errorf("input error: exit %d, want 2", code)
	}
}

// TestBaselineCorpus: the real-world corpus (manifests, charts,
// kustomizations), every YAML file shifted down two lines by a comment,
// compared with its report from before: every finding moved, none is new,
// none fixed.
func TestBaselineCorpus(t *testing.T) {
	src := corpustest.Dir(t, "real")
	dir := filepath.Join(t.TempDir(), "real")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.json")
	if _, errOut, code := run("scan", "-o", "json", "--fail-on", "none", "--output-file", old, dir); code != ExitOK {
		t.Fatalf("first scan: exit %d\n%s", code, errOut)
	}
	shifted := 0
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		shifted++
		return os.WriteFile(p, append([]byte("# shifted\n# by two lines\n"), data...), 0o644)
	})
	if err != nil || shifted == 0 {
		t.Fatalf("shifting: %v, %d files", err, shifted)
	}
	out, errOut, code := run("scan", "-o", "json", "--fail-on", "low", "--baseline", old, "--fail-on-new", dir)
	if code != ExitOK {
		t.Fatalf("shifted corpus: exit %d, want 0\n%s", code, errOut)
	}
	before, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	a, b := decodeReport(t, string(before)), decodeReport(t, out)
	moved := 0
	for i := range min(len(a.Findings), len(b.Findings)) {
		if a.Findings[i].Location.Line != b.Findings[i].Location.Line {
			moved++
		}
	}
	s := b.Summary.Baseline
	if len(b.Findings) < 1000 || moved < len(b.Findings)*9/10 || s.New != 0 || s.Fixed != 0 || s.Unchanged != len(a.Findings) {
		t.Errorf("%d findings (%d before), %d moved; summary %+v: want all unchanged", len(b.Findings), len(a.Findings), moved, s)
	}
}
