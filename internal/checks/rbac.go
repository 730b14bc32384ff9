package checks

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// This file reads RBAC roles and bindings for the rbac-* checks, and
// matches their rules the way the API server's RBAC authorizer does
// (k8s.io/component-helpers/auth/rbac/validation: VerbMatches,
// APIGroupMatches, ResourceMatches).

// rbacGroup is the API group of Role, ClusterRole and their bindings.
const rbacGroup = "rbac.authorization.k8s.io"

// The fields of a policy rule, as indexes into rbacRule.items.
const (
	rbacAPIGroups = iota
	rbacResources
	rbacResourceNames
	rbacVerbs
	rbacNonResourceURLs
	rbacNumFields
)

var rbacFieldNames = [rbacNumFields]string{"apiGroups", "resources", "resourceNames", "verbs", "nonResourceURLs"}

// rbacRule is one policy rule. Rules read from a manifest keep the node of
// every item so that a finding points at the offending one; the built-in
// roles' rules have none.
type rbacRule struct {
	items [rbacNumFields][]string
	nodes [rbacNumFields][]*yaml.Node
	// path is "rules[i]", node the rule's mapping; both empty for the
	// built-in roles.
	path string
	node *yaml.Node
}

// rbacRules reads the rules of a Role or ClusterRole. Items that are not
// strings are skipped: the API server rejects them, and they grant nothing.
// The result is not memoized on the object, which may live until the scan
// ends: reading the rules again costs less than keeping a copy.
func rbacRules(o *object.Object) []rbacRule {
	seq := object.Get(o.Node, "rules")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	rules := make([]rbacRule, 0, len(seq.Content))
	for i, rn := range seq.Content {
		rn = object.Resolve(rn)
		if rn == nil || rn.Kind != yaml.MappingNode {
			continue
		}
		r := rbacRule{path: "rules[" + strconv.Itoa(i) + "]", node: rn}
		for f, name := range rbacFieldNames {
			list := object.Get(rn, name)
			if list == nil || list.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range list.Content {
				item = object.Resolve(item)
				if item == nil || item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
					continue
				}
				r.items[f] = append(r.items[f], item.Value)
				r.nodes[f] = append(r.nodes[f], item)
			}
		}
		rules = append(rules, r)
	}
	return rules
}

// ref points at item i of a field, or at the rule when it has no nodes.
func (r *rbacRule) ref(field, i int) object.Ref {
	if i < 0 || i >= len(r.nodes[field]) {
		return object.Ref{Path: r.path, Node: r.node}
	}
	return object.Ref{Path: r.path + "." + rbacFieldNames[field] + "[" + strconv.Itoa(i) + "]", Node: r.nodes[field][i]}
}

// index returns the position of the first item of a field equal to v, or -1.
func (r *rbacRule) index(field int, v string) int {
	for i, s := range r.items[field] {
		if s == v {
			return i
		}
	}
	return -1
}

// matchVerb returns the item that grants verb ("*" grants every verb),
// or -1.
func (r *rbacRule) matchVerb(verb string) int {
	for i, v := range r.items[rbacVerbs] {
		if v == "*" || v == verb {
			return i
		}
	}
	return -1
}

// matchResource returns the item that covers a resource, written as the
// authorizer sees it ("pods", or "pods/exec" for a subresource), or -1.
func (r *rbacRule) matchResource(resource string) int {
	for i, item := range r.items[rbacResources] {
		if rbacResourceMatches(item, resource) {
			return i
		}
	}
	return -1
}

// rbacResourceMatches mirrors the authorizer: "*" covers everything, an
// exact name covers itself, and "*/sub" covers subresource sub of every
// resource. "pods" does not cover "pods/exec", and "pods/*" covers nothing
// but a subresource literally named "*".
func rbacResourceMatches(item, resource string) bool {
	if item == "*" || item == resource {
		return true
	}
	_, sub, ok := strings.Cut(resource, "/")
	return ok && strings.HasPrefix(item, "*/") && item[2:] == sub
}

// allowsEverything reports whether the rule is cluster-admin's first rule:
// every verb on every resource of every API group, not narrowed to named
// objects.
func (r *rbacRule) allowsEverything() bool {
	return r.index(rbacAPIGroups, "*") >= 0 && r.index(rbacResources, "*") >= 0 &&
		r.index(rbacVerbs, "*") >= 0 && len(r.items[rbacResourceNames]) == 0
}

