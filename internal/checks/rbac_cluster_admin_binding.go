package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Nobody should hold cluster-admin through a manifest: it is every
// permission on every object, and whoever steals the subject's credentials
// owns the cluster. A RoleBinding of it is no small thing either: it is
// every permission on every object of the namespace, secrets included.
//
// Fields: roleRef and subjects[*] of RoleBinding and ClusterRoleBinding.
// The role is cluster-admin (roleRef ClusterRole "cluster-admin"), or a
// Role or ClusterRole of the scan with a rule of every verb on every
// resource of every API group, not narrowed by resourceNames; the role may
// come later in the input.
// Allowed: subjects that are Kubernetes' own components: users and groups
// named system:..., except service accounts
// (system:serviceaccount:<ns>:<name>, system:serviceaccounts[:<ns>]) and
// the public identities (system:anonymous, system:unauthenticated,
// system:authenticated), which are reported. ServiceAccount subjects are
// always reported, in kube-system too: a pod's token is the easiest
// credential of a cluster to steal.
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "rbac-cluster-admin-binding",
			Title:    "Binding grants cluster-admin",
			Severity: check.Critical,
			Description: "cluster-admin allows every verb on every resource: reading every secret, running commands in every pod, " +
				"creating privileged pods on any node, and granting itself anything new. " +
				"Bound with a ClusterRoleBinding it covers the whole cluster; bound with a RoleBinding it still covers every object of the namespace, secrets and service account tokens included. " +
				"A role that lists \"*\" for API groups, resources and verbs is the same thing under another name. " +
				"Whoever steals the credentials of a subject of such a binding (a service account token in a pod, a kubeconfig) owns what it covers.",
			Remediation: "Bind a role that lists only the permissions the subject needs, in the namespaces it needs them; " +
				"keep cluster-admin for break-glass access outside of manifests.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: func(o *object.Object) bool { return rbacIsRole(o) || rbacIsBinding(o) },
		Run:     rbacClusterAdminBinding,
	})
}

func rbacClusterAdminBinding(p *check.Pass) {
	if rbacIsRole(p.Object) {
		rbacKeepAllowsEverything(p)
		return
	}
	role := rbacBindingRoleRef(p.Object)
	if role.Kind != "Role" && role.Kind != "ClusterRole" || role.Name == "" {
		return
	}
	binding, ns := rbacDescribeBinding(p.Object), p.Namespace
	scope := "full control of the whole cluster"
	if p.Object.Kind == "RoleBinding" {
		scope = "full control of every object " + rbacOfNamespace(ns) + ", secrets included"
	}
	builtin := role.Kind == "ClusterRole" && role.Name == "cluster-admin"
	what := "cluster-admin"
	if !builtin {
		what = rbacDescribeRole(role.Kind, role.Name) + ", which allows every verb on every resource like cluster-admin,"
	}
	var unless func(check.Facts) bool
	if !builtin {
		// The role may come later in the input, or in another file.
		kind, name := role.Kind, role.Name
		unless = func(idx check.Facts) bool { return !rbacRoleAllowsEverything(idx, kind, name, ns) }
	}
	for _, s := range rbacSubjects(p.Object, ns) {
		if s.Component() {
			continue
		}
		if builtin {
			p.Report(s.Ref, "%s grants %s to %s: %s", binding, what, s, scope)
		} else {
			p.ReportUnless(s.Ref, unless, "%s grants %s to %s: %s", binding, what, s, scope)
		}
	}
}
