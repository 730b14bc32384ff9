package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// psaEnforceLabel is the namespace label that sets the level Pod Security
// admission enforces.
const psaEnforceLabel = "pod-security.kubernetes.io/enforce"

// A namespace that runs workloads must have Pod Security admission enforce
// the baseline or restricted level: then the API server itself refuses a
// privileged pod, whatever manifest or controller creates it.
//
// Objects: Namespaces, judged once every object is seen; workloads (any
// kind with a pod spec) tell which namespaces run workloads
// Fields: metadata.labels["pod-security.kubernetes.io/enforce"] of the
// Namespace
// Allowed: baseline or restricted; a Namespace without a workload in the
// input (or the cluster) is not judged, and a workload without
// metadata.namespace counts for the scan's namespace (-n) only;
// kube-system, kube-public and kube-node-lease are not judged
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "namespace-pod-security-label",
			Title:    "Namespace without an enforced Pod Security level",
			Severity: check.Medium,
			Description: "Pod Security admission, built into the API server, refuses pods that break the Pod Security Standards in namespaces labelled " +
				"pod-security.kubernetes.io/enforce=baseline or restricted. Without the label (unless the cluster's admission configuration sets a default), " +
				"or with the privileged level, any pod is admitted: a privileged container, a hostPath mount of the node's root or the host's network namespace " +
				"is one kubectl apply away for anyone allowed to create pods or workloads there, and the checks of a CI pipeline no longer stand between them and the node. " +
				"The check judges the Namespace objects of a scan, or of the cluster, that hold at least one workload.",
			Remediation: "Label the namespace pod-security.kubernetes.io/enforce=restricted, or baseline where workloads still need more; " +
				"first try the level with the audit and warn labels (or kubectl label --dry-run=server) to see which pods it would refuse, and fix them. " +
				"kubeharden does not add the label itself, because it can stop workloads from being recreated.",
			References: []string{
				pssBaseline,
				pssRestricted,
				seed000 + "use namespaces",
				nsaCISA + "pod security",
			},
		},
		Applies: func(o *object.Object) bool { return o.Kind == "Namespace" || o.HasPodSpec() },
		Run:     namespacePodSecurityLabel,
	})
}

// psaExemptNamespaces are the cluster's own namespaces, which Pod
// Security's documentation exempts: the node agents, CNI and CSI drivers
// that run there need the privileged level.
var psaExemptNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}

// nsWorkloadsKey is the key of the facts that a namespace runs workloads.
func nsWorkloadsKey(ns string) string { return "namespace-pod-security-label/workloads\x00" + ns }

func namespacePodSecurityLabel(p *check.Pass) {
	o := p.Object
	if o.Kind != "Namespace" {
		// "": the namespace is chosen at apply time, unknown here.
		if p.Namespace != "" {
			p.Keep(nsWorkloadsKey(p.Namespace), true)
		}
		return
	}
	name := o.Name
	if psaExemptNamespaces[name] {
		return
	}
	level, set := o.Labels[psaEnforceLabel]
	var format string
	switch {
	case level == "baseline" || level == "restricted":
		return
	case !set:
		format = "namespace %q runs workloads without a " + psaEnforceLabel + " label: label it baseline or restricted"
	case level == "privileged":
		format = "namespace %q runs workloads with " + psaEnforceLabel + "=privileged: label it baseline or restricted"
	default:
		format = "namespace %q has " + psaEnforceLabel + "=%q, which is not a Pod Security level: label it baseline or restricted"
	}
	md := object.Get(o.Node, "metadata")
	labels := object.Get(md, "labels")
	ref := o.MetadataRef().Child("labels", object.KeyNode(md, "labels")).Child(psaEnforceLabel, object.KeyNode(labels, psaEnforceLabel))
	args := []any{name}
	if set && level != "privileged" {
		args = append(args, level)
	}
	p.ReportUnless(ref, func(f check.Facts) bool { return len(f.Kept(nsWorkloadsKey(name))) == 0 }, format, args...)
}
