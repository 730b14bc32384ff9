package admissionpolicy_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/admissionpolicy"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden generates the policies of a small configuration: parameters
// baked into the CEL, a severity override choosing the action, exemptions
// as match conditions (a path exemption and an expired one left out), a
// check that is not covered listed in the header.
func TestGolden(t *testing.T) {
	reg := checks.Registry()
	cfg, err := config.Load(filepath.Join("testdata", "config.yaml"), func(id string) bool { return reg.Get(id) != nil })
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.New(cfg, reg, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	acts, err := admissionpolicy.ParseActions([]string{"Deny+Audit", "low=Warn"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := admissionpolicy.Generate(admissionpolicy.Options{Registry: reg, Policy: pol, Actions: acts, Mutate: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := out.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (go test -update to rewrite):\n%s", golden, got)
	}
	for _, s := range []string{
		`"CAP_CHOWN"`, "> 60000", "< 40000", // parameters
		"^legacy-[^/]*$", "^node-agent$", // exemptions
		"helm-tiller:", // not covered, in the header
	} {
		if !strings.Contains(string(got), s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if strings.Contains(string(got), "exemption-3") {
		t.Error("an expired exemption became a match condition")
	}
}

// TestCoverage: every object check is either covered or has a reason.
func TestCoverage(t *testing.T) {
	for _, c := range admissionpolicy.CoverageOf(checks.Registry()) {
		if !c.Covered && c.Reason == "" {
			t.Errorf("%s: neither covered nor explained", c.ID)
		}
		if c.Covered && checks.Registry().Get(c.ID).Target != check.Objects {
			t.Errorf("%s: covered but not an object check", c.ID)
		}
	}
}

func TestParseActions(t *testing.T) {
	for _, bad := range []string{"Allow", "Deny+Warn", "urgent=Deny"} {
		if _, err := admissionpolicy.ParseActions([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	a, err := admissionpolicy.ParseActions([]string{"Warn", "critical=Deny+Audit"})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.For(check.Critical); len(got) != 2 || got[0] != "Deny" || got[1] != "Audit" {
		t.Errorf("critical: %v", got)
	}
	if got := a.For(check.Low); len(got) != 1 || got[0] != "Warn" {
		t.Errorf("low: %v", got)
	}
}

// TestPSSVersion: the Pod Security policies encode the newest version
// only; at an older parameters.podSecurityVersion they are listed as not
// covered, with the reason, rather than generated wrong.
func TestPSSVersion(t *testing.T) {
	reg := checks.Registry()
	for _, tt := range []struct {
		version string
		covered bool
	}{{"", true}, {"latest", true}, {"v1.37", true}, {"1.40", true}, {"v1.30", false}, {"v1.36", false}} {
		data := ""
		if tt.version != "" {
			data = "parameters: {podSecurityVersion: \"" + tt.version + "\"}\n"
		}
		cfg, err := config.Parse("c.yaml", []byte(data), func(id string) bool { return reg.Get(id) != nil })
		if err != nil {
			t.Fatal(err)
		}
		out, err := admissionpolicy.Generate(admissionpolicy.Options{Registry: reg, Policy: policy.New(cfg, reg, time.Time{}),
			Only: []string{"pss-baseline", "pss-restricted"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(out.Validating) == 2; got != tt.covered {
			t.Errorf("version %q: generated %d policies, want covered %v", tt.version, len(out.Validating), tt.covered)
		}
		if !tt.covered && (len(out.NotCovered) != 2 || !strings.Contains(out.NotCovered[0].Reason, "podSecurityVersion "+tt.version)) {
			t.Errorf("version %q: not covered %+v", tt.version, out.NotCovered)
		}
	}
}
