package checks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

func TestRBACResourceMatches(t *testing.T) {
	for _, tt := range []struct {
		item, resource string
		want           bool
	}{
		{"*", "pods", true},
		{"*", "pods/exec", true},
		{"pods", "pods", true},
		{"pods", "pods/exec", false},
		{"pods/exec", "pods/exec", true},
		{"pods/exec", "pods", false},
		{"*/exec", "pods/exec", true},
		{"*/exec", "pods/attach", false},
		{"*/exec", "pods", false},
		{"*/scale", "deployments/scale", true},
		// The authorizer has no "every subresource of" form.
		{"pods/*", "pods/exec", false},
		{"*/", "pods/exec", false},
		// Names are case-sensitive.
		{"Pods", "pods", false},
		{"", "pods", false},
	} {
		if got := rbacResourceMatches(tt.item, tt.resource); got != tt.want {
			t.Errorf("rbacResourceMatches(%q, %q) = %v, want %v", tt.item, tt.resource, got, tt.want)
		}
	}
}

// rbacTestRole parses one role for table tests.
func rbacTestRole(t *testing.T, src string) *object.Object {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	o, ok := object.New(&n, "role.yaml", 0)
	if !ok {
		t.Fatal("not an object")
	}
	return o
}

func TestRBACRules(t *testing.T) {
	o := rbacTestRole(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
x-verbs: &read [get, list]
rules:
- apiGroups: ["", apps]
  resources:
  - pods
  - {not: a string}
  - null
  - deployments
  verbs: *read
- "not a rule"
- nonResourceURLs: ["/metrics"]
  verbs: [get]
  resourceNames: not-a-list
`)
	rules := rbacRules(o)
	if len(rules) != 2 {
		t.Fatalf("%d rules, want 2 (the scalar is not a rule)", len(rules))
	}
	r := &rules[0]
	if got, want := r.items[rbacAPIGroups], []string{"", "apps"}; !reflect.DeepEqual(got, want) {
		t.Errorf("apiGroups = %q, want %q", got, want)
	}
	if got, want := r.items[rbacResources], []string{"pods", "deployments"}; !reflect.DeepEqual(got, want) {
		t.Errorf("resources = %q, want %q (non-strings skipped)", got, want)
	}
	if got, want := r.items[rbacVerbs], []string{"get", "list"}; !reflect.DeepEqual(got, want) {
		t.Errorf("verbs through an alias = %q, want %q", got, want)
	}
	ref := r.ref(rbacResources, 1)
	if ref.Path != "rules[0].resources[1]" || ref.Node.Line != 12 {
		t.Errorf("ref of deployments = %s line %d, want rules[0].resources[1] line 12", ref.Path, ref.Node.Line)
	}
	// The second rule is the third item of the list: paths keep its index.
	if rules[1].path != "rules[2]" || rules[1].items[rbacResourceNames] != nil {
		t.Errorf("second rule: path %q, resourceNames %q", rules[1].path, rules[1].items[rbacResourceNames])
	}
	if ref := rules[1].ref(rbacResources, 0); ref.Path != "rules[2]" {
		t.Errorf("ref of a missing item = %q, want the rule", ref.Path)
	}
}

// rbacTestRule builds a rule from space-separated lists; "-" is empty.
func rbacTestRule(groups, resources, names, verbs string) *rbacRule {
	split := func(s string) []string {
		if s == "-" {
			return nil
		}
		out := strings.Fields(s)
		for i, v := range out {
			if v == `""` {
				out[i] = ""
			}
		}
		return out
	}
	r := rbacGrant(split(groups), split(resources), split(verbs))
	r.items[rbacResourceNames] = split(names)
	return &r
}

func TestRBACAllowsEverything(t *testing.T) {
	for _, tt := range []struct {
		groups, resources, names, verbs string
		want                            bool
	}{
		{"*", "*", "-", "*", true},
		{"* apps", "pods *", "-", "get *", true},
		{"*", "*", "config", "*", false},
		{`""`, "*", "-", "*", false},
		{"*", "*/scale", "-", "*", false},
		{"*", "*", "-", "get list watch create update patch delete", false},
	} {
		r := rbacTestRule(tt.groups, tt.resources, tt.names, tt.verbs)
		if got := r.allowsEverything(); got != tt.want {
			t.Errorf("%v: allowsEverything = %v, want %v", r.items, got, tt.want)
		}
	}
	if !rbacAllowsEverything(rbacBuiltinRoles["cluster-admin"]) {
		t.Error("cluster-admin does not allow everything")
	}
	for _, name := range []string{"admin", "edit", "view"} {
		if rbacAllowsEverything(rbacBuiltinRoles[name]) {
			t.Errorf("%s allows everything", name)
		}
	}
}

func rbacTestDanger(t *testing.T, name string) *rbacDanger {
	t.Helper()
	for i := range rbacDangers {
		if rbacDangers[i].name == name {
			return &rbacDangers[i]
		}
	}
	t.Fatalf("no danger %q", name)
	return nil
}

func TestRBACDangerMatch(t *testing.T) {
	for _, tt := range []struct {
		danger                          string
		groups, resources, names, verbs string
		cluster                         bool
		// want is "verbs on resources", "" for no match; through marks a
		// wildcard; clusterOnly a grant that needs a ClusterRoleBinding.
		want        string
		through     bool
		clusterOnly bool
	}{
		{danger: "read secrets", groups: `""`, resources: "secrets", names: "-", verbs: "get list", want: "get, list on secrets"},
		{danger: "read secrets", groups: `""`, resources: "secrets", names: "-", verbs: "*", want: "get, list, watch on secrets", through: true},
		{danger: "read secrets", groups: "*", resources: "secrets", names: "-", verbs: "watch", want: "watch on secrets", through: true},
		{danger: "read secrets", groups: "apps", resources: "secrets", names: "-", verbs: "get", want: ""},
		{danger: "read secrets", groups: `""`, resources: "secrets", names: "tls", verbs: "get", want: ""},
		{danger: "read secrets", groups: `""`, resources: "secrets", names: "-", verbs: "create update delete", want: ""},
		{danger: "pods/exec", groups: `""`, resources: "pods/exec", names: "-", verbs: "get", want: ""},
		{danger: "pods/exec", groups: `""`, resources: "pods", names: "-", verbs: "create", want: ""},
		{danger: "pods/exec", groups: `""`, resources: "*/exec", names: "-", verbs: "create", want: "create on pods/exec", through: true},
		// A named pod still runs the command: names do not help here.
		{danger: "pods/exec", groups: `""`, resources: "pods/exec", names: "web-0", verbs: "create", want: "create on pods/exec"},
		{danger: "escalate", groups: "rbac.authorization.k8s.io", resources: "roles clusterroles", names: "-", verbs: "escalate", cluster: true, want: "escalate on roles, clusterroles"},
		{danger: "escalate", groups: "rbac.authorization.k8s.io", resources: "roles clusterroles", names: "-", verbs: "escalate", want: "escalate on roles"},
		{danger: "escalate", groups: "rbac.authorization.k8s.io", resources: "clusterroles", names: "-", verbs: "escalate", cluster: true, want: "escalate on clusterroles", clusterOnly: true},
		{danger: "escalate", groups: "rbac.authorization.k8s.io", resources: "clusterroles", names: "-", verbs: "escalate", want: ""},
		{danger: "escalate", groups: `""`, resources: "configmaps", names: "-", verbs: "escalate", cluster: true, want: ""},
		{danger: "bind", groups: "*", resources: "*", names: "-", verbs: "bind", cluster: true, want: "bind on roles, clusterroles", through: true},
		{danger: "impersonate", groups: `""`, resources: "users groups", names: "-", verbs: "impersonate", cluster: true, want: "impersonate on users, groups", clusterOnly: true},
		{danger: "impersonate", groups: `""`, resources: "users serviceaccounts", names: "-", verbs: "impersonate", want: "impersonate on serviceaccounts"},
		{danger: "nodes/proxy", groups: `""`, resources: "nodes/proxy", names: "-", verbs: "create", cluster: true, want: "create on nodes/proxy", clusterOnly: true},
		{danger: "nodes/proxy", groups: `""`, resources: "nodes/proxy", names: "-", verbs: "get", cluster: true, want: ""},
		{danger: "nodes/proxy", groups: `""`, resources: "nodes/proxy", names: "-", verbs: "create", want: ""},
		{danger: "serviceaccounts/token", groups: `""`, resources: "serviceaccounts/token", names: "-", verbs: "create", want: "create on serviceaccounts/token"},
		{danger: "create workloads", groups: `"" apps`, resources: "pods deployments services", names: "-", verbs: "create", cluster: true, want: "create on pods, deployments", clusterOnly: true},
		{danger: "create workloads", groups: "apps extensions", resources: "deployments", names: "-", verbs: "create", cluster: true, want: "create on deployments", clusterOnly: true},
		{danger: "create workloads", groups: "batch", resources: "jobs", names: "-", verbs: "create", want: ""},
		{danger: "create workloads", groups: "batch", resources: "jobs", names: "nightly", verbs: "create", cluster: true, want: ""},
		{danger: "create workloads", groups: "batch", resources: "jobs", names: "-", verbs: "update patch", cluster: true, want: ""},
		{danger: "validating webhooks", groups: "admissionregistration.k8s.io", resources: "validatingwebhookconfigurations", names: "-", verbs: "get patch", cluster: true, want: "patch on validatingwebhookconfigurations", clusterOnly: true},
		{danger: "validating webhooks", groups: "admissionregistration.k8s.io", resources: "validatingwebhookconfigurations", names: "mine", verbs: "update", cluster: true, want: ""},
		{danger: "mutating webhooks", groups: "*", resources: "*", names: "-", verbs: "create", cluster: true, want: "create on mutatingwebhookconfigurations", through: true, clusterOnly: true},
	} {
		d := rbacTestDanger(t, tt.danger)
		r := rbacTestRule(tt.groups, tt.resources, tt.names, tt.verbs)
		m, ok := d.match(r, tt.cluster)
		got := ""
		if ok {
			got = strings.Join(m.verbs, ", ") + " on " + strings.Join(m.resources, ", ")
		}
		if got != tt.want {
			t.Errorf("%s on %v (cluster %v): %q, want %q", tt.danger, r.items, tt.cluster, got, tt.want)
			continue
		}
		if !ok {
			continue
		}
		if m.wildcard != tt.through || m.clusterOnly != tt.clusterOnly {
			t.Errorf("%s on %v: wildcard %v clusterOnly %v, want %v %v", tt.danger, r.items, m.wildcard, m.clusterOnly, tt.through, tt.clusterOnly)
		}
	}
}

// TestRBACDangerPointsAt checks that findings point at the verb for
// escalate, bind and impersonate and at the resource for the rest.
func TestRBACDangerPointsAt(t *testing.T) {
	o := rbacTestRole(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: r
rules:
- apiGroups: ["", rbac.authorization.k8s.io]
  resources: [configmaps, roles, secrets]
  verbs: [get, bind]
`)
	r := &rbacRules(o)[0]
	for name, want := range map[string]string{"bind": "rules[0].verbs[1]", "read secrets": "rules[0].resources[2]"} {
		m, ok := rbacTestDanger(t, name).match(r, true)
		if !ok || m.ref.Path != want {
			t.Errorf("%s: ref %q (match %v), want %q", name, m.ref.Path, ok, want)
		}
	}
}

