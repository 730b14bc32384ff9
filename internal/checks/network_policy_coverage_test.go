package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// TestNetworkPolicyCoverageAcrossFiles puts the policies in a file after
// the workloads', as a repository with a policies/ directory does.
func TestNetworkPolicyCoverageAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a-workloads.yaml", `apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: api, image: "registry/api:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, image: "registry/web:v1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: staging, labels: {app: api}}
spec: {containers: [{name: api, image: "registry/api:v1"}]}
`)
	write("b-policies.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: staging}
spec:
  podSelector: {}
`)
	res := scantest.Paths([]string{dir}, scan.Options{Registry: Registry()})
	if len(res.Errors) > 0 {
		t.Fatalf("input errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		switch f.Check {
		case "network-policy-coverage", "namespace-default-deny":
			got = append(got, fmt.Sprintf("%s:%d %s: %s", filepath.Base(f.Location.File), f.Location.Line, f.Check, f.Message))
		}
	}
	want := []string{
		`a-workloads.yaml:3 namespace-default-deny: namespace "shop" must have a default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no rules)`,
		`a-workloads.yaml:8 network-policy-coverage: pod must be selected by a NetworkPolicy that restricts ingress in namespace "shop"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNetpolCoverageDedupes checks that a namespace's many identical
// policies are matched as one selector, and verdicts are cached by label
// set, which keeps a large scan linear.
func TestNetpolCoverageDedupes(t *testing.T) {
	idx := check.NewIndex("")
	for range 1000 {
		sel := netpolParseSelector(netpolTestNode(t, "matchLabels: {app: api}"))
		idx.AddKept(netpolCoverageKey("shop"), &sel)
	}
	other := netpolParseSelector(netpolTestNode(t, "matchExpressions: [{key: app, operator: In, values: [web]}]"))
	idx.AddKept(netpolCoverageKey("shop"), &other)
	c := netpolCoverageIn(idx, "shop")
	if len(c.selectors) != 2 || c.all {
		t.Fatalf("got %d selectors (all=%v), want 2", len(c.selectors), c.all)
	}
	api := netpolLabelsKey(netpolTestNode(t, "{app: api, tier: backend}"))
	db := netpolLabelsKey(netpolTestNode(t, "{app: db}"))
	if !c.covers(api) || c.covers(db) || !c.covers(api) {
		t.Error("wrong verdicts")
	}
	if len(c.verdicts) != 2 {
		t.Errorf("%d cached verdicts, want 2", len(c.verdicts))
	}
	if netpolCoverageIn(idx, "shop") != c {
		t.Error("the namespace's coverage is computed more than once")
	}

	// A policy selecting every pod makes the selectors moot.
	all := netpolParseSelector(netpolTestNode(t, "{}"))
	idx.AddKept(netpolCoverageKey("prod"), &other)
	idx.AddKept(netpolCoverageKey("prod"), &all)
	if c := netpolCoverageIn(idx, "prod"); !c.all || !c.covers(db) {
		t.Error("a select-all policy does not cover every pod")
	}
	if c := netpolCoverageIn(idx, "empty"); c.covers(api) {
		t.Error("a namespace without policies covers pods")
	}
}
