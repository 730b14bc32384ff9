package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Containers must not run privileged: a privileged container has all the
// host's devices and capabilities, and one escape owns the node.
//
// Fields: securityContext.privileged of init, regular and ephemeral containers
// Allowed: false, unset
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "privileged-container",
			Title:    "Privileged container",
			Severity: check.Critical,
			Description: "A privileged container gets every capability and every device of the host, " +
				"and AppArmor, seccomp and the device cgroup stop applying: anyone who controls it controls the node.",
			Remediation: "Set securityContext.privileged to false, and grant only the specific capabilities the container needs.",
			References:  []string{pssBaseline + " (Privileged Containers)", seed000 + "enforce user-mode containers", nsaCISA + "non-root containers"},
		},
		Applies: check.PodSpecs,
		Run:     privilegedContainer,
		Fix:     &check.Fix{Apply: fixPrivilegedContainer, Order: orderPrivileged},
	})
}

func privilegedContainer(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		if sc := c.SecurityContext; sc.Privileged.Set && sc.Privileged.V {
			p.Report(sc.Privileged.Ref, "%s must not set securityContext.privileged=true", c.Describe())
		}
	}
}

// fixPrivilegedContainer writes privileged: false where a container asks
// for true.
func fixPrivilegedContainer(p *check.FixPass) {
	for _, c := range foundContainers(p) {
		if v, ok := object.ParseBool(object.Get(c.SecurityContext.Node, "privileged")); ok && v {
			if m := containerSC(c); m != nil {
				setBool(p, m, "privileged", false, c.Ref.Path+".securityContext.privileged", "")
			}
		}
	}
}