// TestRBACBuiltinRoles pins what the built-in roles grant of the dangerous
// permissions, bound in a namespace and cluster-wide.
func TestRBACBuiltinRoles(t *testing.T) {
	granted := func(role string, cluster bool) []string {
		var out []string
		for i := range rbacDangers {
			for j := range rbacBuiltinRoles[role] {
				if _, ok := rbacDangers[i].match(&rbacBuiltinRoles[role][j], cluster); ok {
					out = append(out, rbacDangers[i].name)
					break
				}
			}
		}
		return out
	}
	edit := []string{"impersonate", "read secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token"}
	for _, tt := range []struct {
		role    string
		cluster bool
		want    []string
	}{
		{"view", true, nil},
		{"edit", false, edit},
		{"edit", true, append(append([]string(nil), edit...), "create workloads")},
		{"admin", false, edit},
		{"admin", true, append(append([]string(nil), edit...), "create workloads")},
	} {
		if got := granted(tt.role, tt.cluster); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s (cluster %v) grants %q, want %q", tt.role, tt.cluster, got, tt.want)
		}
	}
}

func TestRBACSubjectComponent(t *testing.T) {
	for _, tt := range []struct {
		kind, name string
		want       bool
	}{
		{"Group", "system:masters", true},
		{"User", "system:kube-controller-manager", true},
		{"Group", "system:nodes", true},
		{"User", "system:serviceaccount:kube-system:tiller", false},
		{"Group", "system:serviceaccounts", false},
		{"Group", "system:serviceaccounts:kube-system", false},
		{"User", "system:anonymous", false},
		{"Group", "system:unauthenticated", false},
		{"Group", "system:authenticated", false},
		{"ServiceAccount", "system:kube-proxy", false},
		{"User", "alice", false},
		{"User", "System:masters", false},
	} {
		s := rbacSubject{Kind: tt.kind, Name: tt.name}
		if got := s.Component(); got != tt.want {
			t.Errorf("%s %q: component %v, want %v", tt.kind, tt.name, got, tt.want)
		}
	}
}

