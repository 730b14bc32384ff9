package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// privilegedNginx is a container every audit has a finding on.
var privilegedNginx = corev1.Container{Name: "app", Image: "nginx:1.27", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}

// createDeployment creates Deployment ns/name running c, its pods
// labelled app=app.
func createDeployment(t *testing.T, env *testenv.Env, ns, name, app string, c corev1.Container) {
	t.Helper()
	labels := map[string]string{"app": app}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestCluster runs `kubeharden cluster` end to end against a real API
// server, as an administrator and as a user who may list only Pods.
func TestCluster(t *testing.T) {
	env := testenv.Start(t)
	env.CreateNamespace(t, "shop", nil)
	ctx := context.Background()
	createDeployment(t, env, "shop", "web", "web", privilegedNginx)
	run := clusterRunner(t)

	code, out, errOut := run(env.KubeConfig, "-o", "json")
	if testing.Verbose() {
		t.Log(out)
	}
	if code != ExitFindings {
		t.Errorf("admin: exit %d, want %d; stderr:\n%s", code, ExitFindings, errOut)
	}
	if !strings.Contains(out, `"Deployment/shop/web"`) || !strings.Contains(out, `"privileged-container"`) {
		t.Errorf("admin: no privileged-container finding on Deployment/shop/web:\n%s", out)
	}
	if strings.Contains(errOut, "coverage gap") {
		t.Errorf("admin: coverage gap; stderr:\n%s", errOut)
	}
	// The server is v1.37: cluster-version-supported fires only once the
	// calendar no longer has it in full support.
	r, ok := k8sversion.Lookup(k8sversion.Version{Major: 1, Minor: 37})
	want := !ok || r.Phase(time.Now()) != k8sversion.Supported
	if got := strings.Contains(out, `"check": "cluster-version-supported"`); got != want {
		t.Errorf("admin: cluster-version-supported fired=%v, want %v", got, want)
	}

	// The audit compared with its own report: nothing new; then a second
	// privileged Deployment is new, and only its findings are.
	base := filepath.Join(t.TempDir(), "audit.json")
	if err := os.WriteFile(base, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(env.KubeConfig, "--baseline", base, "--fail-on-new"); code != ExitOK || !strings.Contains(out, ": 0 new · 0 fixed · ") {
		t.Errorf("baseline, unchanged cluster: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	createDeployment(t, env, "shop", "api", "web", privilegedNginx)
	code, out, errOut = run(env.KubeConfig, "-o", "json", "--baseline", base, "--fail-on-new")
	var cmp struct {
		Findings []struct {
			Baseline string
			Object   struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &cmp); err != nil || code != ExitFindings {
		t.Fatalf("baseline, a new Deployment: exit %d, %v\n%s", code, err, errOut)
	}
	news := 0
	for _, f := range cmp.Findings {
		if f.Baseline == "new" {
			news++
			if f.Object.Name != "api" {
				t.Errorf("baseline: a finding on %q is new", f.Object.Name)
			}
		}
	}
	if news == 0 {
		t.Error("baseline: the new Deployment's findings are not new")
	}
	if err := env.Client.AppsV1().Deployments("shop").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	u := env.User(t, "pod-reader")
	if _, err := env.Client.RbacV1().Roles("shop").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-list"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().RoleBindings("shop").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-list"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-list"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "pod-reader"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, func(ctx context.Context) error {
		_, err := u.Client.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	code, _, errOut = run(u.KubeConfig, "-n", "shop", "--fail-on", "none")
	// Coverage gaps are reported, never a failure: what could be listed
	// was audited.
	if code != ExitOK || !strings.Contains(errOut, "kubeharden: coverage gap: ") ||
		!strings.Contains(errOut, "cannot list Deployment in namespace shop: forbidden (coverage gap)") {
		t.Errorf("restricted: exit %d, want %d and a coverage gap; stderr:\n%s", code, ExitOK, errOut)
	}
	if strings.Contains(errOut, "cannot list Pod") {
		t.Errorf("restricted: Pods reported as a gap:\n%s", errOut)
	}

	// A system namespace's findings are listed as suppressed ("system")
	// and count only with --include-system.
	env.DefaultServiceAccount(t, "kube-system")
	if _, err := env.Client.CoreV1().Pods("kube-system").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox:1.36",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, out, _ = run(env.KubeConfig, "-n", "kube-system", "-o", "json", "--fail-on", "none")
	var rep struct {
		Findings, Suppressed []struct {
			Check       string
			Object      struct{ Namespace string }
			Suppression *struct{ Kind string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 || !slices.ContainsFunc(rep.Suppressed, func(f struct {
		Check       string
		Object      struct{ Namespace string }
		Suppression *struct{ Kind string }
	}) bool {
		return f.Check == "privileged-container" && f.Suppression != nil && f.Suppression.Kind == "system"
	}) {
		t.Errorf("kube-system: findings %v, suppressed %v", rep.Findings, rep.Suppressed)
	}
	if code, out, _ := run(env.KubeConfig, "-n", "kube-system", "--include-system", "--fail-on", "critical"); code != ExitFindings || !strings.Contains(out, "Pod/kube-system/agent") {
		t.Errorf("--include-system: exit %d:\n%s", code, out)
	}

	// The role --print-rbac prints is enough: an auditor bound to it has
	// no coverage gap, and finds what the administrator finds.
	code, out, errOut = run(nil, "--print-rbac")
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(out), &role); code != ExitOK || err != nil || role.Name != auditRole {
		t.Fatalf("--print-rbac: exit %d, %v:\n%s%s", code, err, out, errOut)
	}
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: auditRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: auditRole},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "auditor"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	auditor := env.User(t, "auditor")
	testenv.Eventually(t, func(ctx context.Context) error {
		_, err := auditor.Client.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	_, adminOut, _ := run(env.KubeConfig, "-o", "json", "--fail-on", "none")
	code, out, errOut = run(auditor.KubeConfig, "-o", "json", "--fail-on", "none")
	if code != ExitOK || strings.Contains(errOut, "coverage gap") {
		t.Errorf("auditor: exit %d; stderr:\n%s", code, errOut)
	}
	if findingsOf(t, out) != findingsOf(t, adminOut) {
		t.Errorf("auditor and administrator disagree:\n%s\n%s", out, adminOut)
	}
	// Fewer checks, fewer permissions: no Secrets without the checks
	// that read them.
	_, out, _ = run(nil, "--print-rbac", "--checks", "privileged-container")
	if strings.Contains(out, "secrets") || strings.Contains(out, "roles") || !strings.Contains(out, "deployments") {
		t.Errorf("--print-rbac --checks privileged-container:\n%s", out)
	}

	// The checks on the cluster itself: a node whose kubelet is four
	// minors behind, and, with --probe-anonymous only, anonymous access.
	node, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "old"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.NodeInfo.KubeletVersion = "v1.33.1"
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// (The aggregated view role is empty without a controller manager.)
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "anonymous-view"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "anonymous-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "anonymous-view"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "system:anonymous"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, func(ctx context.Context) error {
		_, out, _ := run(env.KubeConfig, "--probe-anonymous", "--checks", "anonymous-access", "-o", "json", "--fail-on", "none")
		if !strings.Contains(out, `"anonymous-access"`) {
			return fmt.Errorf("no anonymous-access finding")
		}
		return nil
	})
	_, out, _ = run(env.KubeConfig, "--checks", "anonymous-access,node-version-skew", "-o", "json", "--fail-on", "none")
	if strings.Contains(out, `"anonymous-access"`) || !strings.Contains(out, `"node-version-skew"`) {
		t.Errorf("without --probe-anonymous: want node-version-skew only:\n%s", out)
	}

	code, _, errOut = run([]byte("not: a kubeconfig: ["))
	if code != ExitError || !strings.Contains(errOut, "kubeconfig") {
		t.Errorf("bad kubeconfig: exit %d; stderr:\n%s", code, errOut)
	}
}

// findingsOf is the findings of a JSON report, as a comparable string
// (the check, object and path of each).
func findingsOf(t *testing.T, report string) string {
	t.Helper()
	var rep struct {
		Findings []struct {
			Check  string
			Path   string
			Object struct{ Kind, Namespace, Name string }
		}
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, report)
	}
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "%s %s/%s/%s %s\n", f.Check, f.Object.Kind, f.Object.Namespace, f.Object.Name, f.Path)
	}
	return b.String()
}

// TestClusterWriteReports runs `kubeharden cluster --write-reports` twice
// as a user bound to the role --print-rbac --write-reports prints: one
// Report per namespace and one ClusterReport, updated in place.
func TestClusterWriteReports(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join("..", "report", "openreports", "testdata", "crds", "openreports")},
		ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"shop", "billing"} {
		env.CreateNamespace(t, ns, nil)
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	run := clusterRunner(t)
	_, out, _ := run(nil, "--print-rbac", "--write-reports", "--reports-api", "openreports.io/v1alpha1")
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(out), &role); err != nil {
		t.Fatal(err)
	}
	role.Name = "reporter"
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reporter"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reporter"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "reporter"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u := env.User(t, "reporter")
	reports := schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "reports"}
	testenv.Eventually(t, func(ctx context.Context) error {
		_, err := dyn(t, u.Config).Resource(reports).Namespace("shop").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	for i := range 2 {
		code, _, errOut := run(u.KubeConfig, "--write-reports", "--fail-on", "none")
		if code != ExitOK || !strings.Contains(errOut, "kubeharden: wrote ") || strings.Contains(errOut, "coverage gap") {
			t.Fatalf("run %d: exit %d; stderr:\n%s", i+1, code, errOut)
		}
	}
	list, err := dyn(t, env.Config).Resource(reports).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perNamespace := map[string]int{}
	for _, r := range list.Items {
		perNamespace[r.GetNamespace()]++
		fails, _, _ := unstructured.NestedInt64(r.Object, "summary", "fail")
		if (r.GetNamespace() == "shop" || r.GetNamespace() == "billing") && fails == 0 {
			t.Errorf("report of %s: no failures", r.GetNamespace())
		}
	}
	if perNamespace["shop"] != 1 || perNamespace["billing"] != 1 {
		t.Errorf("reports per namespace %v, want one in shop and one in billing", perNamespace)
	}
	cluster, err := dyn(t, env.Config).Resource(schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "clusterreports"}).List(ctx, metav1.ListOptions{})
	if err != nil || len(cluster.Items) != 1 {
		t.Errorf("cluster reports: %v, %v", cluster, err)
	}

	// A bad --reports-api is a usage error before anything is listed.
	if code, _, errOut := run(env.KubeConfig, "--write-reports", "--reports-api", "example.com/v1"); code != ExitError || !strings.Contains(errOut, "--reports-api") {
		t.Errorf("bad --reports-api: exit %d; stderr:\n%s", code, errOut)
	}
}

func dyn(t *testing.T, cfg *rest.Config) dynamic.Interface {
	t.Helper()
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clusterRunner returns a function that runs `kubeharden cluster` with a
// kubeconfig and arguments, and returns its exit code, stdout and stderr.
func clusterRunner(t *testing.T) func(kubeconfig []byte, args ...string) (int, string, string) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	return func(kubeconfig []byte, args ...string) (int, string, string) {
		t.Helper()
		if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"cluster", "--kubeconfig", path}, args...), strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
}

