// Package reporttest holds what the tests of every report format share: scan
// results that reach each corner of a report, and golden-file comparison.
// Only tests import it.
package reporttest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// Version is the tool version the golden files are rendered with.
const Version = "1.2.3-test"

// Case is one scan result the golden files are rendered from.
type Case struct {
	Name   string
	Result *scan.Result
}

// Cases returns every case, in a fixed order.
func Cases() []Case {
	return []Case{
		{"full", Full()},
		{"clean", Clean()},
		{"errors-only", ErrorsOnly()},
	}
}

// Checks returns the checks that ran, ordered as the engine orders them:
// the registry's by ID, then the engine's own.
func Checks() []check.Meta {
	return []check.Meta{
		{
			ID:          "automount-service-account-token",
			Title:       "Service account token mounted",
			Severity:    check.Info,
			Description: "A pod that does not call the API server should not carry a token for it.",
			Remediation: "Set automountServiceAccountToken: false in the pod spec.",
			References:  []string{"NSA/CISA Kubernetes Hardening Guidance: pod security"},
		},
		{
			ID:          "host-namespaces",
			Title:       "Host namespaces shared",
			Severity:    check.High,
			Description: "Sharing the host's network, PID or IPC namespace lets a container see and reach the node's processes and interfaces.",
			Remediation: "Remove hostNetwork, hostPID and hostIPC, or set them to false.",
			References:  []string{"Pod Security Standards: baseline"},
		},
		{
			ID:          "image-tag",
			Title:       "Mutable image tag",
			Severity:    check.Low,
			Description: "An image named by a mutable tag can change under a running workload.",
			Remediation: "Pin the image by digest (image@sha256:...).",
			References:  []string{"seed 001: pin base images"},
		},
		{
			ID:          "privileged-container",
			Title:       "Privileged container",
			Severity:    check.Critical,
			Description: "A privileged container has all the host's devices and capabilities, and one escape owns the node.",
			Remediation: "Set securityContext.privileged to false.",
			References:  []string{"Pod Security Standards: baseline", "seed 000: enforce user-mode containers"},
			Fixable:     true,
		},
		{
			ID:          "resource-limits",
			Title:       "Missing resource limits",
			Severity:    check.Medium,
			Description: "A container without limits can starve its neighbours <and> the kubelet.",
			Remediation: "Set resources.limits (cpu & memory) to values <= what the node can spare.",
			References:  []string{"NSA/CISA Kubernetes Hardening Guidance: resource policies"},
		},
		{
			ID:          "run-as-non-root",
			Title:       "Container may run as root",
			Severity:    check.High,
			Description: "A container running as UID 0 is root on the node if it escapes.",
			Remediation: "Set securityContext.runAsNonRoot to true\nand runAsUser to a UID of 10000 or more.",
			References:  []string{"Pod Security Standards: restricted"},
			Fixable:     true,
		},
		policy.ExpiredExemption,
		policy.InvalidSuppression,
	}
}