// rbacAllowsEverything reports whether a role's rules make it equivalent
// to cluster-admin within its scope. cluster-admin's second rule (every
// verb on every non-resource URL) adds only /metrics, /logs and health
// endpoints, so the resource rule alone decides.
func rbacAllowsEverything(rules []rbacRule) bool {
	for i := range rules {
		if rules[i].allowsEverything() {
			return true
		}
	}
	return false
}

// rbacIsRole and rbacIsBinding tell RBAC objects from custom resources that
// happen to share their kind name.
func rbacIsRole(o *object.Object) bool {
	return (o.Kind == "Role" || o.Kind == "ClusterRole") && o.Group() == rbacGroup
}

func rbacIsBinding(o *object.Object) bool {
	return (o.Kind == "RoleBinding" || o.Kind == "ClusterRoleBinding") && o.Group() == rbacGroup
}

// rbacDescribeRole names a role the way messages do: `role "x"` or
// `cluster role "x"`.
func rbacDescribeRole(kind, name string) string {
	if kind == "ClusterRole" {
		return "cluster role " + strconv.Quote(name)
	}
	return "role " + strconv.Quote(name)
}

// rbacDescribeBinding names a binding: `role binding "x"` or
// `cluster role binding "x"`.
func rbacDescribeBinding(o *object.Object) string {
	if o.Kind == "ClusterRoleBinding" {
		return "cluster role binding " + strconv.Quote(o.Name)
	}
	return "role binding " + strconv.Quote(o.Name)
}

// rbacOfNamespace names the namespace of a namespaced object: objects
// without one go wherever kubectl apply -n puts them.
func rbacOfNamespace(ns string) string {
	if ns == "" {
		return "of its namespace"
	}
	return "of namespace " + strconv.Quote(ns)
}

// rbacRoleRef is the role a binding grants.
type rbacRoleRef struct {
	Kind, Name string
	// NameRef points at roleRef.name (or the nearest existing parent).
	NameRef object.Ref
}

func rbacBindingRoleRef(o *object.Object) rbacRoleRef {
	rr := object.Get(o.Node, "roleRef")
	ref := object.Ref{Path: "roleRef", Node: object.KeyNode(o.Node, "roleRef")}
	if rr == nil {
		ref = o.Root()
	} else if n := object.Get(rr, "name"); n != nil {
		ref = object.Ref{Path: "roleRef.name", Node: n}
	}
	return rbacRoleRef{Kind: object.GetStr(rr, "kind"), Name: object.GetStr(rr, "name"), NameRef: ref}
}

// rbacSubject is one subject of a binding.
type rbacSubject struct {
	Kind, Name, Namespace string
	// Ref points at the subject's name.
	Ref object.Ref
}

// rbacSubjects reads the subjects of a binding. A ServiceAccount subject
// without a namespace is in the binding's namespace, as the API server
// defaults it for a RoleBinding.
func rbacSubjects(o *object.Object, namespace string) []rbacSubject {
	seq := object.Get(o.Node, "subjects")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]rbacSubject, 0, len(seq.Content))
	for i, sn := range seq.Content {
		sn = object.Resolve(sn)
		if sn == nil || sn.Kind != yaml.MappingNode {
			continue
		}
		path := "subjects[" + strconv.Itoa(i) + "]"
		s := rbacSubject{
			Kind:      object.GetStr(sn, "kind"),
			Name:      object.GetStr(sn, "name"),
			Namespace: object.GetStr(sn, "namespace"),
			Ref:       object.Ref{Path: path, Node: sn},
		}
		if n := object.Get(sn, "name"); n != nil {
			s.Ref = object.Ref{Path: path + ".name", Node: n}
		}
		if s.Kind == "ServiceAccount" && s.Namespace == "" {
			s.Namespace = namespace
		}
		out = append(out, s)
	}
	return out
}

// Component reports whether the subject is one of Kubernetes' own
// identities: a user or group named system:..., such as system:masters or
// system:kube-controller-manager, that the cluster's components
// authenticate as. Service accounts are not components even under the
// system: prefix (the user system:serviceaccount:<ns>:<name>, the groups
// system:serviceaccounts[:<ns>]), and neither are the groups that stand
// for every caller (system:authenticated, system:unauthenticated) or the
// anonymous user: a pod or a stranger can become any of them.
func (s rbacSubject) Component() bool {
	if s.Kind != "User" && s.Kind != "Group" {
		return false
	}
	if !strings.HasPrefix(s.Name, "system:") || strings.HasPrefix(s.Name, "system:serviceaccount") {
		return false
	}
	_, public := rbacPublicSubjects[s.Name]
	return !public
}

