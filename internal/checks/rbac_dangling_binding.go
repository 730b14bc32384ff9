package checks

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// A binding must refer to a role that exists: a dangling binding grants
// nothing today, but whoever later creates a role of that name (another
// chart, a typo fixed in the wrong place, an attacker allowed to create
// roles there) hands its permissions to the binding's subjects at once.
//
// Fields: roleRef.kind and roleRef.name of RoleBinding and
// ClusterRoleBinding with at least one subject, against the roles of the
// scan (or, in a cluster, the cluster's): a Role in the binding's
// namespace, or a ClusterRole.
// Allowed: a role of that kind and name anywhere in the input; the
// built-in cluster roles (cluster-admin, admin, edit, view, system:*) and
// kube-system's built-in roles (extension-apiserver-authentication-reader,
// system:*). A manifest set rarely holds every role of a cluster, so a
// static scan reports a binding only when it defines roles of the same
// scope: at least one Role in the binding's namespace for a Role, at least
// one ClusterRole for a ClusterRole. Then the roles come from the same
// place as the binding, and a missing one is a mistake, not another
// chart's role.
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "rbac-dangling-binding",
			Title:    "Binding to a role that does not exist",
			Severity: check.Medium,
			Description: "A RoleBinding or ClusterRoleBinding whose roleRef names a role that does not exist grants nothing yet, and it is accepted without complaint. " +
				"It is a loaded grant: whoever later creates a role of that name, through another chart, a renamed role brought back, or anyone allowed to create roles there, " +
				"gives its permissions to the binding's subjects at once, without touching the binding a review would look at. " +
				"Dangling bindings are usually left behind by a renamed or deleted role. " +
				"In a static scan, which rarely holds every role of a cluster, a binding is reported only when the scan defines roles of the same scope (a Role in its namespace, or any ClusterRole); " +
				"the built-in cluster roles are never reported.",
			Remediation: "Point roleRef at the role the subjects should have, or delete the binding if they need none.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: func(o *object.Object) bool { return rbacIsRole(o) || rbacIsBinding(o) },
		Run:     rbacDanglingBinding,
	})
}

func rbacDanglingBinding(p *check.Pass) {
	o := p.Object
	if rbacIsRole(o) {
		// Two facts per role: that it exists, and that its scope (the
		// namespace, or the cluster) has roles in the input.
		p.Keep(rbacRoleKey("rbac-dangling-binding/defined", o.Kind, p.Namespace, o.Name), true)
		p.Keep(rbacRoleKey("rbac-dangling-binding/scope", o.Kind, p.Namespace, ""), true)
		return
	}
	role := rbacBindingRoleRef(o)
	if role.Kind != "Role" && role.Kind != "ClusterRole" || role.Name == "" || rbacBuiltinRole(role.Kind, role.Name, p.Namespace) {
		return
	}
	subjects := rbacSubjects(o, p.Namespace)
	if len(subjects) == 0 {
		return
	}
	kind, name, ns := role.Kind, role.Name, p.Namespace
	if kind == "Role" && o.Kind == "ClusterRoleBinding" {
		// The API server rejects it: a ClusterRoleBinding binds only
		// ClusterRoles.
		return
	}
	where := "in the cluster"
	if kind == "Role" {
		where = rbacInNamespace(ns)
	}
	p.ReportUnless(role.NameRef, func(idx check.Facts) bool {
		return len(idx.Kept(rbacRoleKey("rbac-dangling-binding/defined", kind, ns, name))) > 0 ||
			len(idx.Kept(rbacRoleKey("rbac-dangling-binding/scope", kind, ns, ""))) == 0
	}, "%s refers to %s, which does not exist %s: whoever creates it grants its permissions to %s",
		rbacDescribeBinding(o), rbacDescribeRole(kind, name), where, rbacDescribeSubjects(subjects))
}

// rbacBuiltinRole reports whether a role of that kind and name is one
// every cluster has: the user-facing cluster roles, the system: ones, and
// the Role kube-system has for extension API servers.
func rbacBuiltinRole(kind, name, namespace string) bool {
	if strings.HasPrefix(name, "system:") {
		return true
	}
	if kind == "ClusterRole" {
		_, ok := rbacBuiltinRoles[name]
		return ok
	}
	return namespace == "kube-system" && name == "extension-apiserver-authentication-reader"
}

// rbacInNamespace says where a namespaced role is missing.
func rbacInNamespace(ns string) string {
	if ns == "" {
		return "in the namespace of objects without metadata.namespace"
	}
	return "in namespace " + strconv.Quote(ns)
}

// rbacDescribeSubjects names the first subject, and how many more there
// are.
func rbacDescribeSubjects(s []rbacSubject) string {
	switch len(s) {
	case 1:
		return s[0].String()
	case 2:
		return s[0].String() + " and 1 other subject"
	}
	return s[0].String() + " and " + strconv.Itoa(len(s)-1) + " other subjects"
}
