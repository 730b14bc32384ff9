package checks

import "github.com/kubeharden/kubeharden/internal/check"

// Bindings must not grant a role to everyone: system:anonymous and
// system:unauthenticated are every caller without credentials, and
// system:authenticated is every user and every service account of every
// namespace, so one compromised pod anywhere holds the role.
//
// Fields: subjects[*].name (kind User or Group) of RoleBinding and
// ClusterRoleBinding
// Allowed: any other subject; the bindings Kubernetes itself creates for
// these groups (cluster roles system:public-info-viewer for everyone,
// system:discovery and system:basic-user for system:authenticated)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "rbac-anonymous-binding",
			Title:    "Role granted to anonymous or all authenticated users",
			Severity: check.Critical,
			Description: "A binding whose subject is system:anonymous or system:unauthenticated grants its role to every request that reaches the API server without credentials, " +
				"from anywhere the API server is reachable. " +
				"A binding to system:authenticated grants it to every user and to every service account of every namespace: " +
				"any pod whose token is mounted can use it, so one compromised container anywhere in the cluster holds the role.",
			Remediation: "Bind the role to the specific users, groups or service accounts that need it, " +
				"and turn off anonymous authentication (--anonymous-auth=false) where nothing depends on it.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: rbacIsBinding,
		Run:     rbacAnonymousBinding,
	})
}

// rbacDefaultPublicBindings are the cluster roles Kubernetes binds to the
// public groups itself; restating those bindings grants nothing new.
var rbacDefaultPublicBindings = map[string]map[string]bool{
	"system:public-info-viewer": {"system:authenticated": true, "system:unauthenticated": true, "system:anonymous": true},
	"system:discovery":          {"system:authenticated": true},
	"system:basic-user":         {"system:authenticated": true},
}

func rbacAnonymousBinding(p *check.Pass) {
	role := rbacBindingRoleRef(p.Object)
	for _, s := range rbacSubjects(p.Object, p.Namespace) {
		if s.Kind != "User" && s.Kind != "Group" {
			continue
		}
		who, ok := rbacPublicSubjects[s.Name]
		if !ok {
			continue
		}
		if role.Kind == "ClusterRole" && rbacDefaultPublicBindings[role.Name][s.Name] {
			continue
		}
		p.Report(s.Ref, "%s grants %s to %s, which is %s",
			rbacDescribeBinding(p.Object), rbacDescribeRole(role.Kind, role.Name), s, who)
	}
}
