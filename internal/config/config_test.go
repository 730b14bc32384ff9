package config

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
)

// TestParseErrorLines: every config error names the file and the line of
// the value at fault, and configs that would silently do nothing (a glob
// that never matches, a check both selected and disabled) are errors.
func TestParseErrorLines(t *testing.T) {
	known := func(id string) bool { return id == "a" || id == "b" }
	for _, c := range []struct{ name, data, want string }{
		{"unknown check", "checks:\n  disable:\n  - a\n  - nope\n", `k.yaml:4: checks.disable: unknown check "nope"`},
		{"unknown only", "checks:\n  only: [a,\n    nope]\n", `k.yaml:3: checks.only: unknown check "nope"`},
		{"only and disable", "checks:\n  only: [a, b]\n  disable:\n  - b\n", `k.yaml:4: checks.disable: "b" is in checks.only too`},
		{"unknown severity check", "checks:\n  severity:\n    a: high\n    nope: low\n", `k.yaml:4: checks.severity: unknown check "nope"`},
		{"bad severity", "checks:\n  severity:\n    a: high\n    b: awful\n", `k.yaml:4: checks.severity.b:`},
		{"out of range", "parameters:\n  minUID: 10\n  maxUID: -5\n", `k.yaml:3: parameters.maxUID: -5 is not a valid ID`},
		{"max below min", "parameters:\n  minGID: 10\n  maxGID: 5\n", `k.yaml:3: parameters: maxGID 5 is below minGID 10`},
		{"version", "parameters:\n\n  podSecurityVersion: v2\n", `k.yaml:3: parameters.podSecurityVersion`},
		{"fix uid", "fix:\n  uid: 5\n", `k.yaml:2: fix.uid: 5 is outside`},
		{"fix quantity", "fix:\n  resources:\n    limits:\n      memory: lots\n", `k.yaml:4: fix.resources.limits.memory: "lots" is not a positive quantity`},
		{"fix limit below request", "fix:\n  resources:\n    requests: {cpu: 2}\n    limits: {cpu: 1}\n", `k.yaml:4: fix.resources.limits.cpu 1 is below the request 2`},
		{"path glob", "exemptions:\n- reason: r\n  path: \"deploy/[\"\n", `k.yaml:3: exemptions[0].path: "deploy/[" is not a valid glob`},
		{"name glob", "exemptions:\n- reason: r\n  kind: Pod\n  name: \"[\"\n", `k.yaml:4: exemptions[0].name: "[" is not a valid glob`},
		{"exemption check", "exemptions:\n- reason: r\n  kind: Pod\n  checks: [a, nope]\n", `k.yaml:4: exemptions[0].checks: unknown check "nope"`},
		{"expires", "exemptions:\n- reason: r\n  kind: Pod\n  expires: soon\n", `k.yaml:4: exemptions[0].expires`},
		{"admission key", "admission:\n  mode: warn\n  mutates: [a]\n", `k.yaml: line 3: field mutates is not a known key in admission`},
		{"admission mode", "admission:\n  mode: deny\n", `k.yaml:2: admission.mode: unknown mode "deny"`},
		{"admission severity", "admission:\n  severity:\n    high: enforce\n    dire: enforce\n", `k.yaml:4: admission.severity: unknown severity "dire"`},
		{"admission severity mode", "admission:\n  severity:\n    high: block\n", `k.yaml:3: admission.severity.high: unknown mode "block"`},
		{"admission check", "admission:\n  checks:\n    a: enforce\n    nope: warn\n", `k.yaml:4: admission.checks: unknown check "nope"`},
		{"admission check mode", "admission:\n  checks:\n    a: Enforce\n", `k.yaml:3: admission.checks.a: unknown mode "Enforce"`},
		{"admission mutate", "admission:\n  mutate:\n  - a\n  - nope\n", `k.yaml:4: admission.mutate: unknown check "nope"`},
		{"admission namespace", "admission:\n  excludeNamespaces: [ok, Not_OK]\n", `k.yaml:2: admission.excludeNamespaces: "Not_OK" is not a namespace name`},
		{"admission failure policy", "admission:\n  failurePolicy: ignore\n", `k.yaml:2: admission.failurePolicy: "ignore" is neither Ignore nor Fail`},
		{"vulnerability severity", "vulnerabilities:\n  severity: dire\n", `k.yaml:2: vulnerabilities.severity:`},
		{"database age", "vulnerabilities:\n  maxDatabaseAge: a week\n", `k.yaml:2: vulnerabilities.maxDatabaseAge: "a week" is not a positive duration`},
		{"database age days", "vulnerabilities:\n  maxDatabaseAge: 0d\n", `k.yaml:2: vulnerabilities.maxDatabaseAge: "0d" is not a number of days`},
		{"ignore reason", "vulnerabilities:\n  ignore:\n  - id: CVE-1\n  - id: CVE-2\n", `k.yaml:3: vulnerabilities.ignore[0]: a reason is required`},
		{"ignore id", "vulnerabilities:\n  ignore:\n  - reason: r\n", `k.yaml:3: vulnerabilities.ignore[0]: an id is required`},
		{"ignore expires", "vulnerabilities:\n  ignore:\n  - id: CVE-1\n    reason: r\n    expires: 2024-13-01\n", `k.yaml:5: vulnerabilities.ignore[0].expires: "2024-13-01" is not a date`},
		{"ignore key", "vulnerabilities:\n  ignore:\n  - cve: CVE-1\n", `k.yaml: line 3: field cve is not a known key in vulnerabilities.ignore`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("k.yaml", []byte(c.data), known)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Parse("k.yaml", []byte("checks: {only: [a], disable: [b]}\nexemptions:\n- {reason: r, path: \"**/x/**/*.yaml\", name: \"web-*\"}\n"), known); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// TestAdmissionModeOf: a check's own mode wins over its severity's, which
// wins over the default; without any, findings warn.
func TestAdmissionModeOf(t *testing.T) {
	known := func(id string) bool { return id == "a" || id == "b" }
	c, err := Parse("k.yaml", []byte("admission:\n  mode: audit\n  severity: {critical: enforce}\n  checks: {a: warn}\n  mutate: [a]\n  failurePolicy: Fail\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		id   string
		sev  check.Severity
		want string
	}{{"a", check.Critical, Warn}, {"b", check.Critical, Enforce}, {"b", check.High, Audit}} {
		if got := c.Admission.ModeOf(x.id, x.sev); got != x.want {
			t.Errorf("ModeOf(%s, %s) = %s, want %s", x.id, x.sev, got, x.want)
		}
	}
	if got := Default().Admission.ModeOf("a", check.Critical); got != Warn {
		t.Errorf("default mode %s, want warn", got)
	}
}
