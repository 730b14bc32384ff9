package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Roles should not hand out the permissions that lead to more permissions:
// escalating or binding roles, impersonation, reading secrets, running
// commands in pods, minting tokens, starting pods anywhere, and rewriting
// admission webhooks. Each is a short path from one compromised identity
// to others, often to cluster-admin.
//
// Fields: rules[*] of Role and ClusterRole, one finding per rule and
// dangerous permission, at the verb (escalate, bind, impersonate) or at the
// resource that grants it. "*" in verbs, resources or apiGroups counts, and
// so does "*/<subresource>". A rule of every verb on every resource of every
// API group is one finding.
// A RoleBinding or ClusterRoleBinding of the built-in cluster roles admin
// and edit (view grants none of these) is reported at roleRef.name, unless
// the scan defines a ClusterRole of that name; cluster-admin is left to
// rbac-cluster-admin-binding. Bindings whose subjects are all Kubernetes
// components (system: users and groups other than service accounts and
// the public groups) are not reported.
//
// Scope decides what a rule grants. A Role, and a ClusterRole bound by
// RoleBindings, grants nothing on cluster-scoped resources (nodes/proxy,
// users, groups, cluster roles, webhook configurations), and creating pods
// or workload controllers in a namespace is the namespace's business:
// those are reported for a ClusterRole only when a ClusterRoleBinding of
// the scan binds it, or when nothing in the scan binds it (it exists to
// be bound, and cluster-wide is what a ClusterRole is for).
//
// resourceNames: reading named secrets and changing named webhook
// configurations is a deliberate, least-privilege grant and is allowed; a
// rule with resourceNames never grants create of a top-level resource,
// whose name the authorizer does not know yet.
// Allowed: none of the permissions below
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "rbac-dangerous-permissions",
			Title:    "RBAC permission that leads to more privilege",
			Severity: check.High,
			Description: "Some permissions are worth more than they say. " +
				"escalate and bind on roles let a subject write or bind permissions it does not hold; impersonate lets it act as another user, group or service account. " +
				"Reading secrets yields service account tokens and credentials. " +
				"create on pods/exec, pods/attach and pods/portforward reaches into pods that run with other, often stronger service accounts; " +
				"create on nodes/proxy reaches the kubelet API, which runs commands in any pod of the node; create on serviceaccounts/token mints tokens. " +
				"Creating pods or workload controllers in every namespace runs code as any service account of the cluster. " +
				"Changing validating or mutating webhook configurations switches off admission policy or rewrites every new object. " +
				"Each of these turns one stolen identity into others.",
			Remediation: "Remove the permission, or narrow it: a Role instead of a ClusterRole, explicit resources instead of \"*\", " +
				"resourceNames for the secrets and webhook configurations the workload owns, and a dedicated service account per workload.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: func(o *object.Object) bool { return rbacIsRole(o) || rbacIsBinding(o) },
		Run:     rbacDangerousPermissions,
	})
}

// rbacTarget is a resource a dangerous permission applies to.
type rbacTarget struct {
	group, resource string
	// cluster marks cluster-scoped resources, which a Role or a RoleBinding
	// cannot grant.
	cluster bool
}

// rbacDanger is one dangerous permission: some verbs on some resources.
type rbacDanger struct {
	name    string
	verbs   []string
	targets []rbacTarget
	// atVerb points findings at the verb rather than the resource: the verb
	// is what makes escalate, bind and impersonate dangerous.
	atVerb bool
	// clusterWide: only dangerous when granted in every namespace.
	clusterWide bool
	// namedOK: resourceNames make the grant deliberate.
	namedOK bool
	// why completes "which lets its subjects ..."; {where} is the scope.
	why string
}

var rbacWorkloads = []rbacTarget{
	{"", "pods", false}, {"", "replicationcontrollers", false},
	{"apps", "deployments", false}, {"apps", "daemonsets", false}, {"apps", "statefulsets", false}, {"apps", "replicasets", false},
	{"extensions", "deployments", false}, {"extensions", "daemonsets", false}, {"extensions", "replicasets", false},
	{"batch", "jobs", false}, {"batch", "cronjobs", false},
}

