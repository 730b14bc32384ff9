package checks

import (
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Every pod must be isolated for ingress: a pod that no NetworkPolicy
// selects accepts connections from every pod of every namespace, so one
// compromised pod anywhere in the cluster can reach it.
//
// Fields: metadata.labels of the pod (of the pod template, for a workload),
// matched against spec.podSelector and spec.policyTypes of the
// NetworkPolicies of the pod's namespace in the same scan
// Allowed: selected by a NetworkPolicy whose policy types include Ingress
// (explicitly, or implied when policyTypes is unset), whatever its rules:
// a default-deny policy (podSelector {}, no rules) covers every pod.
// Pods on the host network are exempt: network policies do not apply to
// them.
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "network-policy-coverage",
			Title:    "Pod not covered by a network policy",
			Severity: check.Medium,
			Description: "Kubernetes lets every pod talk to every other pod, across namespaces, until a NetworkPolicy selects it. " +
				"A pod that no ingress policy selects is open to lateral movement: once an attacker controls any pod in the cluster, " +
				"they can connect to this one. A policy selects pods by label in its own namespace; " +
				"podSelector {} selects them all, so a namespace-wide default-deny policy covers every pod.",
			Remediation: "Add a default-deny ingress NetworkPolicy (podSelector: {}, policyTypes: [Ingress], no rules) to the namespace, " +
				"then NetworkPolicies that admit only the traffic each workload needs; or give the pod labels that an existing ingress policy selects.",
			References: []string{
				seed000 + "use Network Policy for your pods",
				nsaCISA + "network separation",
			},
		},
		// NetworkPolicies are visited to keep their pod selectors.
		Applies: func(o *object.Object) bool { return o.Kind == "NetworkPolicy" || netpolWorkload(o) },
		Run:     networkPolicyCoverage,
	})
}

func networkPolicyCoverage(p *check.Pass) {
	ns := p.Namespace
	if p.Object.Kind == "NetworkPolicy" {
		// Only a copy of the selector of an ingress policy is kept: the
		// policy holds its YAML spec.
		if pol, ok := netpolRead(p.Object); ok && pol.ingress && !pol.podSelector.invalid {
			sel := pol.podSelector
			p.Keep(netpolCoverageKey(ns), &sel)
		}
		return
	}
	labels := netpolLabelsKey(object.Get(p.Pod.MetaNode, "labels"))
	// The policies may come later in the input or in another file; the
	// condition holds only the namespace and the label string.
	p.ReportUnless(p.Pod.Meta, func(idx check.Facts) bool {
		return netpolCoverageIn(idx, ns).covers(labels)
	}, "pod must be selected by a NetworkPolicy that restricts ingress in %s", netpolNamespaceName(ns, "its namespace"))
}

// netpolCoverageKey is the key of the pod selectors of a namespace's
// ingress policies.
func netpolCoverageKey(ns string) string { return "network-policy-coverage/selectors\x00" + ns }

// netpolWorkload applies the network policy checks to objects that run
// pods. A PodTemplate runs nothing, and network policies do not apply to
// pods on the host network, so neither can be covered.
func netpolWorkload(o *object.Object) bool {
	p := o.PodSpec()
	return p != nil && o.Kind != "PodTemplate" && (!p.HostNetwork.Set || !p.HostNetwork.V)
}

// netpolNamespaceName names a namespace in messages, or returns unset for
// objects without one: they land wherever they are applied, unless the
// scan names a namespace.
func netpolNamespaceName(ns, unset string) string {
	if ns == "" {
		return unset
	}
	return "namespace " + strconv.Quote(ns)
}

// netpolCoverage is the ingress isolation of one namespace, computed once
// per scan so that the check stays linear however many pods and policies
// the namespace has.
type netpolCoverage struct {
	// all is set when an ingress policy selects every pod.
	all bool
	// selectors are the distinct pod selectors of the ingress policies.
	selectors []*netpolSelector
	// verdicts caches covers by label set: workloads of one application
	// share their labels.
	verdicts map[string]bool
}

func netpolCoverageIn(idx check.Facts, ns string) *netpolCoverage {
	return idx.Memo("network-policy-coverage/"+ns, func() any {
		c := &netpolCoverage{verdicts: map[string]bool{}}
		seen := map[string]bool{}
		for _, v := range idx.Kept(netpolCoverageKey(ns)) {
			sel := v.(*netpolSelector)
			if sel.selectsAll() {
				c.all, c.selectors, c.verdicts = true, nil, nil
				break
			}
			// Policies repeat the same selector (one per port or peer
			// group): each is matched once per label set.
			if k := sel.canonical(); !seen[k] {
				seen[k] = true
				c.selectors = append(c.selectors, sel)
			}
		}
		return c
	}).(*netpolCoverage)
}

// covers reports whether a pod with these labels (a netpolLabelsKey) is
// selected by an ingress policy.
func (c *netpolCoverage) covers(labels string) bool {
	if c.all {
		return true
	}
	if len(c.selectors) == 0 {
		return false
	}
	if v, ok := c.verdicts[labels]; ok {
		return v
	}
	m := netpolLabelsFromKey(labels)
	v := false
	for i := range c.selectors {
		if c.selectors[i].matches(m) {
			v = true
			break
		}
	}
	c.verdicts[labels] = v
	return v
}

// netpolPolicy is what the network policy checks read of a NetworkPolicy.
type netpolPolicy struct {
	// spec is the policy's spec mapping: what the checks that run on the
	// policy itself read. Never keep it beyond the pass.
	spec        *yaml.Node
	podSelector netpolSelector
	// ingress and egress are the policy types in effect: those listed in
	// spec.policyTypes, or as the API server defaults an empty list,
	// Ingress always and Egress when there are egress rules.
	ingress, egress bool
	// ingressRules and egressRules count the rules; a field that is not a
	// list counts as one rule, so that it never passes for a deny-all.
	ingressRules, egressRules int
}

// netpolRead reads a NetworkPolicy of the networking.k8s.io API (or its
// extensions/v1beta1 predecessor), once for all the checks of the object.
// ok is false for other APIs that use the same kind, such as Calico's,
// whose selectors mean something else.
func netpolRead(o *object.Object) (pol *netpolPolicy, ok bool) {
	pol, _ = o.Memo("netpol/policy", func() any { return netpolParse(o) }).(*netpolPolicy)
	return pol, pol != nil
}

func netpolParse(o *object.Object) *netpolPolicy {
	if g := o.Group(); o.Kind != "NetworkPolicy" || g != "networking.k8s.io" && g != "extensions" {
		return nil
	}
	pol := &netpolPolicy{}
	spec := object.Get(o.Node, "spec")
	pol.spec = spec
	pol.podSelector = netpolParseSelector(object.Get(spec, "podSelector"))
	pol.ingressRules = netpolRuleCount(object.Get(spec, "ingress"))
	pol.egressRules = netpolRuleCount(object.Get(spec, "egress"))
	types := object.Get(spec, "policyTypes")
	if types != nil && types.Kind == yaml.SequenceNode && len(types.Content) > 0 {
		for _, t := range types.Content {
			switch object.Scalar(t) {
			case "Ingress":
				pol.ingress = true
			case "Egress":
				pol.egress = true
			}
		}
	} else {
		pol.ingress, pol.egress = true, pol.egressRules > 0
	}
	return pol
}

func netpolRuleCount(n *yaml.Node) int {
	switch {
	case object.IsNull(n):
		return 0
	case n.Kind == yaml.SequenceNode:
		return len(n.Content)
	}
	return 1
}
