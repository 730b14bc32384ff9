package checks

import "github.com/kubeharden/kubeharden/internal/check"

// Pods should set a high fsGroup: the kubelet makes the pod's volumes
// group-owned by it and adds it to every container's groups, so a non-root
// container can write its volumes without running as root or making them
// world-writable. Left unset, teams fall back to root or chmod 777; set low,
// volume files belong to a host group (0 is the root group).
//
// Fields: spec.securityContext.fsGroup (pod-level only)
// Allowed: Params.MinGID (default 10000) and above, up to Params.MaxGID when
// it is not 0
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "fs-group",
			Title:    "Pod sets no high fsGroup",
			Severity: check.Low,
			Description: "fsGroup makes the pod's volumes group-owned by a GID the containers share, so that non-root containers can use them. " +
				"Without it, volumes stay owned by root and the usual workaround is to run as root or make them world-writable. " +
				"A low fsGroup, or 0, gives the volume files to a host group, which matters as soon as a volume or a process reaches the host.",
			Remediation: "Set spec.securityContext.fsGroup on the pod to a GID at or above the configured minimum (10000 by default), " +
				"usually the same as runAsGroup.",
			References: []string{
				seed000 + "enforce user-mode containers (pod securityContext with fsGroup)",
				seed003 + "runAsUser and runAsGroup (use a high GID so as not to clash with the host)",
				nsaCISA + "non-root containers",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     fsGroup,
		Fix:     &check.Fix{Apply: fixFSGroup, Order: orderIdentity + 3},
	})
}

func fsGroup(p *check.Pass) {
	sc := &p.Pod.SecurityContext
	reportIDRange(p, idField{
		who:     "pod",
		field:   "fsGroup",
		value:   sc.FSGroup,
		missing: sc.Ref,
		min:     p.Params.MinGID,
		max:     p.Params.MaxGID,
		why:     lowGIDReason,
	})
}

// fixFSGroup sets fsGroup to the fix GID where it is missing or outside
// the accepted range.
func fixFSGroup(p *check.FixPass) {
	fixID(p, "fsGroup", p.Values.GID, outside(p.Params.MinGID, p.Params.MaxGID), false)
}