var rbacDangers = []rbacDanger{
	{
		name:    "escalate",
		verbs:   []string{"escalate"},
		targets: []rbacTarget{{rbacGroup, "roles", false}, {rbacGroup, "clusterroles", true}},
		atVerb:  true,
		why:     "write permissions they do not hold into roles, up to those of cluster-admin",
	},
	{
		name:    "bind",
		verbs:   []string{"bind"},
		targets: []rbacTarget{{rbacGroup, "roles", false}, {rbacGroup, "clusterroles", true}},
		atVerb:  true,
		why:     "bind roles with permissions they do not hold, cluster-admin included, to themselves",
	},
	{
		name:    "impersonate",
		verbs:   []string{"impersonate"},
		targets: []rbacTarget{{"", "users", true}, {"", "groups", true}, {"", "serviceaccounts", false}},
		atVerb:  true,
		why:     "act as other users, groups or service accounts, with all of their permissions",
	},
	{
		name:    "read secrets",
		verbs:   rbacRead,
		targets: []rbacTarget{{"", "secrets", false}},
		namedOK: true,
		why:     "read the credentials and service account tokens kept in any secret {where}",
	},
	{
		name:    "pods/exec",
		verbs:   []string{"create"},
		targets: []rbacTarget{{"", "pods/exec", false}},
		why:     "run commands in any pod {where}, including pods with more privileged service accounts",
	},
	{
		name:    "pods/attach",
		verbs:   []string{"create"},
		targets: []rbacTarget{{"", "pods/attach", false}},
		why:     "attach to the processes of any pod {where}, including pods with more privileged service accounts",
	},
	{
		name:    "pods/portforward",
		verbs:   []string{"create"},
		targets: []rbacTarget{{"", "pods/portforward", false}},
		why:     "connect to any port of any pod {where} from inside the pod, where network policies do not apply",
	},
	{
		name:    "nodes/proxy",
		verbs:   []string{"create"},
		targets: []rbacTarget{{"", "nodes/proxy", true}},
		why:     "call the kubelet API of every node and run commands in any pod there",
	},
	{
		name:    "serviceaccounts/token",
		verbs:   []string{"create"},
		targets: []rbacTarget{{"", "serviceaccounts/token", false}},
		why:     "mint tokens for any service account {where} and act with its permissions",
	},
	{
		name:        "create workloads",
		verbs:       []string{"create"},
		targets:     rbacWorkloads,
		clusterWide: true,
		why:         "start pods in every namespace with any service account there, and so take the permissions of every service account of the cluster",
	},
	{
		name:    "validating webhooks",
		verbs:   []string{"create", "update", "patch"},
		targets: []rbacTarget{{"admissionregistration.k8s.io", "validatingwebhookconfigurations", true}},
		namedOK: true,
		why:     "switch off or redirect the admission checks that enforce the cluster's policies",
	},
	{
		name:    "mutating webhooks",
		verbs:   []string{"create", "update", "patch"},
		targets: []rbacTarget{{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", true}},
		namedOK: true,
		why:     "have new objects rewritten on their way in, such as a privileged container added to every pod",
	},
}

// rbacMatch is what a rule grants of a dangerous permission.
type rbacMatch struct {
	verbs, resources []string
	// wildcard: a "*" in the rule grants part of it.
	wildcard bool
	ref      object.Ref
	// clusterOnly: granted only where the role is bound cluster-wide.
	clusterOnly bool
}

// match tells what rule r grants of d. cluster is false for a Role or a
// RoleBinding, which grant nothing cluster-scoped or cluster-wide.
func (d *rbacDanger) match(r *rbacRule, cluster bool) (rbacMatch, bool) {
	var m rbacMatch
	named := len(r.items[rbacResourceNames]) > 0
	if d.clusterWide && !cluster || d.namedOK && named || len(r.items[rbacNonResourceURLs]) > 0 {
		return m, false
	}
	verbAt, onlyCreate := -1, true
	for _, v := range d.verbs {
		if i := r.matchVerb(v); i >= 0 {
			m.verbs = append(m.verbs, v)
			onlyCreate = onlyCreate && v == "create"
			if verbAt < 0 {
				verbAt = i
			}
			m.wildcard = m.wildcard || r.items[rbacVerbs][i] == "*"
		}
	}
	if verbAt < 0 {
		return m, false
	}
	resourceAt, namespaced := -1, false
	for _, t := range d.targets {
		if t.cluster && !cluster || named && onlyCreate && !strings.Contains(t.resource, "/") {
			continue
		}
		g := r.index(rbacAPIGroups, t.group)
		if g < 0 {
			g = r.index(rbacAPIGroups, "*")
		}
		i := r.matchResource(t.resource)
		if g < 0 || i < 0 {
			continue
		}
		if !rbacContains(m.resources, t.resource) {
			m.resources = append(m.resources, t.resource)
		}
		m.wildcard = m.wildcard || r.items[rbacAPIGroups][g] == "*" || r.items[rbacResources][i] != t.resource
		namespaced = namespaced || !t.cluster
		if resourceAt < 0 {
			resourceAt = i
		}
	}
	if resourceAt < 0 {
		return m, false
	}
	m.clusterOnly = d.clusterWide || !namespaced
	if d.atVerb {
		m.ref = r.ref(rbacVerbs, verbAt)
	} else {
		m.ref = r.ref(rbacResources, resourceAt)
	}
	return m, true
}

func rbacContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// describe writes "create on pods/exec" or `get, list, watch on secrets
// (through "*")`.
func (m *rbacMatch) describe() string {
	s := strings.Join(m.verbs, ", ") + " on " + strings.Join(m.resources, ", ")
	if m.wildcard {
		s += ` (through "*")`
	}
	return s
}

func (d *rbacDanger) because(where string) string {
	return "lets its subjects " + strings.ReplaceAll(d.why, "{where}", where)
}

func rbacDangerousPermissions(p *check.Pass) {
	if rbacIsBinding(p.Object) {
		rbacDangerousBinding(p)
		return
	}
	rbacKeepDefined(p)
	o := p.Object
	cluster := o.Kind == "ClusterRole"
	who := rbacDescribeRole(o.Kind, o.Name)
	where := rbacOfNamespace(p.Namespace)
	var unless func(check.Facts) bool
	if cluster {
		where = "of the namespaces it is bound in"
		name := o.Name
		unless = func(idx check.Facts) bool { return rbacClusterRoleBound(idx, name) == rbacBoundInNamespace }
	}
	rules := rbacRules(o)
	for i := range rules {
		r := &rules[i]
		if r.allowsEverything() {
			ref := r.ref(rbacVerbs, r.index(rbacVerbs, "*"))
			if cluster {
				p.Report(ref, "%s grants every verb on every resource, like cluster-admin: escalate, bind, impersonate, secrets, pods/exec and every other path to more privilege", who)
			} else {
				p.Report(ref, "%s grants every verb on every resource %s, which includes reading every secret and service account token there and running commands in every pod", who, where)
			}
			continue
		}
		for j := range rbacDangers {
			d := &rbacDangers[j]
			m, ok := d.match(r, cluster)
			if !ok {
				continue
			}
			why := d.because(where)
			if m.clusterOnly {
				// Whether a ClusterRoleBinding grants it everywhere is known
				// only when every binding of the scan has been read.
				p.ReportUnless(m.ref, unless, "%s grants %s, which %s", who, m.describe(), why)
			} else {
				p.Report(m.ref, "%s grants %s, which %s", who, m.describe(), why)
			}
		}
	}
}

// rbacDangerousBinding judges a binding of a built-in cluster role by what
// the built-in grants, since the role is nowhere in the input to point at.
func rbacDangerousBinding(p *check.Pass) {
	role := rbacBindingRoleRef(p.Object)
	rbacKeepBound(p, role.Kind, role.Name)
	rules, ok := rbacBuiltinRoles[role.Name]
	if role.Kind != "ClusterRole" || !ok || role.Name == "cluster-admin" {
		return
	}
	anyone := false
	for _, s := range rbacSubjects(p.Object, p.Namespace) {
		anyone = anyone || !s.Component()
	}
	if !anyone {
		return
	}
	cluster := p.Object.Kind == "ClusterRoleBinding"
	where := rbacOfNamespace(p.Namespace)
	if cluster {
		where = "of every namespace"
	}
	who := rbacDescribeBinding(p.Object) + " grants built-in " + rbacDescribeRole(role.Kind, role.Name)
	// A scan that defines the role is judged at the role's own rules.
	name := role.Name
	defined := func(idx check.Facts) bool { return rbacClusterRoleDefined(idx, name) }
	for j := range rbacDangers {
		d := &rbacDangers[j]
		var all rbacMatch
		for i := range rules {
			m, ok := d.match(&rules[i], cluster)
			if !ok {
				continue
			}
			for _, v := range m.verbs {
				if !rbacContains(all.verbs, v) {
					all.verbs = append(all.verbs, v)
				}
			}
			for _, r := range m.resources {
				if !rbacContains(all.resources, r) {
					all.resources = append(all.resources, r)
				}
			}
		}
		if len(all.verbs) > 0 {
			p.ReportUnless(role.NameRef, defined, "%s, which includes %s and %s", who, all.describe(), d.because(where))
		}
	}
}