// Full returns a result with a bit of everything: several files and
// objects, every severity, a finding without an object (the config file's),
// a rendered object with an origin, a path that needs escaping in a URI,
// suppressions of both kinds, and input errors with and without a position.
func Full() *scan.Result {
	web := &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: "shop"}
	report := &check.ObjectRef{APIVersion: "batch/v1", Kind: "CronJob", Name: "report", Namespace: "shop"}
	worker := &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker", Namespace: "shop", Origin: "helm chart shop: templates/worker.yaml"}
	db := &check.ObjectRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}
	return &scan.Result{
		Findings: []check.Finding{
			{
				Check: "run-as-non-root", Severity: check.High, Object: web,
				Message:  `container "api" must set securityContext.runAsNonRoot=true`,
				Location: check.Location{File: "deploy/web.yaml", Line: 18, Column: 9},
				Path:     "spec.template.spec.containers[0]",
			},
			{
				Check: "privileged-container", Severity: check.Critical, Object: web,
				Message:  `container "api" must not set securityContext.privileged=true`,
				Location: check.Location{File: "deploy/web.yaml", Line: 21, Column: 13},
				Path:     "spec.template.spec.containers[0].securityContext.privileged",
			},
			{
				Check: "resource-limits", Severity: check.Medium, Object: web,
				Message:  `container "api" must set resources.limits.memory`,
				Location: check.Location{File: "deploy/web.yaml", Line: 25, Column: 11},
				Path:     "spec.template.spec.containers[0].resources",
			},
			{
				Check: "resource-limits", Severity: check.Medium, Object: report,
				Message:  `container "job" must set resources.limits.memory`,
				Location: check.Location{File: "deploy/web.yaml", Line: 52, Column: 15},
				Path:     "spec.jobTemplate.spec.template.spec.containers[0]",
			},
			{
				Check: "image-tag", Severity: check.Low, Object: worker,
				Message:  `container "worker" uses image "registry.local/worker:latest" & its tag can move`,
				Location: check.Location{File: "rendered/shop.yaml", Line: 20, Column: 16},
				Path:     "spec.template.spec.containers[0].image",
			},
			{
				Check: "automount-service-account-token", Severity: check.Info, Object: db,
				Message:  "pod must set automountServiceAccountToken=false",
				Location: check.Location{File: "deploy/my app/db.yaml", Line: 9, Column: 7},
				Path:     "spec.template.spec",
			},
			{
				Check: "expired-exemption", Severity: check.Low,
				Message:  "exemption expired on 2024-01-31 (reason was: waiting for upstream <fix>)",
				Location: check.Location{File: ".kubeharden.yaml", Line: 7, Column: 1},
				Path:     "exemptions[0]",
			},
		},
		Suppressed: []check.Finding{
			{
				Check: "image-tag", Severity: check.Low, Object: report,
				Message:  `container "job" uses image "busybox:1.36" & its tag can move`,
				Location: check.Location{File: "deploy/web.yaml", Line: 50, Column: 18},
				Path:     "spec.jobTemplate.spec.template.spec.containers[0].image",
				Extra:    &check.Extra{Suppression: &check.Suppression{Kind: "config", Reason: "vendor image, pinned upstream", Source: ".kubeharden.yaml:12"}},
			},
			{
				Check: "run-as-non-root", Severity: check.High, Object: db,
				Message:  `container "postgres" must set securityContext.runAsNonRoot=true`,
				Location: check.Location{File: "deploy/my app/db.yaml", Line: 14, Column: 9},
				Path:     "spec.template.spec.containers[0]",
				Extra:    &check.Extra{Suppression: &check.Suppression{Kind: "annotation", Reason: "initdb needs root; tracked in SEC-12", Source: "ignore.kubeharden.io/run-as-non-root"}},
			},
		},
		Errors: []source.Error{
			{File: "deploy/web.yaml", Line: 40, Column: 3, Message: "Pod has no metadata.name"},
			{File: "deploy/broken.yaml", Line: 3, Message: "invalid YAML: mapping values are not allowed in this context"},
			{File: "missing.yaml", Message: "no such file or directory"},
		},
		Files:   5,
		Objects: 6,
		Checks:  Checks(),
	}
}

// Clean returns a result without findings, suppressions or errors.
func Clean() *scan.Result {
	return &scan.Result{Files: 1, Objects: 1, Checks: Checks()}
}

// ErrorsOnly returns a result whose only inputs could not be read.
func ErrorsOnly() *scan.Result {
	return &scan.Result{
		Errors: []source.Error{{File: "deploy/broken.yaml", Line: 3, Message: "invalid YAML: did not find expected key"}},
		Files:  1,
		Checks: Checks(),
	}
}

// Golden compares got with the file at path, byte for byte; with -update it
// writes got to the file instead.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w || i >= len(gl) || i >= len(wl) {
			t.Fatalf("output differs from %s at line %d (run go test with -update to accept it):\n got: %q\nwant: %q", path, i+1, g, w)
		}
	}
}

// SameBytes fails t when got and want differ, showing where: renderers
// that hand-encode must match the reflective encoder they replace.
func SameBytes(t testing.TB, got, want []byte, reference string) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("output differs from %s at byte %d:\ngot  ...%q\nwant ...%q", reference, i,
		got[max(0, i-200):min(len(got), i+100)], want[max(0, i-200):min(len(want), i+100)])
}

// Large returns a result of n findings and n/10 suppressed ones, copies of
// Full's moved to other lines, as a large scan reports them: for
// benchmarks.
func Large(n int) *scan.Result {
	full := Full()
	res := &scan.Result{Files: n / 10, Objects: n / 5, Checks: full.Checks, Errors: full.Errors}
	res.Findings = make([]check.Finding, n)
	for i := range res.Findings {
		f := full.Findings[i%len(full.Findings)]
		f.Location.Line += i
		res.Findings[i] = f
	}
	res.Suppressed = make([]check.Finding, n/10)
	for i := range res.Suppressed {
		f := full.Suppressed[i%len(full.Suppressed)]
		f.Location.Line += i
		res.Suppressed[i] = f
	}
	return res
}
