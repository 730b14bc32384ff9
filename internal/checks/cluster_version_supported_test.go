package checks

import (
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// TestClusterVersionSeverity: end of life at the check's severity,
// maintenance mode one lower, also when the configuration raises it; no
// object, no line.
func TestClusterVersionSeverity(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		cfg     string
		version string
		want    check.Severity
	}{
		{"", "1.31", check.High},
		{"", "1.32", check.Medium},
		{"checks:\n  severity:\n    cluster-version-supported: critical\n", "1.32", check.High},
		{"checks:\n  severity:\n    cluster-version-supported: info\n", "1.32", check.Info},
	} {
		cfg, err := config.Parse(config.FileName, []byte(tc.cfg), func(id string) bool { return Registry().Get(id) != nil })
		if err != nil {
			t.Fatal(err)
		}
		v, _ := k8sversion.Parse(tc.version)
		res := scan.RunCluster(clustercheck.Target{Version: v}, scan.Options{Registry: Registry(), Policy: policy.New(cfg, Registry(), day)})
		if len(res.Findings) != 1 {
			t.Fatalf("%s: %d findings, want 1", tc.version, len(res.Findings))
		}
		f := res.Findings[0]
		if f.Severity != tc.want || f.Object != nil || f.Location != (check.Location{}) || f.Path != "version" {
			t.Errorf("%s with %q: %+v, want severity %v, no object, no location", tc.version, tc.cfg, f, tc.want)
		}
		ran := false
		for _, c := range res.Checks {
			ran = ran || c.ID == "cluster-version-supported"
			if c.Target != check.Cluster {
				t.Errorf("object check %s run on the cluster", c.ID)
			}
		}
		if !ran {
			t.Errorf("cluster-version-supported not among the checks run")
		}
	}
}
