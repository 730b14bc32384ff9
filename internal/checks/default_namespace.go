package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Workloads belong in namespaces of their own: the default namespace is
// where everything lands by accident, so policies, quotas and RBAC written
// for it end up covering unrelated things, or nothing.
//
// Fields: metadata.namespace of any namespaced object
// Allowed: any namespace but default; unset (the namespace is chosen at
// apply time)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "default-namespace",
			Title:    "Object in the default namespace",
			Severity: check.Low,
			Description: "Namespaces are the unit that RBAC roles, network policies, resource quotas and Pod Security admission levels apply to. " +
				"The default namespace has none of them unless someone adds them, is where any kubectl command without -n lands, " +
				"and mixes unrelated workloads so that a permission granted for one applies to all.",
			Remediation: "Create a namespace for the application, with its own RBAC, network policies and Pod Security labels, and set metadata.namespace to it " +
				"(or leave it unset and choose the namespace at deploy time).",
			References: []string{
				seed000 + "use namespaces",
				nsaCISA + "namespaces",
			},
		},
		Run: defaultNamespace,
	})
}

func defaultNamespace(p *check.Pass) {
	o := p.Object
	if o.Namespace != "default" || !o.Namespaced() {
		return
	}
	ns := object.Get(object.Get(o.Node, "metadata"), "namespace")
	p.Report(o.MetadataRef().Child("namespace", ns), `metadata.namespace must not be "default"`)
}