// String names the subject for messages: `service account "ns/name"`,
// `user "alice"`, `group "devs"`.
func (s rbacSubject) String() string {
	switch s.Kind {
	case "ServiceAccount":
		if s.Namespace == "" {
			return "service account " + strconv.Quote(s.Name)
		}
		return "service account " + strconv.Quote(s.Namespace+"/"+s.Name)
	case "User":
		return "user " + strconv.Quote(s.Name)
	case "Group":
		return "group " + strconv.Quote(s.Name)
	}
	return "subject " + strconv.Quote(s.Name)
}

// rbacPublicSubjects are the identities every caller has: what a binding
// to them hands out, it hands out to everyone.
var rbacPublicSubjects = map[string]string{
	"system:anonymous":       "every request that carries no credentials",
	"system:unauthenticated": "every request that carries no credentials",
	"system:authenticated":   "every user and every service account of every namespace",
}

// The cross-object questions of the rbac checks, answered once every
// object of the scan is known from the facts the checks kept about roles
// and bindings (check.Pass.Keep): a few bytes each, where indexing the
// objects would keep their YAML trees until the scan ends.

// rbacRoleKey is the key of a fact about a role: a Role by namespace and
// name, a ClusterRole by name.
func rbacRoleKey(fact, kind, namespace, name string) string {
	if kind == "ClusterRole" {
		namespace = ""
	}
	return fact + "\x00" + kind + "\x00" + namespace + "\x00" + name
}

// rbacKeepAllowsEverything records, in a role's pass, whether it allows
// every verb on every resource.
func rbacKeepAllowsEverything(p *check.Pass) {
	o := p.Object
	p.Keep(rbacRoleKey("rbac-cluster-admin-binding/allows-everything", o.Kind, p.Namespace, o.Name), rbacAllowsEverything(rbacRules(o)))
}

// rbacRoleAllowsEverything reports whether the role that a binding of
// namespace refers to is in the scan and allows every verb on every
// resource. The first role of a name counts, as with kubectl apply.
func rbacRoleAllowsEverything(idx check.Facts, kind, name, namespace string) bool {
	kept := idx.Kept(rbacRoleKey("rbac-cluster-admin-binding/allows-everything", kind, namespace, name))
	return len(kept) > 0 && kept[0].(bool)
}

// rbacKeepDefined records, in a ClusterRole's pass, that the scan defines
// it, when it has the name of a built-in role.
func rbacKeepDefined(p *check.Pass) {
	if _, ok := rbacBuiltinRoles[p.Object.Name]; ok && p.Object.Kind == "ClusterRole" {
		p.Keep(rbacRoleKey("rbac-dangerous-permissions/defined", "ClusterRole", "", p.Object.Name), true)
	}
}

// rbacClusterRoleDefined reports whether the scan defines a ClusterRole
// named like a built-in role.
func rbacClusterRoleDefined(idx check.Facts, name string) bool {
	return len(idx.Kept(rbacRoleKey("rbac-dangerous-permissions/defined", "ClusterRole", "", name))) > 0
}

// The ways a ClusterRole is bound in the scan.
const (
	rbacBoundInNamespace uint8 = 1 << iota
	rbacBoundClusterWide
)

// rbacKeepBound records, in a binding's pass, how it binds a ClusterRole.
func rbacKeepBound(p *check.Pass, roleKind, roleName string) {
	if roleKind != "ClusterRole" {
		return
	}
	how := rbacBoundInNamespace
	if p.Object.Kind == "ClusterRoleBinding" {
		how = rbacBoundClusterWide
	}
	p.Keep(rbacRoleKey("rbac-dangerous-permissions/bound", "ClusterRole", "", roleName), how)
}

// rbacClusterRoleBound tells how the bindings of the scan bind a
// ClusterRole: a combination of rbacBoundInNamespace and
// rbacBoundClusterWide, 0 when nothing binds it.
func rbacClusterRoleBound(idx check.Facts, name string) uint8 {
	var how uint8
	for _, v := range idx.Kept(rbacRoleKey("rbac-dangerous-permissions/bound", "ClusterRole", "", name)) {
		how |= v.(uint8)
	}
	return how
}

