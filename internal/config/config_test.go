package config

import (
	"strings"
	"testing"
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