// TestClusterImages: with --images the audit pulls the images the live
// workloads run, from a real registry, and runs the image checks on them,
// as scan --images does for manifests, vulnerabilities included with
// --vuln-db; the kinds that run containers are listed even when no object
// check is enabled.
func TestClusterImages(t *testing.T) {
	env := testenv.Start(t)
	env.CreateNamespace(t, "shop", nil)
	// An image that runs as root, ships a shell and an Alpine package
	// with a known vulnerability.
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer(t,
		imagetest.File("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
		imagetest.File("lib/apk/db/installed", apkDB),
		imagetest.Dir("bin"), imagetest.File("bin/sh", "#!"),
	))
	ref := imagetest.Push(t, img)
	createDeployment(t, env, "shop", "api", "api", corev1.Container{Name: "api", Image: ref})
	db := filepath.Join(t.TempDir(), "osv")
	if out, errOut, code := run("vulndb", "import", db, osvZip(t)); code != ExitOK {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	cluster := clusterRunner(t)
	code, out, errOut := cluster(env.KubeConfig, "-o", "json", "--images", "--insecure", "--vuln-db", db,
		"--checks", "image-user,image-shell,image-vulnerability")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr:\n%s\n%s", code, ExitFindings, errOut, out)
	}
	for _, want := range []string{`"check": "image-user"`, `"check": "image-shell"`, `"check": "image-vulnerability"`, `"ALPINE-CVE-2023-42366"`, ref} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in the audit of %s:\n%s", want, ref, out)
		}
	}
	if strings.Contains(out, "ALPINE-CVE-2023-42363") {
		t.Errorf("a vulnerability fixed in the installed version is reported:\n%s", out)
	}
	// Without --images the same checks have nothing to judge, and the
	// vulnerability sources are a usage error.
	code, out, errOut = cluster(env.KubeConfig, "-o", "json", "--checks", "image-user,image-shell")
	if code != ExitOK || strings.Contains(out, `"check": "image-user"`) {
		t.Errorf("without --images: exit %d; stderr:\n%s\n%s", code, errOut, out)
	}
	if code, _, errOut = cluster(env.KubeConfig, "--vuln-db", db); code != ExitError || !strings.Contains(errOut, "add --images") {
		t.Errorf("--vuln-db without --images: exit %d\n%s", code, errOut)
	}
}
