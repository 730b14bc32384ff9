package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Every namespace that runs workloads must deny ingress by default: then a
// pod is reachable only through a policy written for it, and a new
// workload, or one whose labels change, starts isolated instead of open.
//
// Fields: the NetworkPolicies of the namespace of each workload in the same
// scan: spec.podSelector, spec.policyTypes, spec.ingress (and spec.egress
// with the egressDefaultDeny parameter)
// Allowed: a NetworkPolicy that selects every pod (podSelector {} or
// unset), has Ingress among its policy types (listed, or implied when
// policyTypes is unset) and no ingress rules; with egressDefaultDeny, also
// one with Egress listed and no egress rules. One finding per namespace, at
// its first workload in input order.
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "namespace-default-deny",
			Title:    "Namespace without a default-deny network policy",
			Severity: check.Medium,
			Description: "A namespace without a default-deny NetworkPolicy admits traffic to every pod that no other policy selects, " +
				"from every pod of every namespace. Policies written per workload leave gaps: a new workload, a renamed label " +
				"or a debugging pod is open to the whole cluster until someone notices. A default-deny policy " +
				"(podSelector {}, no rules) isolates every pod of the namespace, so that only the traffic other policies admit gets through. " +
				"With the egressDefaultDeny parameter, outgoing traffic must be denied by default too, which stops a compromised pod from reaching other services or the internet.",
			Remediation: "Add a NetworkPolicy to the namespace with podSelector: {}, policyTypes: [Ingress] (and Egress, with egressDefaultDeny) and no rules, " +
				"then policies that admit the traffic each workload needs, such as DNS for egress.",
			References: []string{
				seed000 + "use Network Policy for your pods",
				nsaCISA + "network separation",
			},
		},
		// NetworkPolicies are visited to keep whether they deny by default.
		Applies: func(o *object.Object) bool { return o.Kind == "NetworkPolicy" || netpolWorkload(o) },
		Run:     namespaceDefaultDeny,
	})
}

func namespaceDefaultDeny(p *check.Pass) {
	ns := p.Namespace
	if p.Object.Kind == "NetworkPolicy" {
		if pol, ok := netpolRead(p.Object); ok && pol.podSelector.selectsAll() {
			d := netpolDefaultDeny{ingress: pol.ingress && pol.ingressRules == 0, egress: pol.egress && pol.egressRules == 0}
			if d.ingress || d.egress {
				p.Keep(netpolDefaultDenyKey(ns), d)
			}
		}
		return
	}
	md := object.Get(p.Object.Node, "metadata")
	ref := p.Object.MetadataRef().Child("namespace", object.KeyNode(md, "namespace"))
	name := netpolNamespaceName(ns, "the namespace of objects without metadata.namespace")
	// Every workload reports; the engine keeps the first of each namespace
	// in input order, and drops them all once the policy turns up.
	p.ReportDeferred(ref, check.Deferral{
		Unless: func(idx check.Facts) bool { return netpolDefaultDenyIn(idx, ns).ingress },
		Once:   "ns/" + ns,
	}, "%s must have a default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no rules)", name)
	if p.Params.EgressDefaultDeny {
		p.ReportDeferred(ref, check.Deferral{
			Unless: func(idx check.Facts) bool { return netpolDefaultDenyIn(idx, ns).egress },
			Once:   "egress/ns/" + ns,
		}, "%s must have a default-deny egress NetworkPolicy (podSelector {}, policyTypes [Egress], no rules)", name)
	}
}

// netpolDefaultDeny tells which default-deny policies a namespace has, or
// which defaults one policy denies.
type netpolDefaultDeny struct{ ingress, egress bool }

// netpolDefaultDenyKey is the key of the default-deny policies of a
// namespace.
func netpolDefaultDenyKey(ns string) string { return "namespace-default-deny/policies\x00" + ns }

func netpolDefaultDenyIn(idx check.Facts, ns string) netpolDefaultDeny {
	return idx.Memo("namespace-default-deny/"+ns, func() any {
		var d netpolDefaultDeny
		for _, v := range idx.Kept(netpolDefaultDenyKey(ns)) {
			k := v.(netpolDefaultDeny)
			d.ingress = d.ingress || k.ingress
			d.egress = d.egress || k.egress
		}
		return d
	}).(netpolDefaultDeny)
}
