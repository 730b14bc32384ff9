package checks

import (
	"slices"
	"testing"
)

// TestNamespaceDefaultDenyEgressParam covers both values of
// egressDefaultDeny on the same input; the testdata harness can set
// parameters only per directory.
func TestNamespaceDefaultDenyEgressParam(t *testing.T) {
	const manifest = `# Denies ingress and egress.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: both}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
# Denies ingress; egress is implied only by egress rules, and there are none.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ingress}
spec:
  podSelector: {}
---
# Denies egress in a policy of its own, and ingress in another.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: split}
spec:
  podSelector: {}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: split}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
# Egress to DNS only is not a default deny of egress.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: dns}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: both}
spec: {containers: [{name: a, image: "registry/a:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ingress}
spec: {containers: [{name: a, image: "registry/a:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: split}
spec: {containers: [{name: a, image: "registry/a:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: dns}
spec: {containers: [{name: a, image: "registry/a:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: none}
spec: {containers: [{name: a, image: "registry/a:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: none}
spec: {containers: [{name: b, image: "registry/b:v1"}]}
`
	const (
		noneIngress = `namespace "none" must have a default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no rules)`
		noneEgress  = `namespace "none" must have a default-deny egress NetworkPolicy (podSelector {}, policyTypes [Egress], no rules)`
	)
	for _, tt := range []struct {
		config string
		want   []string
	}{
		{"", []string{noneIngress}},
		{"parameters: {egressDefaultDeny: false}\n", []string{noneIngress}},
		{"parameters: {egressDefaultDeny: true}\n", []string{
			`namespace "ingress" must have a default-deny egress NetworkPolicy (podSelector {}, policyTypes [Egress], no rules)`,
			`namespace "dns" must have a default-deny egress NetworkPolicy (podSelector {}, policyTypes [Egress], no rules)`,
			noneEgress,
			noneIngress,
		}},
	} {
		got := scanManifestFor(t, "namespace-default-deny", tt.config, manifest)
		if !slices.Equal(got, tt.want) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}
