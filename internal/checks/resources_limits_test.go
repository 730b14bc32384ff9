package checks

import (
	"slices"
	"testing"
)

// TestResourcesLimitsCPUParam covers both values of cpuLimits on the same
// input; the testdata harness can only set parameters for pass/ data.
func TestResourcesLimitsCPUParam(t *testing.T) {
	const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: none
    image: registry/api:v1
  - name: memory-only
    image: registry/api:v1
    resources:
      limits: {memory: 64Mi}
  - name: cpu-only
    image: registry/api:v1
    resources:
      limits: {cpu: 100m}
`
	for _, tt := range []struct {
		config string
		want   []string
	}{
		{"", []string{
			`container "none" has no cpu or memory limit`,
			`container "memory-only" has no cpu limit`,
			`container "cpu-only" has no memory limit`,
		}},
		{"parameters: {cpuLimits: true}\n", []string{
			`container "none" has no cpu or memory limit`,
			`container "memory-only" has no cpu limit`,
			`container "cpu-only" has no memory limit`,
		}},
		{"parameters: {cpuLimits: false}\n", []string{
			`container "none" has no memory limit`,
			`container "cpu-only" has no memory limit`,
		}},
	} {
		got := scanManifestFor(t, "resources-limits", tt.config, manifest)
		if !slices.Equal(got, tt.want) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}
