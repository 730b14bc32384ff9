package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// liveChecks are the cluster checks that read Live.
var liveChecks = []string{"anonymous-access", "node-os-patching", "node-version-skew", "rbac-authorization"}

func inspect(t *testing.T, cfg *rest.Config, opts cluster.InspectOptions) (*clustercheck.Live, []source.Error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return cluster.Inspect(ctx, cfg, opts)
}

// liveFindings runs the cluster checks on live, for an API server of
// testenv's version, and returns "check path" of the findings of the
// checks that read it, sorted.
func liveFindings(t *testing.T, live *clustercheck.Live) []string {
	t.Helper()
	v, err := k8sversion.Parse(testenv.KubernetesVersion)
	if err != nil {
		t.Fatal(err)
	}
	res := scan.RunCluster(clustercheck.Target{Version: v, Name: "test", Live: live}, scan.Options{Registry: checks.Registry()})
	var out []string
	for _, f := range res.Findings {
		if slices.Contains(liveChecks, f.Check) {
			out = append(out, f.Check+" "+f.Path)
		}
	}
	slices.Sort(out)
	return out
}

func wantFindings(t *testing.T, stage string, live *clustercheck.Live, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := liveFindings(t, live); !slices.Equal(got, want) {
		t.Errorf("%s: findings\n got %q\nwant %q", stage, got, want)
	}
}

func noErrors(t *testing.T, errs []source.Error) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("inspect: %v", e)
	}
}

type testNode struct {
	name, kubelet, kernel, os string
	labels, annotations       map[string]string
}

// createNode creates a Node and sets the nodeInfo a kubelet would report
// through the status subresource.
func createNode(t *testing.T, env *testenv.Env, n testNode) {
	t.Helper()
	ctx := context.Background()
	node, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: n.labels, Annotations: n.annotations},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		KubeletVersion: n.kubelet, KernelVersion: n.kernel, OSImage: n.os,
		OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "containerd://2.1.0",
	}
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func kuredDaemonSet(image string) *appsv1.DaemonSet {
	labels := map[string]string{"name": "kured"}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kured", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kured", Image: image}}},
			},
		},
	}
}

