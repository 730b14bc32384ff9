package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/pod-security-admission/api"

	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// TestPSSVersions evaluates pods whose verdict changed between policy
// versions at the version parameter's values.
func TestPSSVersions(t *testing.T) {
	const (
		probeHost = `{containers: [{name: a, image: "r/a:1", readinessProbe: {httpGet: {host: 10.0.0.1, port: 80}}}]}`
		// Hardened for restricted but for the root UID.
		rootUID = `{securityContext: {runAsNonRoot: true, runAsUser: 0, seccompProfile: {type: RuntimeDefault}},
  containers: [{name: a, image: "r/a:1", securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}`
		// A user namespace makes UID 0 unprivileged on the node.
		userNS = `{hostUsers: false, securityContext: {runAsUser: 0, seccompProfile: {type: RuntimeDefault}},
  containers: [{name: a, image: "r/a:1", securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}`
		windows = `{os: {name: windows}, securityContext: {runAsNonRoot: true}, containers: [{name: a, image: "r/a:1"}]}`
		// net.ipv4.tcp_keepalive_time is allowed from v1.29 on.
		sysctl = `{securityContext: {sysctls: [{name: net.ipv4.tcp_keepalive_time, value: "600"}]}, containers: [{name: a, image: "r/a:1"}]}`
	)
	for _, tt := range []struct {
		id, version, spec string
		want              string // substring of the only finding; "" for none
	}{
		{"pss-baseline", "", probeHost, `would violate PodSecurity "baseline:latest": probe or lifecycle host (container "a" uses probe or lifecycle host "10.0.0.1")`},
		{"pss-baseline", "latest", probeHost, `"baseline:latest": probe or lifecycle host`},
		{"pss-baseline", "v1.34", probeHost, `"baseline:v1.34": probe or lifecycle host`},
		{"pss-baseline", "v1.33", probeHost, ""},
		{"pss-baseline", "1.22", probeHost, ""},
		// A version newer than the policy package knows is its newest.
		{"pss-baseline", "v1.99", probeHost, `"baseline:v1.99": probe or lifecycle host`},
		{"pss-restricted", "v1.22", rootUID, ""},
		{"pss-restricted", "v1.23", rootUID, `"restricted:v1.23": runAsUser=0 (pod must not set runAsUser=0)`},
		{"pss-restricted", "latest", rootUID, `"restricted:latest": runAsUser=0`},
		{"pss-restricted", "v1.34", userNS, `runAsNonRoot != true (pod or container "a" must set securityContext.runAsNonRoot=true), runAsUser=0 (pod must not set runAsUser=0)`},
		{"pss-restricted", "v1.35", userNS, ""},
		{"pss-restricted", "latest", userNS, ""},
		{"pss-restricted", "v1.24", windows, `"restricted:v1.24": allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]), seccompProfile`},
		{"pss-restricted", "v1.25", windows, ""},
		{"pss-baseline", "v1.28", sysctl, `"baseline:v1.28": forbidden sysctls (net.ipv4.tcp_keepalive_time)`},
		{"pss-baseline", "v1.29", sysctl, ""},
	} {
		cfg := ""
		if tt.version != "" {
			cfg = "parameters: {podSecurityVersion: \"" + tt.version + "\"}\n"
		}
		got := scanManifestFor(t, tt.id, cfg, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: "+tt.spec+"\n")
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%s at %q: unexpected %q", tt.id, tt.version, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s at %q:\n got %q\nwant one containing %q", tt.id, tt.version, got, tt.want)
		}
	}
}

func TestPSSVersionParse(t *testing.T) {
	for in, want := range map[string]api.Version{
		"latest": api.LatestVersion(),
		"":       api.LatestVersion(),
		"v1.30":  api.MajorMinorVersion(1, 30),
		"1.30":   api.MajorMinorVersion(1, 30),
		"v1.0":   api.MajorMinorVersion(1, 0),
		"v2.1":   api.LatestVersion(),
		"v1.x":   api.LatestVersion(),
	} {
		if got := PSSVersion(in); got != want {
			t.Errorf("PSSVersion(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestPSSInputErrors checks that a pod with fields the API server rejects
// is reported as an input error by the engine and still evaluated on the
// rest, without a panic.
func TestPSSInputErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  template:
    spec:
      hostNetwork: "true"
      hostPID: true
      securityContext: {runAsUser: root}
      containers:
      - name: a
        image: r/a:1
        securityContext: {privileged: yes, capabilities: {add: NET_ADMIN}}
        readinessProbe: {httpGet: {port: {name: http}}}
      - just a string
`
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := scantest.Paths([]string{file}, scan.Options{Registry: Registry()})
	if len(res.Errors) == 0 {
		t.Error("no input errors")
	}
	var got []string
	for _, f := range res.Findings {
		if f.Check == "pss-baseline" {
			got = append(got, f.Message)
		}
	}
	want := `would violate PodSecurity "baseline:latest": host namespaces (hostPID=true), privileged (container "a" must not set securityContext.privileged=true)`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestPSSVerdictCache: a cached verdict is only ever another pod's when
// Pod Security would read the two pods alike.
func TestPSSVerdictCache(t *testing.T) {
	pod := func(name, extra string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  containers:\n  - name: c\n    image: nginx:1\n" + extra + "---\n"
	}
	in := pod("a", "    securityContext: {privileged: true}\n") + pod("b", "") + pod("c", "    securityContext: {privileged: true}\n") + pod("d", "")
	res := scantest.Stdin([]byte(in), scan.Options{Registry: Registry()})
	got := map[string]bool{}
	for _, f := range res.Findings {
		if f.Check == "pss-baseline" {
			got[f.Object.Name] = true
		}
	}
	if !got["a"] || got["b"] || !got["c"] || got["d"] {
		t.Errorf("pss-baseline findings on %v, want a and c", got)
	}
}
