package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Containers must request the CPU and memory they need: the scheduler
// places pods by their requests, and a pod without them is packed onto
// nodes that cannot hold it and is the first evicted under pressure.
//
// Fields: resources.requests.cpu and resources.requests.memory of init and
// regular containers (ephemeral containers cannot have resources). A limit
// without a request counts as a request: the API server sets the request
// to the limit.
// Allowed: both set
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "resources-requests",
			Title:    "Container without resource requests",
			Severity: check.Medium,
			Description: "The scheduler places pods by their CPU and memory requests. " +
				"A container without them is BestEffort or Burstable: it can land on a node that has no room for it, " +
				"starve its neighbours, and is the first evicted when the node runs short, which turns one busy or compromised workload into an outage for others.",
			Remediation: "Set resources.requests.cpu and resources.requests.memory on every container to what it uses under normal load.",
			References: []string{
				seed003 + "resources",
				nsaCISA + "resource policies (requests and limits)",
			},
		},
		Applies: check.PodSpecs,
		Run:     resourcesRequests,
		Fix:     &check.Fix{Apply: fixResourcesRequests, Order: orderResources, Needs: check.NeedsResources},
	})
}

func resourcesRequests(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		if c.Type == object.EphemeralContainer {
			continue
		}
		var missing []string
		for _, r := range []string{"cpu", "memory"} {
			if !hasQuantity(c.Resources.Requests, r) && !hasQuantity(c.Resources.Limits, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			p.Report(c.Resources.RequestsRef, "%s has no %s request", c.Describe(), strings.Join(missing, " or "))
		}
	}
}

func hasQuantity(m map[string]object.Str, name string) bool {
	q, ok := m[name]
	return ok && q.V != ""
}

// fixResourcesRequests writes the configured requests where they are
// missing, each marked with a comment to tune it.
func fixResourcesRequests(p *check.FixPass) {
	r := p.Values.Resources
	fixResources(p, "requests", [2]string{r.RequestsCPU, r.RequestsMemory})
}