// TestInspect runs the inspection against a real API server with RBAC,
// seeded stage by stage, and the live cluster checks on what it found:
// each fires where it should and nowhere else.
func TestInspect(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	all := cluster.InspectOptions{Name: "test", PageSize: 2, ProbeAnonymous: true}

	// A bare control plane: no nodes, no updaters (and no Plan CRD), RBAC
	// refuses the made-up user, anonymous requests reach the public
	// endpoints only.
	live, errs := inspect(t, env.Config, all)
	noErrors(t, errs)
	if !live.NodesKnown || len(live.Nodes) != 0 || !live.UpdatersKnown || len(live.Updaters) != 0 ||
		!live.RBAC.Known || live.RBAC.Allowed || !strings.HasPrefix(live.RBAC.User, "kubeharden-probe-") ||
		!live.Anonymous.Known || len(live.Anonymous.Answered) != 0 {
		t.Errorf("bare control plane: %+v", live)
	}
	wantFindings(t, "bare control plane", live)

	gke := map[string]string{"cloud.google.com/gke-nodepool": "pool-a"}
	eks := map[string]string{"eks.amazonaws.com/nodegroup": "apps"}
	for _, n := range []testNode{
		{name: "gke-a-1", kubelet: "v1.37.2-gke.100", kernel: "6.6.56+", os: "Container-Optimized OS from Google", labels: gke},
		{name: "gke-a-2", kubelet: "v1.36.4-gke.200", kernel: "6.6.56+", os: "Container-Optimized OS from Google", labels: gke},
		{name: "eks-1", kubelet: "v1.34.1-eks-1", kernel: "6.1.10", os: "Amazon Linux 2023", labels: eks},
		{name: "eks-2", kubelet: "v1.34.1-eks-1", kernel: "6.1.10", os: "Amazon Linux 2023", labels: eks},
		{name: "eks-lagging", kubelet: "v1.33.5-eks-1", kernel: "6.1.9", os: "Amazon Linux 2023", labels: eks},
		{name: "ahead", kubelet: "v1.38.0", kernel: "6.8.0", os: "Ubuntu 24.04.1 LTS"},
		{name: "rebooting", kubelet: "v1.37.0", kernel: "6.8.0", os: "Ubuntu 24.04.1 LTS",
			annotations: map[string]string{"weave.works/kured-reboot-in-progress": "2026-01-01T03:00:00Z"}},
	} {
		createNode(t, env, n)
	}
	live, errs = inspect(t, env.Config, all)
	noErrors(t, errs)
	if len(live.Nodes) != 7 {
		t.Fatalf("%d nodes, want 7 (over several pages)", len(live.Nodes))
	}
	i := slices.IndexFunc(live.Nodes, func(n clustercheck.Node) bool { return n.Name == "gke-a-1" })
	if n := live.Nodes[i]; n.Pool != "cloud.google.com/gke-nodepool=pool-a" || n.ManagedUpdates != n.Pool || n.KernelVersion != "6.6.56+" || n.KubeletVersion != "v1.37.2-gke.100" {
		t.Errorf("node facts: %+v", n)
	}
	nodeFindings := []string{
		"node-os-patching nodes/eks-lagging/kernelVersion",
		"node-os-patching nodes/rebooting/annotations/weave.works/kured-reboot-in-progress",
		"node-version-skew nodes/ahead/kubeletVersion",
		"node-version-skew nodes/eks-lagging/kubeletVersion",
	}
	// No updater, and the nodes outside GKE show no managed updates.
	wantFindings(t, "nodes", live, append(slices.Clone(nodeFindings), "node-os-patching updaters")...)

	// Kured deployed: the nodes are patched, but the lagging and the
	// rebooting node are still reported.
	env.DefaultServiceAccount(t, "kube-system")
	if _, err := env.Client.AppsV1().DaemonSets("kube-system").Create(ctx, kuredDaemonSet("ghcr.io/kubereboot/kured:1.17.1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	live, errs = inspect(t, env.Config, all)
	noErrors(t, errs)
	if !slices.Equal(live.Updaters, []string{"DaemonSet kube-system/kured"}) {
		t.Errorf("updaters: %q", live.Updaters)
	}
	wantFindings(t, "kured", live, nodeFindings...)

	// A system-upgrade-controller Plan is an updater too.
	if err := env.Client.AppsV1().DaemonSets("kube-system").Delete(ctx, "kured", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	createPlan(t, env.Config)
	live, errs = inspect(t, env.Config, all)
	noErrors(t, errs)
	if !slices.Equal(live.Updaters, []string{"Plan system-upgrade/os-patches"}) {
		t.Errorf("updaters: %q", live.Updaters)
	}
	wantFindings(t, "plan", live, nodeFindings...)

	t.Run("anonymous", func(t *testing.T) {
		grantAnonymous(t, env)
		testenv.Eventually(t, func(context.Context) error {
			live, errs := inspect(t, env.Config, cluster.InspectOptions{ProbeAnonymous: true})
			if len(errs) > 0 {
				return errs[0]
			}
			if !slices.Equal(live.Anonymous.Answered, []string{"GET /api/v1/namespaces"}) {
				return fmt.Errorf("answered: %q", live.Anonymous.Answered)
			}
			return nil
		})
		live, _ := inspect(t, env.Config, cluster.InspectOptions{ProbeAnonymous: true})
		wantFindings(t, "anonymous", live, append(slices.Clone(nodeFindings), "anonymous-access anonymous")...)

		// Not probed unless asked for.
		live, _ = inspect(t, env.Config, cluster.InspectOptions{})
		if live.Anonymous.Known {
			t.Errorf("anonymous probe ran without ProbeAnonymous: %+v", live.Anonymous)
		}
		wantFindings(t, "not probed", live, nodeFindings...)
	})

	t.Run("restricted", func(t *testing.T) {
		// A user granted nothing: every part is a coverage gap, nothing
		// is known, and no check fires.
		u := env.User(t, "nobody")
		live, errs := inspect(t, u.Config, cluster.InspectOptions{Name: "restricted"})
		var msgs []string
		for _, e := range errs {
			if !e.Gap() || !errors.Is(e, source.ErrCoverageGap) {
				t.Errorf("not a coverage gap: %v", e)
			}
			msgs = append(msgs, e.Error())
		}
		want := []string{
			"restricted: cannot list Node: forbidden (coverage gap)",
			"restricted: cannot list DaemonSet: forbidden (coverage gap)",
			"restricted: cannot list Plan (upgrade.cattle.io): forbidden (coverage gap)",
			"restricted: cannot create SubjectAccessReview: forbidden (coverage gap)",
		}
		if !slices.Equal(msgs, want) {
			t.Errorf("errors\n got %q\nwant %q", msgs, want)
		}
		if live.NodesKnown || live.UpdatersKnown || live.RBAC.Known || live.Anonymous.Known {
			t.Errorf("restricted: %+v", live)
		}
		wantFindings(t, "restricted", live)
	})
}

// TestInspectAlwaysAllow: with --authorization-mode=AlwaysAllow the
// authorizer lets the made-up user list every Secret, and
// rbac-authorization fires; anonymous requests are refused by
// authentication (testenv lets them reach /healthz only).
func TestInspectAlwaysAllow(t *testing.T) {
	env := testenv.Start(t, testenv.AuthorizationMode("AlwaysAllow"))
	live, errs := inspect(t, env.Config, cluster.InspectOptions{ProbeAnonymous: true})
	noErrors(t, errs)
	if !live.RBAC.Known || !live.RBAC.Allowed {
		t.Errorf("rbac probe: %+v", live.RBAC)
	}
	wantFindings(t, "AlwaysAllow", live, "rbac-authorization authorization")
}

// createPlan installs system-upgrade-controller's Plan CRD (only what
// the API server needs of it) and one Plan.
func createPlan(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(cfg)
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "plans.upgrade.cattle.io"},
		"spec": map[string]any{
			"group": "upgrade.cattle.io",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "plans", "singular": "plan", "kind": "Plan", "listKind": "PlanList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	crdRes := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crdRes).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamic.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx,
		&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "system-upgrade"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plan := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "upgrade.cattle.io/v1",
		"kind":       "Plan",
		"metadata":   map[string]any{"name": "os-patches", "namespace": "system-upgrade"},
		"spec":       map[string]any{"concurrency": int64(1), "version": "2026.01"},
	}}
	planRes := schema.GroupVersionResource{Group: "upgrade.cattle.io", Version: "v1", Resource: "plans"}
	// The CRD is served a moment after it is created.
	testenv.Eventually(t, func(ctx context.Context) error {
		_, err := dyn.Resource(planRes).Namespace("system-upgrade").Create(ctx, plan, metav1.CreateOptions{})
		return err
	})
}

// grantAnonymous lets system:anonymous list namespaces, as a careless
// binding would.
func grantAnonymous(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "anonymous-namespaces"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "anonymous-namespaces"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "anonymous-namespaces"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "system:anonymous", APIGroup: "rbac.authorization.k8s.io"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestNamespacePodSecurityLabelLive: namespace-pod-security-label on the
// objects of a live cluster: the Namespaces are listed before the
// workloads that decide them.
func TestNamespacePodSecurityLabelLive(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	for ns, level := range map[string]string{"labelled": "restricted", "open": "", "privileged": "privileged", "empty": ""} {
		var labels map[string]string
		if level != "" {
			labels = map[string]string{"pod-security.kubernetes.io/enforce": level}
		}
		env.CreateNamespace(t, ns, labels)
	}
	for _, ns := range []string{"labelled", "open"} {
		if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, deployment("web", false), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Client.CoreV1().Pods("privileged").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}, Spec: podSpec(true)}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	src, err := cluster.New(env.Config, cluster.Options{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res := scan.Run(ctx, src.Items(ctx), scan.Options{Registry: checks.Registry()})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		if f.Check == "namespace-pod-security-label" {
			got = append(got, f.Location.File+" "+f.Path)
		}
	}
	slices.Sort(got)
	want := []string{
		"Namespace/open metadata.labels.pod-security.kubernetes.io/enforce",
		"Namespace/privileged metadata.labels.pod-security.kubernetes.io/enforce",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n got %q\nwant %q", got, want)
	}
}
