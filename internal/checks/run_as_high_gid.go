package checks

import "github.com/kubeharden/kubeharden/internal/check"

// Containers should run with a high primary GID that no host group has:
// without runAsGroup the image decides, and most images leave it at 0, the
// root group, which owns much of the host's filesystem; a low GID is some
// host group's, whose files an escaped process could then read or write.
//
// Fields: securityContext.runAsGroup of the pod and of init, regular and
// ephemeral containers (the container's wins)
// Allowed: Params.MinGID (default 10000) and above, up to Params.MaxGID when
// it is not 0; unset is not allowed
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "run-as-high-gid",
			Title:    "Container runs with a low or unset GID",
			Severity: check.Low,
			Description: "Without user namespaces a container's primary GID is the same number on the host. " +
				"When runAsGroup is unset the image decides, and that is usually GID 0, the root group, even for a non-root user; " +
				"a low GID is shared with host groups. Either gives a process that escapes, or reaches a hostPath or shared volume, " +
				"the rights of that host group over its files.",
			Remediation: "Set securityContext.runAsGroup to a GID no host group has, at or above the configured minimum (10000 by default), " +
				"for example 60096, at pod level or per container.",
			References: []string{
				seed003 + "runAsUser and runAsGroup (use a high UID and GID so as not to clash with the host)",
				nsaCISA + "non-root containers",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     runAsHighGID,
		Fix:     &check.Fix{Apply: fixRunAsHighGID, Order: orderIdentity + 2},
	})
}

func runAsHighGID(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		e := p.Pod.Effective(c)
		reportIDRange(p, idField{
			who:       c.Describe(),
			field:     "runAsGroup",
			value:     e.RunAsGroup,
			inherited: !c.SecurityContext.RunAsGroup.Set,
			missing:   c.SecurityContext.Ref,
			min:       p.Params.MinGID,
			max:       p.Params.MaxGID,
			why:       lowGIDReason,
		})
	}
}

func lowGIDReason(id int64) string {
	if id == 0 {
		return "GID 0 is the root group, which owns much of the host's filesystem"
	}
	return "a low GID collides with host groups"
}

// fixRunAsHighGID sets runAsGroup at pod level to the fix GID where it is
// missing or outside the accepted range, and corrects container values.
func fixRunAsHighGID(p *check.FixPass) {
	fixID(p, "runAsGroup", p.Values.GID, outside(p.Params.MinGID, p.Params.MaxGID), false)
}
