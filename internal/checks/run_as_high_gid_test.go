package checks

import (
	"slices"
	"testing"
)

// TestGIDParams covers minGID and maxGID for runAsGroup and fsGroup, which
// share them.
func TestGIDParams(t *testing.T) {
	const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext:
        runAsGroup: 2866
        fsGroup: 2866
      containers:
      - name: inherits
        image: registry/web:v1
      - name: high
        image: registry/web:v1
        securityContext: {runAsGroup: 70000}
`
	for _, tt := range []struct {
		id, config string
		want       []string
	}{
		{"run-as-high-gid", "", []string{
			`container "inherits" must set securityContext.runAsGroup >= 10000, not 2866 inherited from the pod: a low GID collides with host groups`,
		}},
		{"run-as-high-gid", "parameters: {minGID: 1000, maxGID: 65535}\n", []string{
			`container "high" must set securityContext.runAsGroup between 1000 and 65535, not 70000`,
		}},
		{"fs-group", "", []string{
			`pod must set securityContext.fsGroup >= 10000, not 2866: a low GID collides with host groups`,
		}},
		{"fs-group", "parameters: {minGID: 1000}\n", nil},
		{"fs-group", "parameters: {minGID: 1000, maxGID: 2000}\n", []string{
			`pod must set securityContext.fsGroup between 1000 and 2000, not 2866`,
		}},
	} {
		got := scanManifestFor(t, tt.id, tt.config, manifest)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s, config %q:\n got %q\nwant %q", tt.id, tt.config, got, tt.want)
		}
	}
}