// TestRBACAcrossFiles covers what one-file testdata cannot: roles and
// bindings in different files, in either order, and objects without a
// namespace placed in the scan's.
func TestRBACAcrossFiles(t *testing.T) {
	files := map[string]string{
		"binding.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ops
subjects:
- kind: ServiceAccount
  name: ops
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: everything
`,
		"role.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: everything
  namespace: shop
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
`,
		"pod-creator.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pod-creator
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [create]
`,
		"pod-creator-rb.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: pod-creator
  namespace: ci
subjects:
- kind: ServiceAccount
  name: runner
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pod-creator
`,
		"pod-creator-crb.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pod-creator
subjects:
- kind: ServiceAccount
  name: runner
  namespace: ci
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pod-creator
`,
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		check, namespace string
		inputs           []string
		want             int
	}{
		{"rbac-cluster-admin-binding", "shop", []string{"binding.yaml", "role.yaml"}, 1},
		{"rbac-cluster-admin-binding", "shop", []string{"role.yaml", "binding.yaml"}, 1},
		// The binding lands in another namespace than the Role.
		{"rbac-cluster-admin-binding", "staging", []string{"binding.yaml", "role.yaml"}, 0},
		{"rbac-cluster-admin-binding", "shop", []string{"binding.yaml"}, 0},
		// Unbound: judged as if bound cluster-wide.
		{"rbac-dangerous-permissions", "", []string{"pod-creator.yaml"}, 1},
		{"rbac-dangerous-permissions", "", []string{"pod-creator-rb.yaml", "pod-creator.yaml"}, 0},
		{"rbac-dangerous-permissions", "", []string{"pod-creator.yaml", "pod-creator-rb.yaml", "pod-creator-crb.yaml"}, 1},
		{"rbac-dangerous-permissions", "", []string{"pod-creator-crb.yaml", "pod-creator.yaml"}, 1},
	} {
		var inputs []string
		for _, in := range tt.inputs {
			inputs = append(inputs, filepath.Join(dir, in))
		}
		res := scantest.Paths(inputs, scan.Options{Registry: Registry(), Namespace: tt.namespace})
		if len(res.Errors) > 0 {
			t.Fatalf("input errors: %v", res.Errors)
		}
		got := 0
		for _, f := range res.Findings {
			if f.Check == tt.check {
				got++
			}
		}
		if got != tt.want {
			t.Errorf("%s, namespace %q, inputs %v: %d findings, want %d", tt.check, tt.namespace, tt.inputs, got, tt.want)
		}
	}
}

// TestRBACWildcardGrants pins what the rbac-wildcard message says a "*"
// grants, given the rest of the rule.
func TestRBACWildcardGrants(t *testing.T) {
	for _, tt := range []struct {
		groups, resources, verbs string
		field                    int
		cluster                  bool
		want                     string
	}{
		{"*", "*", "*", rbacVerbs, true, "including escalate, bind and impersonate"},
		// A Role cannot impersonate users, but service accounts of its
		// namespace.
		{"*", "*", "*", rbacVerbs, false, "including escalate, bind and impersonate"},
		{`""`, "users", "*", rbacVerbs, false, "including delete, deletecollection"},
		{`""`, "configmaps", "*", rbacVerbs, true, "including delete, deletecollection"},
		{"rbac.authorization.k8s.io", "clusterroles", "*", rbacVerbs, true, "including escalate and bind"},
		{"*", "*", "get", rbacResources, true, "including secrets, pods/exec and the custom resources"},
		{`"" apps`, "*", "get", rbacResources, true, "every resource of the core API group"},
		{"apps", "*", "get", rbacResources, true, `every resource ("*") of API group "apps", including`},
		{"apps batch policy", "*", "get", rbacResources, true, `of API groups "apps", "batch" and "policy"`},
		{"-", "*", "get", rbacResources, true, `every resource ("*")`},
		{"*", "pods", "get", rbacAPIGroups, true, "including those of custom resources"},
	} {
		r := rbacTestRule(tt.groups, tt.resources, "-", tt.verbs)
		if got := rbacWildcardGrants(r, tt.field, tt.cluster); !strings.Contains(got, tt.want) {
			t.Errorf("%v field %s: %q, want it to contain %q", r.items, rbacFieldNames[tt.field], got, tt.want)
		}
	}
}
