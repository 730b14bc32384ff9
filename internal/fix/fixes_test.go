package fix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

func resolveAll(ref string) (string, error) { return "sha256:" + strings.Repeat("ab", 32), nil }

// TestEveryFixClearsItsFindings: on every fail fixture of every fixable
// object check, the check's fix clears each of its findings, or reports
// why it left one alone.
func TestEveryFixClearsItsFindings(t *testing.T) {
	reg := checks.Registry()
	tried := 0
	for _, c := range reg.Objects() {
		if c.Fix == nil {
			continue
		}
		files, _ := filepath.Glob(filepath.Join("..", "checks", "testdata", c.ID, "fail", "*.yaml"))
		if len(files) == 0 {
			t.Errorf("%s: no fail fixtures", c.ID)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var skipped []fix.Skipped
			opts := fix.Options{
				Checks:    map[string]bool{c.ID: true},
				FixValues: check.FixValues{Resources: &fix.DefaultResources, Resolve: resolveAll},
				Skip:      func(s fix.Skipped) { skipped = append(skipped, s) },
			}
			out, _, err := fix.Manifest(data, opts)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			tried++
			p := filepath.Join(t.TempDir(), "out.yaml")
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
			left := 0
			for _, f := range scantest.Paths([]string{p}, scan.Options{Registry: reg}).Findings {
				if f.Check == c.ID {
					left++
				}
			}
			explained := 0
			for _, s := range skipped {
				if s.Check == c.ID && s.Reason != "" {
					explained++
				}
			}
			if left > explained {
				t.Errorf("%s: %d %s findings left after the fix, %d explained:\n%s", file, left, c.ID, explained, out)
			}
		}
	}
	if tried < 20 {
		t.Errorf("only %d fixtures tried", tried)
	}
}

// TestEscalationFixRefused reproduces a fix that the API server would
// reject: allowPrivilegeEscalation=false beside privileged: true or an
// added SYS_ADMIN. The check still finds escalation there, so the fix is
// refused with the reason, and the file is left as written.
func TestEscalationFixRefused(t *testing.T) {
	in := []byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: nginx:1
    securityContext:
      privileged: true
  - name: b
    image: nginx:1
    securityContext:
      capabilities:
        add: [SYS_ADMIN]
`)
	var skipped []fix.Skipped
	out, applied, err := fix.Manifest(in, fix.Options{
		Checks: map[string]bool{"allow-privilege-escalation": true},
		Skip:   func(s fix.Skipped) { skipped = append(skipped, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 || string(out) != string(in) {
		t.Errorf("fix applied %v:\n%s", applied, out)
	}
	if len(skipped) != 2 || skipped[0].Check != "allow-privilege-escalation" || !strings.Contains(skipped[0].Reason, "does not clear") {
		t.Errorf("skipped = %+v", skipped)
	}

	// A container that can be fixed still is, beside one that cannot: the
	// refused fix is tried again container by container.
	in2 := []byte(strings.Replace(string(in), "  - name: b\n    image: nginx:1\n    securityContext:\n      capabilities:\n        add: [SYS_ADMIN]\n", "  - name: b\n    image: nginx:1\n", 1))
	skipped = nil
	out, applied, err = fix.Manifest(in2, fix.Options{
		Checks: map[string]bool{"allow-privilege-escalation": true},
		Skip:   func(s fix.Skipped) { skipped = append(skipped, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0].Path != "spec.containers[1].securityContext.allowPrivilegeEscalation" ||
		len(skipped) != 1 || skipped[0].Line != 10 {
		t.Errorf("applied %v, skipped %v:\n%s", applied, skipped, out)
	}
	if !strings.Contains(string(out), "    securityContext:\n      privileged: true\n  - name: b") {
		t.Errorf("container a changed:\n%s", out)
	}
}

// TestEmptyReasonSuppressesNothing reproduces the disagreement between
// scan and fix: an ignore annotation with an empty reason is an
// invalid-suppression finding, the check's finding still counts, and fix
// fixes it.
func TestEmptyReasonSuppressesNothing(t *testing.T) {
	in := []byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    ignore.kubeharden.io/privileged-container: ""
spec:
  containers:
  - name: c
    image: nginx:1
    securityContext:
      privileged: true
`)
	res := scantest.Stdin(in, scan.Options{Registry: checks.Registry()})
	got := map[string]bool{}
	for _, f := range res.Findings {
		got[f.Check] = true
	}
	if !got["privileged-container"] || !got["invalid-suppression"] {
		t.Errorf("scan: %v", got)
	}
	_, applied, err := fix.Manifest(in, fix.Options{Checks: map[string]bool{"privileged-container": true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0].Check != "privileged-container" {
		t.Errorf("fix applied %v", applied)
	}
	// With a reason it suppresses, for both.
	in = []byte(strings.Replace(string(in), `privileged-container: ""`, `privileged-container: "node agent"`, 1))
	res = scantest.Stdin(in, scan.Options{Registry: checks.Registry()})
	for _, f := range res.Findings {
		if f.Check == "privileged-container" || f.Check == "invalid-suppression" {
			t.Errorf("scan: %s: %s", f.Check, f.Message)
		}
	}
	if _, applied, _ := fix.Manifest(in, fix.Options{Checks: map[string]bool{"privileged-container": true}}); len(applied) != 0 {
		t.Errorf("suppressed finding fixed: %v", applied)
	}
}

// TestRiskSaysWhatChanges: a pod that runs as UID 1000 is told that its
// UID changes from 1000 to the fix UID, not that the image may expect root.
func TestRiskSaysWhatChanges(t *testing.T) {
	in := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    runAsUser: 1000\n  containers:\n  - name: c\n    image: nginx:1\n")
	_, applied, err := fix.Manifest(in, fix.Options{Checks: map[string]bool{"run-as-non-root": true, "run-as-high-uid": true}})
	if err != nil {
		t.Fatal(err)
	}
	risks := map[string]string{}
	for _, a := range applied {
		risks[a.Check] = a.Risk
	}
	if r := risks["run-as-high-uid"]; !strings.Contains(r, "UID 1000 to 50000") || !strings.Contains(r, "no longer be writable") {
		t.Errorf("run-as-high-uid risk %q", r)
	}
	for _, a := range applied {
		if strings.Contains(a.Risk, "root") {
			t.Errorf("%s: risk %q on a pod that runs as UID 1000", a.Check, a.Risk)
		}
	}
}
