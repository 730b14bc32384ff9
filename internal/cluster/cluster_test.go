package cluster_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

func podSpec(privileged bool) corev1.PodSpec {
	c := corev1.Container{Name: "app", Image: "registry.example/app@sha256:" + strings.Repeat("a", 64)}
	if privileged {
		c.SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	} else {
		c.SecurityContext = &corev1.SecurityContext{
			Privileged:               ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false),
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](10001),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	return corev1.PodSpec{Containers: []corev1.Container{c}, AutomountServiceAccountToken: ptr.To(false)}
}

func deployment(name string, privileged bool) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(privileged)},
		},
	}
}

// populate creates, in "shop" and "secure", an insecure and a hardened
// Deployment, a bare Pod, a Pod a ReplicaSet controls, and RBAC.
func populate(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	c := env.Client
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"shop", "secure"} {
		env.CreateNamespace(t, ns, nil)
		must(c.AppsV1().Deployments(ns).Create(ctx, deployment("web", true), metav1.CreateOptions{}))
		must(c.AppsV1().Deployments(ns).Create(ctx, deployment("hardened", false), metav1.CreateOptions{}))
		must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}, Spec: podSpec(true)}, metav1.CreateOptions{}))
		labels := map[string]string{"app": "rs"}
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "rs"},
			Spec: appsv1.ReplicaSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(true)},
			},
		}, metav1.CreateOptions{})
		must(rs, err)
		must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "owned", Labels: labels, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true),
			}}},
			Spec: podSpec(true),
		}, metav1.CreateOptions{}))
		must(c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "everything"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
		}, metav1.CreateOptions{}))
		must(c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "everything"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "everything"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: ns}},
		}, metav1.CreateOptions{}))
		must(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "token", Annotations: map[string]string{
				corev1.ServiceAccountNameKey: "default",
				// kubectl apply would copy the data here.
				corev1.LastAppliedConfigAnnotation: `{"data":{"token":"c2VjcmV0LXZhbHVl"}}`,
			}},
			Type: corev1.SecretTypeServiceAccountToken,
		}, metav1.CreateOptions{}))
		must(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "opaque"},
			StringData: map[string]string{"password": "hunter2"},
		}, metav1.CreateOptions{}))
	}
}

func audit(t *testing.T, cfg *rest.Config, opts cluster.Options) ([]source.Item, *scan.Result) {
	t.Helper()
	src, err := cluster.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	items := slices.Collect(src.Items(ctx))
	res := scan.Run(ctx, slices.Values(items), scan.Options{Registry: checks.Registry()})
	return items, res
}

func findings(res *scan.Result, id, file string) []check.Finding {
	var out []check.Finding
	for _, f := range res.Findings {
		if f.Check == id && f.Location.File == file {
			out = append(out, f)
		}
	}
	return out
}

