package checks

import (
	"slices"
	"testing"
)

const uidRangeManifest = `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 1000
  containers:
  - name: inherits
    image: registry/api:v1
  - name: unset-but-inherits
    image: registry/api:v1
    securityContext:
      runAsNonRoot: true
  - name: root
    image: registry/api:v1
    securityContext: {runAsUser: 0}
  - name: mid
    image: registry/api:v1
    securityContext: {runAsUser: 50000}
  - name: seed003
    image: registry/api:v1
    securityContext: {runAsUser: 69096}
`

// TestRunAsHighUIDParams covers minUID and maxUID, whose defaults (10000,
// no maximum) the testdata uses.
func TestRunAsHighUIDParams(t *testing.T) {
	for _, tt := range []struct {
		config string
		want   []string
	}{
		{"", []string{
			`container "inherits" must set securityContext.runAsUser >= 10000, not 1000 inherited from the pod: a low UID collides with host users (101 is syslog on many hosts)`,
			`container "unset-but-inherits" must set securityContext.runAsUser >= 10000, not 1000 inherited from the pod: a low UID collides with host users (101 is syslog on many hosts)`,
			`container "root" must set securityContext.runAsUser >= 10000, not 0: UID 0 is root`,
		}},
		// Seed 003 recommends 40000-60000, then uses 69096 itself.
		{"parameters: {minUID: 40000, maxUID: 60000}\n", []string{
			`container "inherits" must set securityContext.runAsUser between 40000 and 60000, not 1000 inherited from the pod: a low UID collides with host users (101 is syslog on many hosts)`,
			`container "unset-but-inherits" must set securityContext.runAsUser between 40000 and 60000, not 1000 inherited from the pod: a low UID collides with host users (101 is syslog on many hosts)`,
			`container "root" must set securityContext.runAsUser between 40000 and 60000, not 0: UID 0 is root`,
			`container "seed003" must set securityContext.runAsUser between 40000 and 60000, not 69096`,
		}},
		{"parameters: {minUID: 1000, maxUID: 60000}\n", []string{
			`container "root" must set securityContext.runAsUser between 1000 and 60000, not 0: UID 0 is root`,
			`container "seed003" must set securityContext.runAsUser between 1000 and 60000, not 69096`,
		}},
		// minUID 0 leaves root to run-as-non-root; only the maximum counts.
		{"parameters: {minUID: 0, maxUID: 65535}\n", []string{
			`container "seed003" must set securityContext.runAsUser <= 65535, not 69096`,
		}},
	} {
		got := scanManifestFor(t, "run-as-high-uid", tt.config, uidRangeManifest)
		if !slices.Equal(got, tt.want) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}

// TestRunAsHighUIDUnset covers the message for an unset runAsUser under
// each kind of range, including no range at all.
func TestRunAsHighUIDUnset(t *testing.T) {
	const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: api
    image: registry/api:v1
`
	for _, tt := range []struct{ config, want string }{
		{"", `container "api" must set securityContext.runAsUser >= 10000`},
		{"parameters: {maxUID: 60000}\n", `container "api" must set securityContext.runAsUser between 10000 and 60000`},
		{"parameters: {minUID: 0, maxUID: 60000}\n", `container "api" must set securityContext.runAsUser <= 60000`},
		{"parameters: {minUID: 0}\n", `container "api" must set securityContext.runAsUser`},
	} {
		got := scanManifestFor(t, "run-as-high-uid", tt.config, manifest)
		if !slices.Equal(got, []string{tt.want}) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}
