package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Containers must have memory limits, and CPU limits unless the team has
// switched them off: without limits one leaking, runaway or compromised
// container can take the whole node's memory or CPU.
//
// Fields: resources.limits.memory and resources.limits.cpu of init and
// regular containers (ephemeral containers cannot have resources).
// Allowed: both set; memory alone with parameter cpuLimits: false
func init() {
	register(check.Check{
		Meta: check.Meta{
			ID:       "resources-limits",
			Title:    "Container without resource limits",
			Severity: check.Medium,
			Description: "Without a memory limit a container can use all of its node's memory, and the kernel then kills processes of other pods; " +
				"without a CPU limit it can take every core. A bug, a traffic spike or an attacker running a cryptominer then becomes a denial of service for everything on the node. " +
				"CPU limits are required unless the cpuLimits parameter is false, as many teams choose because CPU throttling hurts latency.",
			Remediation: "Set resources.limits.memory on every container, and resources.limits.cpu unless your configuration sets cpuLimits: false.",
			References: []string{
				seed003 + "resources",
				nsaCISA + "resource policies (requests and limits)",
			},
			Fixable: true,
			FixFlag: "--resources",
		},
		Applies: check.PodSpecs,
		Run:     resourcesLimits,
	})
}

func resourcesLimits(p *check.Pass) {
	required := []string{"cpu", "memory"}
	if p.Params != nil && !p.Params.CPULimits {
		required = required[1:]
	}
	for _, c := range p.Pod.Containers {
		if c.Type == object.EphemeralContainer {
			continue
		}
		var missing []string
		for _, r := range required {
			if !hasQuantity(c.Resources.Limits, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			p.Report(c.Resources.LimitsRef, "%s has no %s limit", c.Describe(), strings.Join(missing, " or "))
		}
	}
}