func TestCluster(t *testing.T) {
	env := testenv.Start(t)
	populate(t, env)

	t.Run("admin", func(t *testing.T) {
		// A page size of 1 makes every kind take several pages.
		items, res := audit(t, env.Config, cluster.Options{PageSize: 1})
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %v", res.Errors)
		}
		for _, it := range items {
			if it.Kind != source.ManifestDoc {
				continue
			}
			if strings.Contains(string(it.Doc.Data), "managedFields") {
				t.Errorf("%s: managedFields not dropped", it.Doc.File)
			}
			for _, leak := range []string{"c2VjcmV0LXZhbHVl", "hunter2", "aHVudGVyMg=="} {
				if strings.Contains(string(it.Doc.Data), leak) {
					t.Errorf("%s: secret data listed", it.Doc.File)
				}
			}
			if strings.HasPrefix(it.Doc.File, "Secret/") && !strings.HasSuffix(it.Doc.File, "/token") {
				t.Errorf("%s: a Secret other than a token listed", it.Doc.File)
			}
		}
		for _, ns := range []string{"shop", "secure"} {
			for _, file := range []string{"Deployment/" + ns + "/web", "Pod/" + ns + "/bare", "ReplicaSet/" + ns + "/rs"} {
				if len(findings(res, "privileged-container", file)) == 0 {
					t.Errorf("no privileged-container finding on %s", file)
				}
			}
			for _, file := range []string{"Deployment/" + ns + "/hardened", "Pod/" + ns + "/owned"} {
				if f := findings(res, "privileged-container", file); len(f) > 0 {
					t.Errorf("unexpected finding on %s: %v", file, f)
				}
			}
			if len(findings(res, "service-account-token-secret", "Secret/"+ns+"/token")) == 0 {
				t.Errorf("no service-account-token-secret finding on Secret/%s/token", ns)
			}
		}
		for _, f := range res.Findings {
			if strings.Contains(f.Location.File, "/owned") {
				t.Errorf("finding on the controlled Pod: %v", f)
			}
		}

		// The version the server reports, judged on today's calendar.
		info, err := env.Client.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		v, err := k8sversion.Parse(info.GitVersion)
		if err != nil {
			t.Fatal(err)
		}
		cres := scan.RunCluster(clustercheck.Target{Version: v, Name: "test"}, scan.Options{Registry: checks.Registry()})
		var fired bool
		for _, f := range cres.Findings {
			fired = fired || f.Check == "cluster-version-supported"
		}
		r, ok := k8sversion.Lookup(v)
		if want := !ok || r.Phase(time.Now()) != k8sversion.Supported; fired != want {
			t.Errorf("cluster-version-supported for %s fired=%v, want %v: %v", v, fired, want, cres.Findings)
		}
	})

	t.Run("namespace", func(t *testing.T) {
		_, res := audit(t, env.Config, cluster.Options{Namespace: "secure"})
		for _, f := range res.Findings {
			if strings.Contains(f.Location.File, "/shop/") || strings.HasPrefix(f.Location.File, "Cluster") {
				t.Errorf("finding outside namespace secure: %v", f.Location.File)
			}
		}
		if len(findings(res, "privileged-container", "Deployment/secure/web")) == 0 {
			t.Error("no privileged-container finding on Deployment/secure/web")
		}
	})

	t.Run("restricted", func(t *testing.T) {
		u := env.User(t, "pod-reader")
		grantPodList(t, env.Client, "shop", "pod-reader")
		testenv.Eventually(t, func(ctx context.Context) error {
			_, err := u.Client.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{Limit: 1})
			return err
		})
		_, res := audit(t, u.Config, cluster.Options{Name: "restricted", Namespace: "shop"})
		if len(findings(res, "privileged-container", "Pod/shop/bare")) == 0 {
			t.Error("no finding on the Pod the user may list")
		}
		var msgs []string
		for _, e := range res.Errors {
			msgs = append(msgs, e.Error())
		}
		for _, want := range []string{
			"restricted: cannot list Deployment in namespace shop: forbidden (coverage gap)",
			"restricted: cannot list Namespace: forbidden (coverage gap)",
			"restricted: cannot list Secret in namespace shop: forbidden (coverage gap)",
		} {
			if !slices.Contains(msgs, want) {
				t.Errorf("no error %q in %q", want, msgs)
			}
		}
		for _, m := range msgs {
			if strings.Contains(m, "Pod ") {
				t.Errorf("unexpected error %q", m)
			}
		}

		_, res = audit(t, u.Config, cluster.Options{Name: "restricted"})
		if len(res.Findings) != 0 || len(res.Errors) != len(cluster.Kinds()) {
			t.Errorf("all namespaces: %d findings, %d errors, want 0 and one per kind", len(res.Findings), len(res.Errors))
		}
	})

	t.Run("stop", func(t *testing.T) {
		src, err := cluster.New(env.Config, cluster.Options{PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range src.Items(context.Background()) {
			if n++; n == 3 {
				break
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if got := slices.Collect(src.Items(ctx)); len(got) > 1 {
			t.Errorf("cancelled context: %d items", len(got))
		}
	})
}

func grantPodList(t *testing.T, c kubernetes.Interface, ns, user string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-list"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-list"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-list"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
