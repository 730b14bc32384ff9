package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Containers must have memory limits, and CPU limits unless the team has
// switched them off: without limits one leaking, runaway or compromised
// container can take the whole node's memory or CPU.
//
// Fields: resources.limits.memory and resources.limits.cpu of init and
// regular containers (ephemeral containers cannot have resources).
// Allowed: both set; memory alone with parameter cpuLimits: false
func init() {
	register(&check.ObjectCheck{
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
		},
		Applies: check.PodSpecs,
		Run:     resourcesLimits,
		Fix:     &check.Fix{Apply: fixResourcesLimits, Order: orderResources + 1, Needs: check.NeedsResources},
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

// fixResourcesLimits writes the configured limits where they are missing,
// never below the container's own request, which the API server would
// reject: then the limit is the request.
func fixResourcesLimits(p *check.FixPass) {
	r := p.Values.Resources
	fixResources(p, "limits", [2]string{r.LimitsCPU, r.LimitsMemory})
}

// fixResources writes values (CPU, memory) into section of the found
// containers' resources where the section lacks them.
func fixResources(p *check.FixPass, section string, values [2]string) {
	for _, c := range foundContainers(p) {
		if c.Type == object.EphemeralContainer {
			continue // ephemeral containers cannot have resources
		}
		for i, name := range [2]string{"cpu", "memory"} {
			fixResource(p, c, section, name, values[i])
		}
	}
}

func fixResource(p *check.FixPass, c *object.Container, section, name, value string) {
	res := object.Get(c.Ref.Node, "resources")
	has := func(section string) string { return object.GetStr(object.Get(res, section), name) }
	if value == "" || has(section) != "" {
		return
	}
	if section == "requests" && has("limits") != "" {
		return // the request defaults to the limit
	}
	comment := "# kubeharden: default " + section[:len(section)-1] + ", tune it to the app's measured use"
	if req := has("requests"); section == "limits" && req != "" {
		v, ok := atLeast(value, req)
		if !ok {
			p.Skip(c.Ref.Node.Line, "cannot compare the default "+name+" limit "+value+" with the request "+req)
			return
		}
		if v != value {
			comment = "# kubeharden: the request, as the default limit is lower; tune it to the app's measured use"
		}
		value = v
	}
	rm := yamledit.EnsureMap(c.Ref.Node, "resources")
	if rm == nil {
		return
	}
	sm := yamledit.EnsureMap(rm, section)
	if sm == nil {
		return
	}
	v := yamledit.Scalar("!!str", value)
	v.LineComment = comment
	yamledit.InsertKey(sm, name, v)
	p.Changed(c.Ref.Path + ".resources." + section + "." + name)
}

// atLeast returns def, or req when req is the larger quantity; ok is false
// when either does not parse.
func atLeast(def, req string) (string, bool) {
	d, err := resource.ParseQuantity(def)
	if err != nil {
		return "", false
	}
	r, err := resource.ParseQuantity(req)
	if err != nil {
		return "", false
	}
	if r.Cmp(d) > 0 {
		return req, true
	}
	return def, true
}
