package checks

import (
	"net/netip"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// A NetworkPolicy must not admit ingress from other namespaces without
// restriction: namespaces separate teams and applications, and a rule that
// admits every namespace puts the pods it selects within reach of any
// compromised pod in the cluster.
//
// Fields: spec.ingress[*].from of NetworkPolicies whose policy types
// include Ingress: namespaceSelector, ipBlock.cidr
// Allowed: peers limited to the policy's namespace (podSelector alone), to
// namespaces chosen by a non-empty namespaceSelector, or to address ranges
// narrower than 0.0.0.0/0 and ::/0. Not allowed: a rule without "from"
// (all sources), namespaceSelector {} (every namespace, with or without a
// podSelector), an ipBlock of every address (even with except entries).
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "cross-namespace-ingress",
			Title:    "Network policy admits ingress from all namespaces",
			Severity: check.Medium,
			Description: "An ingress rule admits traffic from the peers listed in its from field. " +
				"A rule without from admits every source; a peer with namespaceSelector {} admits pods of every namespace, " +
				"even when a podSelector narrows which pods; an ipBlock of 0.0.0.0/0 or ::/0 admits every address. " +
				"Each opens the selected pods to any compromised pod of the cluster, which is what namespace separation and network policies are meant to prevent.",
			Remediation: "Admit only the sources that need access: a podSelector for pods of the same namespace, " +
				"a namespaceSelector that names namespaces (for example by kubernetes.io/metadata.name), " +
				"or the narrowest ipBlock that covers the clients outside the cluster.",
			References: []string{
				seed000 + "use Network Policy for your pods (deny from other namespaces)",
				nsaCISA + "network separation",
			},
		},
		Applies: check.Kinds("NetworkPolicy"),
		Run:     crossNamespaceIngress,
	})
}

func crossNamespaceIngress(p *check.Pass) {
	pol, ok := netpolRead(p.Object)
	if !ok || !pol.ingress {
		// Ingress rules of a policy without the Ingress type have no effect.
		return
	}
	specRef := p.Object.Root().Child("spec", object.KeyNode(p.Object.Node, "spec"))
	rules := object.Get(pol.spec, "ingress")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return
	}
	rulesRef := specRef.Child("ingress", object.KeyNode(pol.spec, "ingress"))
	for i, rule := range rules.Content {
		rule = object.Resolve(rule)
		rname := "ingress[" + strconv.Itoa(i) + "]"
		ruleRef := object.Ref{Path: rulesRef.Path + "[" + strconv.Itoa(i) + "]", Node: rule}
		if rule == nil || (rule.Kind != yaml.MappingNode && !object.IsNull(rule)) {
			continue
		}
		from := object.Get(rule, "from")
		if from != nil && from.Kind != yaml.SequenceNode && !object.IsNull(from) {
			continue
		}
		if from == nil || len(from.Content) == 0 {
			// An empty or null list is the same as none: the API server
			// stores both as no peers.
			p.Report(ruleRef.Child("from", object.KeyNode(rule, "from")),
				`%s must list its sources in "from": without them it admits traffic from every namespace and from outside the cluster`, rname)
			continue
		}
		fromRef := ruleRef.Child("from", object.KeyNode(rule, "from"))
		for j, peer := range from.Content {
			peer = object.Resolve(peer)
			pname := rname + ".from[" + strconv.Itoa(j) + "]"
			peerRef := object.Ref{Path: fromRef.Path + "[" + strconv.Itoa(j) + "]", Node: peer}
			crossNamespacePeer(p, peer, pname, peerRef)
		}
	}
}

// crossNamespacePeer reports a peer that admits every namespace or every
// address.
func crossNamespacePeer(p *check.Pass, peer *yaml.Node, name string, ref object.Ref) {
	if peer == nil || peer.Kind != yaml.MappingNode {
		return
	}
	// A null namespaceSelector is an unset one: the policy's own namespace.
	if ns := object.Get(peer, "namespaceSelector"); !object.IsNull(ns) {
		if sel := netpolParseSelector(ns); sel.selectsAll() {
			r := ref.Child("namespaceSelector", object.KeyNode(peer, "namespaceSelector"))
			if object.IsNull(object.Get(peer, "podSelector")) {
				p.Report(r, "%s must not select every namespace: namespaceSelector {} admits traffic from all pods of all namespaces", name)
			} else {
				p.Report(r, "%s must not select every namespace: namespaceSelector {} admits the pods its podSelector matches in all namespaces, not just this one", name)
			}
		}
	}
	block := object.Get(peer, "ipBlock")
	cidr := object.Get(block, "cidr")
	if prefix, err := netip.ParsePrefix(object.Scalar(cidr)); err == nil && prefix.Bits() == 0 {
		blockRef := ref.Child("ipBlock", object.KeyNode(peer, "ipBlock"))
		p.Report(blockRef.Child("cidr", object.KeyNode(block, "cidr")),
			"%s must not admit every address: ipBlock cidr %q includes the pods of all namespaces and the internet", name, object.Scalar(cidr))
	}
}
