package checks

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/scan"
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
	dir := t.TempDir()
	file := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { return Registry().Get(id) != nil }
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
		cfg, err := config.Parse(config.FileName, []byte(tt.config), known)
		if err != nil {
			t.Fatal(err)
		}
		res := scan.Run(context.Background(), []string{file}, scan.Options{Registry: Registry(), Config: cfg})
		if len(res.Errors) > 0 {
			t.Fatalf("input errors: %v", res.Errors)
		}
		var got []string
		for _, f := range res.Findings {
			if f.Check == "resources-limits" {
				got = append(got, f.Message)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}
