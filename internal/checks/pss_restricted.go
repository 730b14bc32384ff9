package checks

import (
	"k8s.io/pod-security-admission/api"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Workloads should be admitted by the Pod Security Standards at level
// restricted, the current hardening best practice: on top of baseline, a
// pod must run as non-root, drop every capability, forbid privilege
// escalation, run under a seccomp profile and use only ephemeral and
// projected volume types.
//
// Fields: the pod template's metadata and spec, evaluated by
// k8s.io/pod-security-admission itself at parameters.podSecurityVersion,
// one finding per workload with every reason (the baseline ones included,
// as the admission controller lists them).
// Allowed: what Pod Security admits at restricted
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "pss-restricted",
			Title:    "Pod Security Standards: restricted violated",
			Severity: check.Medium,
			Description: "The restricted level of the Pod Security Standards adds the current hardening practice to baseline: " +
				"containers must run as a non-root user, set allowPrivilegeEscalation to false, drop ALL capabilities (adding back at most NET_BIND_SERVICE), " +
				"run under the RuntimeDefault or a Localhost seccomp profile, and mount only configMap, secret, emptyDir, projected, downwardAPI, " +
				"persistentVolumeClaim, ephemeral, csi and image volumes. Windows pods are exempt from the Linux-only controls. " +
				"A namespace labelled pod-security.kubernetes.io/enforce=restricted rejects a pod that breaks any of them. " +
				"The workload is evaluated by the official Pod Security admission library at the configured version (parameters.podSecurityVersion), " +
				"so the finding is what the admission controller would say.",
			Remediation: "Set securityContext in the pod (runAsNonRoot: true, seccompProfile.type: RuntimeDefault) and in every container " +
				"(allowPrivilegeEscalation: false, capabilities.drop: [ALL]), build the image to run as a non-root UID, " +
				"and replace other volume types with a persistentVolumeClaim or a projected volume.",
			References: []string{
				pssRestricted,
				seed000 + "enforce user-mode containers",
				nsaCISA + "pod security",
			},
		},
		Applies: check.PodSpecs,
		Run:     pssRestrictedRun,
	})
}

func pssRestrictedRun(p *check.Pass) { pssReport(p, api.LevelRestricted, pssVerdictOf(p).restricted) }
