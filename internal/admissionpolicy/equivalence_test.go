package admissionpolicy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/admissionpolicy"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// resources maps the pod-spec kinds the policies match to their resources.
var resources = map[string]schema.GroupVersionResource{
	"v1/Pod":                   {Version: "v1", Resource: "pods"},
	"v1/PodTemplate":           {Version: "v1", Resource: "podtemplates"},
	"v1/ReplicationController": {Version: "v1", Resource: "replicationcontrollers"},
	"apps/v1/Deployment":       {Group: "apps", Version: "v1", Resource: "deployments"},
	"apps/v1/StatefulSet":      {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"apps/v1/DaemonSet":        {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"apps/v1/ReplicaSet":       {Group: "apps", Version: "v1", Resource: "replicasets"},
	"batch/v1/Job":             {Group: "batch", Version: "v1", Resource: "jobs"},
	"batch/v1/CronJob":         {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

// server is the API server side of the comparison.
type server struct {
	env  *testenv.Env
	dyn  dynamic.Interface
	warn *testenv.Warnings
	// mu serialises requests so that warnings belong to one.
	mu         sync.Mutex
	namespaces map[string]bool
}

func newServer(t *testing.T, env *testenv.Env) *server {
	cfg := rest.CopyConfig(env.Config)
	w := &testenv.Warnings{}
	cfg.WarningHandler = w
	return &server{env: env, dyn: dynamic.NewForConfigOrDie(cfg), warn: w, namespaces: map[string]bool{"default": true}}
}

// verdict is what the API server said of one object.
type verdict struct {
	// rejected is the error of a request refused for another reason than
	// a kubeharden policy.
	rejected error
	// warned are the check IDs whose policies warned (or denied).
	warned map[string]string
	// obj is the object as the server would store it (dry run).
	obj *unstructured.Unstructured
}

var policyRef = "ValidatingAdmissionPolicy '" + admissionpolicy.Prefix

// create creates u with dryRun=All in namespace ns.
func (s *server) create(t *testing.T, u *unstructured.Unstructured, ns string) verdict {
	t.Helper()
	gvr, ok := resources[u.GetAPIVersion()+"/"+u.GetKind()]
	if !ok {
		return verdict{rejected: fmt.Errorf("kind %s %s is not matched", u.GetAPIVersion(), u.GetKind())}
	}
	u.SetNamespace(ns)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.namespaces[ns] {
		s.env.CreateNamespace(t, ns, nil)
		s.namespaces[ns] = true
	}
	s.warn.Take()
	got, err := s.dyn.Resource(gvr).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	v := verdict{warned: map[string]string{}, obj: got}
	for _, w := range s.warn.Take() {
		if id, ok := policyOf(w); ok {
			v.warned[id] = w
			if !strings.HasSuffix(w, "(kubeharden "+id+")") {
				t.Errorf("the API server truncated a warning (too many at once): %q", w)
			}
		}
	}
	if err != nil {
		if id, ok := policyOf(err.Error()); ok {
			v.warned[id] = err.Error()
		} else {
			v.rejected = err
		}
	}
	return v
}

// policyOf returns the check whose policy a warning or denial names.
func policyOf(msg string) (string, bool) {
	_, rest, ok := strings.Cut(msg, policyRef)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, "'")
	return id, ok
}

// fixture is one object of a testdata file.
type fixture struct {
	name string
	obj  *object.Object
	u    *unstructured.Unstructured
}

func loadFixtures(t *testing.T, pattern string) []fixture {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseFixtures(t, f, data)...)
	}
	return out
}

func parseFixtures(t *testing.T, file string, data []byte) []fixture {
	t.Helper()
	docs, _ := source.Split(file, data)
	var out []fixture
	for _, d := range docs {
		objs, _, _ := source.Parse(d)
		for _, o := range objs {
			var m map[string]any
			if err := o.Node.Decode(&m); err != nil {
				continue
			}
			// Through JSON, as kubectl sends it.
			j, err := json.Marshal(m)
			if err != nil {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(j); err != nil {
				continue
			}
			line, _ := o.Pos(object.Ref{Node: o.Node})
			out = append(out, fixture{name: fmt.Sprintf("%s:%d %s/%s", file, line, o.Kind, o.Name), obj: o, u: u})
		}
	}
	return out
}

// scanned returns the checks with an unsuppressed finding on o.
func scanned(e *scan.Engine, o *object.Object) map[string][]string {
	out := map[string][]string{}
	for _, f := range e.Object(o, nil).Findings {
		out[f.Check] = append(out[f.Check], f.Message)
	}
	return out
}

// groupLabel labels the namespaces that each hold a few policies' bindings.
const groupLabel = "kubeharden.io/test-group"

const perGroup = 4

func groupOf(i int) string { return fmt.Sprint(i / perGroup) }

func groupNamespace(g int) string { return fmt.Sprintf("%s-%d", testNamespace, g) }

// createAll creates u in every group namespace and merges the verdicts.
func (s *server) createAll(t *testing.T, u *unstructured.Unstructured, policies int) verdict {
	t.Helper()
	all := verdict{warned: map[string]string{}}
	for g := 0; g*perGroup < policies; g++ {
		ns := groupNamespace(g)
		if !s.namespaces[ns] {
			s.env.CreateNamespace(t, ns, map[string]string{groupLabel: fmt.Sprint(g)})
			s.namespaces[ns] = true
		}
		v := s.create(t, u.DeepCopy(), ns)
		if v.rejected != nil {
			return v
		}
		for id, w := range v.warned {
			all.warned[id] = w
		}
		all.obj = v.obj
	}
	return all
}

// tally counts a check's comparisons.
type tally struct{ compared, denied, agreed int }

const testNamespace = "equivalence"

func covered(reg *check.Registry) []string {
	var ids []string
	for _, c := range admissionpolicy.CoverageOf(reg) {
		if c.Covered {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// load creates the generated objects and waits until every policy judges:
// an object that fails every covered check draws a warning (or denial)
// from each.
func load(t *testing.T, env *testenv.Env, s *server, out *admissionpolicy.Output, ids []string) {
	t.Helper()
	ctx := context.Background()
	a := env.Client.AdmissionregistrationV1()
	for i := range out.Validating {
		if _, err := a.ValidatingAdmissionPolicies().Create(ctx, &out.Validating[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", out.Validating[i].Name, err)
		}
		// The API server truncates the warnings of one request beyond
		// 4 KiB: each namespace gets the warnings of a few policies.
		out.Bindings[i].Spec.MatchResources.NamespaceSelector.MatchLabels = map[string]string{groupLabel: groupOf(i)}
		if _, err := a.ValidatingAdmissionPolicyBindings().Create(ctx, &out.Bindings[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating binding %s: %v", out.Bindings[i].Name, err)
		}
	}
	for i := range out.Mutating {
		if _, err := a.MutatingAdmissionPolicies().Create(ctx, &out.Mutating[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", out.Mutating[i].Name, err)
		}
		if _, err := a.MutatingAdmissionPolicyBindings().Create(ctx, &out.MBindings[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating binding %s: %v", out.MBindings[i].Name, err)
		}
	}
	for _, p := range out.Validating {
		got, err := a.ValidatingAdmissionPolicies().Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil && got.Status.TypeChecking != nil {
			for _, w := range got.Status.TypeChecking.ExpressionWarnings {
				t.Logf("%s: type checking: %s: %s", p.Name, w.FieldRef, w.Warning)
			}
		}
	}
	bad := parseFixtures(t, "bad.yaml", []byte(`apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  hostNetwork: true
  securityContext: {runAsUser: 0, fsGroup: 0, seccompProfile: {type: Unconfined}, appArmorProfile: {type: Unconfined}}
  volumes: [{name: h, hostPath: {path: /etc}}]
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true, allowPrivilegeEscalation: true, capabilities: {add: [SYS_ADMIN]}}
`))[0]
	testenv.Eventually(t, func(context.Context) error {
		v := s.createAll(t, bad.u, len(out.Validating))
		var missing []string
		for _, id := range ids {
			if _, ok := v.warned[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("policies not yet judging: %v (rejected: %w)", missing, v.rejected)
		}
		return nil
	})
}

// TestEquivalence loads the generated policies into a real API server
// and creates every fixture of every covered check, and generated pod
// specs, with a dry run: each policy must warn exactly when kubeharden
// scan reports an unsuppressed finding of its check on that object. Every
// object is judged by every covered check, not only by the check whose
// testdata holds it.
func TestEquivalence(t *testing.T) {
	env := testenv.Start(t)
	reg := checks.Registry()
	pol := policy.New(nil, reg, time.Time{})
	warn, err := admissionpolicy.ParseActions([]string{"Warn"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := admissionpolicy.Generate(admissionpolicy.Options{Registry: reg, Policy: pol, Actions: warn})
	if err != nil {
		t.Fatal(err)
	}
	ids := covered(reg)
	s := newServer(t, env)
	env.CreateNamespace(t, testNamespace, nil)
	s.namespaces[testNamespace] = true
	load(t, env, s, out, ids)

	engine := scan.New(scan.Options{Registry: reg, Policy: pol, Namespace: testNamespace})
	var fixtures []fixture
	for _, id := range ids {
		for _, dir := range []string{"pass", "fail"} {
			fixtures = append(fixtures, loadFixtures(t, filepath.Join("..", "checks", "testdata", id, dir, "*.yaml"))...)
		}
	}
	fixtures = append(fixtures, imagePods(t)...)
	psa := psaFixtures(t)
	isPSA := map[string]bool{}
	for _, f := range psa {
		isPSA[f.name] = true
	}
	psaCompared := 0
	fixtures = append(fixtures, psa...)
	fixtures = append(fixtures, generated(t, 400)...)

	tallies := map[string]*tally{}
	skipped := map[string]int{}
	disagreements := 0
	for _, f := range fixtures {
		if slices.Contains(admissionpolicy.ExcludedNamespaces, f.u.GetNamespace()) {
			skipped["in a namespace the bindings exclude"]++
			continue
		}
		v := s.createAll(t, f.u, len(out.Validating))
		if v.rejected != nil {
			skipped[reason(v.rejected)]++
			continue
		}
		found := scanned(engine, f.obj)
		if isPSA[f.name] {
			psaCompared++
		}
		for _, id := range ids {
			tl := tallies[id]
			if tl == nil {
				tl = &tally{}
				tallies[id] = tl
			}
			tl.compared++
			msg, serverSays := v.warned[id]
			scanSays := len(found[id]) > 0
			if serverSays {
				tl.denied++
			}
			if serverSays == scanSays {
				tl.agreed++
				continue
			}
			disagreements++
			t.Errorf("%s: check %s: scan says %v %q, API server says %v %q", f.name, id, scanSays, found[id], serverSays, msg)
		}
	}
	t.Logf("%d of the %d Pod Security fixtures compared", psaCompared, len(psa))
	if psaCompared < len(psa)*3/4 {
		t.Errorf("only %d of the %d Pod Security fixtures were compared", psaCompared, len(psa))
	}
	var lines []string
	for _, id := range ids {
		tl := tallies[id]
		if tl == nil {
			tl = &tally{}
		}
		lines = append(lines, fmt.Sprintf("  %-28s compared %4d, found %4d, agreed %4d", id, tl.compared, tl.denied, tl.agreed))
	}
	t.Logf("%d objects (%d fixtures and generated), %d disagreements:\n%s", len(fixtures), len(fixtures), disagreements, strings.Join(lines, "\n"))
	var rs []string
	for r, n := range skipped {
		rs = append(rs, fmt.Sprintf("  %4d %s", n, r))
	}
	sort.Strings(rs)
	t.Logf("skipped:\n%s", strings.Join(rs, "\n"))
	if n := len(fixtures) - sum(skipped); n < len(fixtures)/2 {
		t.Errorf("only %d of %d objects were compared", n, len(fixtures))
	}

	t.Run("deny", func(t *testing.T) { testDeny(t, env, s, out) })
	t.Run("mutate", func(t *testing.T) { testMutate(t, env, s, generated(t, 400)) })
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

var invalidValue = regexp.MustCompile(`^Invalid value: .*\}: `)

// reason shortens an API error to what makes it a skip reason.
func reason(err error) string {
	if se, ok := err.(apierrors.APIStatus); ok {
		st := se.Status()
		if st.Details != nil && len(st.Details.Causes) > 0 {
			c := st.Details.Causes[0]
			msg := invalidValue.ReplaceAllString(c.Message, "")
			return fmt.Sprintf("rejected by the API server (%s): %s: %s", st.Reason, c.Field, msg)
		}
		return fmt.Sprintf("rejected by the API server (%s): %s", st.Reason, st.Message)
	}
	return err.Error()
}

// testDeny switches one binding to Deny: the object is refused with the
// policy's message, a clean one admitted, and an UPDATE that keeps an old
// finding passes while one that adds a finding is refused.
func testDeny(t *testing.T, env *testenv.Env, s *server, out *admissionpolicy.Output) {
	ctx := context.Background()
	denyNS := ""
	for i, p := range out.Validating {
		if p.Name == admissionpolicy.Prefix+"privileged-container" {
			denyNS = groupNamespace(i / perGroup)
		}
	}
	a := env.Client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	b, err := a.Get(ctx, admissionpolicy.Prefix+"privileged-container", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Spec.ValidationActions = []admissionv1.ValidationAction{admissionv1.Deny}
	if _, err := a.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string, privileged bool, labels map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		y := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  containers:
  - name: app
    image: busybox:1.36
    securityContext: {privileged: %v}
`, name, denyNS, privileged)
		if err := sigsyaml.Unmarshal([]byte(y), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetLabels(labels)
		return u
	}
	pods := s.dyn.Resource(resources["v1/Pod"]).Namespace(denyNS)
	testenv.Eventually(t, func(ctx context.Context) error {
		_, err := pods.Create(ctx, pod("denied", true, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return fmt.Errorf("a privileged pod was admitted")
		}
		if !strings.Contains(err.Error(), `container "app" must not set securityContext.privileged=true`) {
			return fmt.Errorf("unexpected refusal: %w", err)
		}
		return nil
	})
	if _, err := pods.Create(ctx, pod("clean", false, nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a clean pod was refused: %v", err)
	}
	// A legacy privileged pod, created before the policy denied (as
	// suppressed), may be relabelled; making a clean pod privileged is
	// an introduced finding. (Pod security contexts are immutable, so
	// the UPDATE goes through a Deployment.)
	deploy := func(name string, privileged bool, labels map[string]string) *unstructured.Unstructured {
		p := pod(name, privileged, nil)
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "namespace": denyNS},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}, "spec": p.Object["spec"]},
			},
		}}
		u.SetLabels(labels)
		return u
	}
	deps := s.dyn.Resource(resources["apps/v1/Deployment"]).Namespace(denyNS)
	legacy := deploy("legacy", true, nil)
	legacy.SetAnnotations(map[string]string{"ignore.kubeharden.io/privileged-container": "legacy, being fixed"})
	created, err := deps.Create(ctx, legacy, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a suppressed privileged Deployment was refused: %v", err)
	}
	created.SetAnnotations(nil)
	created.SetLabels(map[string]string{"team": "shop"})
	if _, err := deps.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Errorf("relabelling a legacy privileged Deployment was refused: %v", err)
	}
	clean, err := deps.Create(ctx, deploy("fine", false, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a clean Deployment was refused: %v", err)
	}
	spec := deploy("fine", true, nil).Object["spec"]
	clean.Object["spec"] = spec
	if _, err := deps.Update(ctx, clean, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "privileged=true") {
		t.Errorf("making a Deployment privileged was not refused: %v", err)
	}
}

// unfixable are the findings a mutation leaves, as `kubeharden fix`
// does: what it cannot clear without changing what the container is.
var unfixable = map[string][]string{
	"allow-privilege-escalation": {"must not set securityContext.privileged=true", "must not add capability"},
}

// testMutate loads the MutatingAdmissionPolicies, bound to one namespace
// only so that the equivalence above judges objects as written, and
// creates every fail fixture of the mutated checks, and the generated
// objects, there: the object the API server would store must scan clean
// for each mutated check, but for what its fix leaves too.
func testMutate(t *testing.T, env *testenv.Env, s *server, fixtures []fixture) {
	ctx := context.Background()
	reg := checks.Registry()
	pol := policy.New(nil, reg, time.Time{})
	var mutated []string
	for _, c := range admissionpolicy.CoverageOf(reg) {
		if c.Mutated {
			mutated = append(mutated, c.ID)
		}
	}
	out, err := admissionpolicy.Generate(admissionpolicy.Options{Registry: reg, Policy: pol, Only: mutated, Mutate: true})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "mutate"
	env.CreateNamespace(t, ns, nil)
	s.namespaces[ns] = true
	a := env.Client.AdmissionregistrationV1()
	for i := range out.Mutating {
		if _, err := a.MutatingAdmissionPolicies().Create(ctx, &out.Mutating[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", out.Mutating[i].Name, err)
		}
		b := out.MBindings[i]
		b.Spec.MatchResources.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
		if _, err := a.MutatingAdmissionPolicyBindings().Create(ctx, &b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating binding %s: %v", b.Name, err)
		}
	}
	for _, id := range mutated {
		fixtures = append(fixtures, loadFixtures(t, filepath.Join("..", "checks", "testdata", id, "fail", "*.yaml"))...)
	}
	probe := parseFixtures(t, "probe.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: probe}\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n"))[0]
	testenv.Eventually(t, func(context.Context) error {
		v := s.create(t, probe.u.DeepCopy(), ns)
		if v.rejected != nil {
			return v.rejected
		}
		fs := parseFixtures(t, "probe", mustYAML(t, v.obj.Object))
		if left := scanned(scan.New(scan.Options{Registry: reg, Policy: pol}), fs[0].obj); len(left["capabilities-drop-all"])+len(left["seccomp-profile"])+len(left["allow-privilege-escalation"]) > 0 {
			return fmt.Errorf("not mutated yet: %v", left)
		}
		return nil
	})
	engine := scan.New(scan.Options{Registry: reg, Policy: pol, Namespace: ns})
	counts := map[string]int{}
	compared, skipped := 0, 0
	for _, f := range fixtures {
		before := scanned(engine, f.obj)
		v := s.create(t, f.u.DeepCopy(), ns)
		if v.rejected != nil {
			skipped++
			continue
		}
		compared++
		after := parseFixtures(t, f.name+" (mutated)", mustYAML(t, v.obj.Object))
		if len(after) != 1 {
			t.Fatalf("%s: mutated object does not parse", f.name)
		}
		left := scanned(engine, after[0].obj)
		for _, id := range mutated {
			if len(before[id]) > len(left[id]) {
				counts[id]++
			}
		next:
			for _, msg := range left[id] {
				for _, ok := range unfixable[id] {
					if strings.Contains(msg, ok) {
						continue next
					}
				}
				t.Errorf("%s: mutated by %s%s, still: %s", f.name, admissionpolicy.Prefix, id, msg)
			}
		}
	}
	t.Logf("mutation: %d objects compared (%d rejected by the API server), objects fixed per check: %v", compared, skipped, counts)
}

func mustYAML(t *testing.T, m map[string]any) []byte {
	t.Helper()
	y, err := sigsyaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return y
}