// rbacRule builds a built-in rule.
func rbacGrant(groups, resources, verbs []string) rbacRule {
	var r rbacRule
	r.items[rbacAPIGroups], r.items[rbacResources], r.items[rbacVerbs] = groups, resources, verbs
	return r
}

// The rules of the aggregated cluster roles that every cluster has, as
// Kubernetes 1.33 bootstraps them
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml).
var (
	rbacRead       = []string{"get", "list", "watch"}
	rbacWrite      = []string{"create", "delete", "deletecollection", "patch", "update"}
	rbacReadWrite  = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	rbacAggToAdmin = []rbacRule{
		rbacGrant([]string{"authorization.k8s.io"}, []string{"localsubjectaccessreviews"}, []string{"create"}),
		rbacGrant([]string{rbacGroup}, []string{"rolebindings", "roles"}, rbacReadWrite),
	}
	rbacAggToEdit = []rbacRule{
		rbacGrant([]string{""}, []string{"pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"}, rbacRead),
		rbacGrant([]string{""}, []string{"serviceaccounts"}, []string{"impersonate"}),
		rbacGrant([]string{""}, []string{"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}, rbacWrite),
		rbacGrant([]string{""}, []string{"pods/eviction"}, []string{"create"}),
		rbacGrant([]string{""}, []string{"configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale",
			"secrets", "serviceaccounts", "services", "services/proxy"}, rbacWrite),
		rbacGrant([]string{""}, []string{"serviceaccounts/token"}, []string{"create"}),
		rbacGrant([]string{"apps"}, []string{"daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
			"replicasets/scale", "statefulsets", "statefulsets/scale"}, rbacWrite),
		rbacGrant([]string{"autoscaling"}, []string{"horizontalpodautoscalers"}, rbacWrite),
		rbacGrant([]string{"batch"}, []string{"cronjobs", "jobs"}, rbacWrite),
		rbacGrant([]string{"extensions"}, []string{"daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses",
			"networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"}, rbacWrite),
		rbacGrant([]string{"policy"}, []string{"poddisruptionbudgets"}, rbacWrite),
		rbacGrant([]string{"networking.k8s.io"}, []string{"ingresses", "networkpolicies"}, rbacWrite),
		rbacGrant([]string{"coordination.k8s.io"}, []string{"leases"}, rbacReadWrite),
	}
	rbacAggToView = []rbacRule{
		rbacGrant([]string{""}, []string{"configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
			"replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"}, rbacRead),
		rbacGrant([]string{""}, []string{"bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
			"replicationcontrollers/status", "resourcequotas", "resourcequotas/status"}, rbacRead),
		rbacGrant([]string{""}, []string{"namespaces"}, rbacRead),
		rbacGrant([]string{"discovery.k8s.io"}, []string{"endpointslices"}, rbacRead),
		rbacGrant([]string{"apps"}, []string{"controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
			"deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale",
			"statefulsets/status"}, rbacRead),
		rbacGrant([]string{"autoscaling"}, []string{"horizontalpodautoscalers", "horizontalpodautoscalers/status"}, rbacRead),
		rbacGrant([]string{"batch"}, []string{"cronjobs", "cronjobs/status", "jobs", "jobs/status"}, rbacRead),
		rbacGrant([]string{"extensions"}, []string{"daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "networkpolicies", "replicasets", "replicasets/scale", "replicasets/status",
			"replicationcontrollers/scale"}, rbacRead),
		rbacGrant([]string{"policy"}, []string{"poddisruptionbudgets", "poddisruptionbudgets/status"}, rbacRead),
		rbacGrant([]string{"networking.k8s.io"}, []string{"ingresses", "ingresses/status", "networkpolicies"}, rbacRead),
	}
)

// rbacBuiltinRoles are the user-facing cluster roles of every cluster. A
// binding may name them without the scan defining them; admin, edit and
// view are the union of the roles aggregated into them.
var rbacBuiltinRoles = map[string][]rbacRule{
	"cluster-admin": {
		rbacGrant([]string{"*"}, []string{"*"}, []string{"*"}),
		{items: [rbacNumFields][]string{rbacNonResourceURLs: {"*"}, rbacVerbs: {"*"}}},
	},
	"admin": rbacConcat(rbacAggToAdmin, rbacAggToEdit, rbacAggToView),
	"edit":  rbacConcat(rbacAggToEdit, rbacAggToView),
	"view":  rbacAggToView,
}

func rbacConcat(lists ...[]rbacRule) []rbacRule {
	var out []rbacRule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
