package text

import (
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// TestVulnerabilityCounts: counted by image and severity, suppressed ones
// apart, other findings ignored.
func TestVulnerabilityCounts(t *testing.T) {
	v := &check.Vulnerability{ID: "CVE-1"}
	at := func(ref string, sev check.Severity, vv *check.Vulnerability) check.Finding {
		f := check.Finding{Check: "image-vulnerability", Severity: sev, Location: check.Location{File: ref}}
		f.SetVulnerability(vv)
		return f
	}
	res := &scan.Result{
		Findings: []check.Finding{
			at("a", check.Critical, v), at("a", check.Medium, v), at("a", check.Medium, v), at("b", check.Low, v),
			at("a", check.High, nil),
		},
		Suppressed: []check.Finding{at("a", check.High, v), at("c", check.High, v)},
	}
	got := vulnerabilityCounts(res)
	for ref, want := range map[string]string{"a": "3 (1 critical, 2 medium), 1 suppressed", "b": "1 (1 low)", "c": "0, 1 suppressed"} {
		if c := got[ref]; c == nil || c.String() != want {
			t.Errorf("%s: %v, want %q", ref, c, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d images counted, want 3", len(got))
	}
}
