package checks

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Roles should list what they grant: a "*" grants everything that exists,
// including the most dangerous verbs, and everything that will exist, such
// as the resources of custom resource definitions installed later.
//
// Fields: rules[*].verbs, rules[*].resources and rules[*].apiGroups of Role
// and ClusterRole; one finding per "*" item. Rules of a ClusterRole with an
// aggregationRule are judged as written (the controller replaces them).
// A "*" verb on non-resource URLs only (/metrics, /healthz) is not
// reported: those verbs are HTTP methods on fixed paths.
// Allowed: explicit lists
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "rbac-wildcard",
			Title:    "Wildcard in RBAC rule",
			Severity: check.High,
			Description: "A \"*\" in the verbs, resources or apiGroups of a role rule grants every value there is, now and later. " +
				"Every verb includes escalate, bind and impersonate, which let the holder grant itself more than it has; " +
				"every resource includes secrets and the resources of custom resource definitions installed after the role was written; " +
				"every API group includes the groups of those definitions. " +
				"Wildcards turn a role written for one task into one that grows with the cluster.",
			Remediation: "List the verbs, resources and API groups the subject needs: " +
				"`kubectl auth can-i --list --as=system:serviceaccount:<ns>:<name>` and the audit log show what a workload uses.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: rbacIsRole,
		Run:     rbacWildcard,
	})
}

func rbacWildcard(p *check.Pass) {
	who := rbacDescribeRole(p.Object.Kind, p.Object.Name)
	cluster := p.Object.Kind == "ClusterRole"
	rules := rbacRules(p.Object)
	for i := range rules {
		r := &rules[i]
		resourceRule := len(r.items[rbacResources]) > 0 || len(r.items[rbacAPIGroups]) > 0
		for _, f := range [...]int{rbacVerbs, rbacResources, rbacAPIGroups} {
			if f == rbacVerbs && !resourceRule {
				continue
			}
			for j, v := range r.items[f] {
				if v == "*" {
					p.Report(r.ref(f, j), "%s grants %s", who, rbacWildcardGrants(r, f, cluster))
				}
			}
		}
	}
}

// rbacWildcardGrants says what a "*" in a field of rule r stands for,
// given the rule's other fields.
func rbacWildcardGrants(r *rbacRule, field int, cluster bool) string {
	switch field {
	case rbacVerbs:
		// escalate, bind and impersonate, where the rule's resources let
		// them mean something.
		var verbs []string
		for j := range rbacDangers {
			d := &rbacDangers[j]
			if m, ok := d.match(r, cluster); ok && d.atVerb {
				verbs = append(verbs, m.verbs...)
			}
		}
		if len(verbs) == 0 {
			return `every verb ("*"), including delete, deletecollection and any verb added later`
		}
		return `every verb ("*"), including ` + rbacJoin(verbs)
	case rbacResources:
		switch {
		case r.index(rbacAPIGroups, "*") >= 0:
			return `every resource ("*"), including secrets, pods/exec and the custom resources installed later`
		case r.index(rbacAPIGroups, "") >= 0:
			return `every resource of the core API group ("*"), including secrets, pods/exec and serviceaccounts/token`
		}
		groups := make([]string, len(r.items[rbacAPIGroups]))
		for i, g := range r.items[rbacAPIGroups] {
			groups[i] = strconv.Quote(g)
		}
		switch len(groups) {
		case 0:
			// The API server rejects a resource rule without API groups.
			return `every resource ("*")`
		case 1:
			return `every resource ("*") of API group ` + groups[0] + `, including subresources and any resource added later`
		}
		return `every resource ("*") of API groups ` + rbacJoin(groups) + `, including subresources and any resource added later`
	}
	return `every API group ("*"), including those of custom resources installed later`
}

// rbacJoin writes "a", "a and b", "a, b and c".
func rbacJoin(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
