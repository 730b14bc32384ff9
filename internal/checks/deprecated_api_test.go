package checks

import (
	"slices"
	"testing"
)

// TestDeprecatedAPIVersions judges the same objects against several
// target versions: nothing before the deprecation, "deprecated" until the
// removal, "removed" from then on, and the newest release without one.
func TestDeprecatedAPIVersions(t *testing.T) {
	const manifest = `apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: report
            image: report:1.0
---
apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: PriorityLevelConfiguration
metadata:
  name: batch
`
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"v1.20.4", nil},
		{"1.21", []string{"CronJob uses batch/v1beta1, deprecated in 1.21 and removed in 1.25: use batch/v1"}},
		{"1.25", []string{"CronJob uses batch/v1beta1, removed in 1.25: use batch/v1"}},
		{"1.29", []string{
			"CronJob uses batch/v1beta1, removed in 1.25: use batch/v1",
			"PriorityLevelConfiguration uses flowcontrol.apiserver.k8s.io/v1beta3, deprecated in 1.29 and removed in 1.32: use flowcontrol.apiserver.k8s.io/v1",
		}},
		{"", []string{
			"CronJob uses batch/v1beta1, removed in 1.25: use batch/v1",
			"PriorityLevelConfiguration uses flowcontrol.apiserver.k8s.io/v1beta3, removed in 1.32: use flowcontrol.apiserver.k8s.io/v1",
		}},
	} {
		cfg := ""
		if tc.version != "" {
			cfg = "parameters:\n  kubernetesVersion: " + tc.version + "\n"
		}
		if got := scanManifestFor(t, "deprecated-api", cfg, manifest); !slices.Equal(got, tc.want) {
			t.Errorf("version %q:\n got %q\nwant %q", tc.version, got, tc.want)
		}
	}
}
