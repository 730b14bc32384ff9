package testenv

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The constants name the cache directory and the version the server must
// report: they must be the versions tools/controlplane builds.
func TestVersionsMatchBuild(t *testing.T) {
	for _, c := range []struct{ gomod, module, want string }{
		{"../../tools/controlplane/kube-apiserver/go.mod", "k8s.io/kubernetes", KubernetesVersion},
		{"../../tools/controlplane/etcd/go.mod", "go.etcd.io/etcd/server/v3", EtcdVersion},
	} {
		data, err := os.ReadFile(c.gomod)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for line := range strings.Lines(string(data)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == c.module && strings.HasPrefix(f[1], "v") {
				got = f[1]
			}
		}
		if got != c.want {
			t.Errorf("%s requires %s %q, testenv expects %q", c.gomod, c.module, got, c.want)
		}
	}
}

// fatalTB records the failure Start reports instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartFailsWithoutBinaries(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f)
	}()
	<-done
	if !strings.Contains(f.msg, "run `make controlplane`") {
		t.Fatalf("Start without binaries: got failure %q, want one that says to run `make controlplane`", f.msg)
	}
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	env := Start(t)
	ctx := context.Background()

	v, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != KubernetesVersion || v.Major != "1" || v.Minor != "37" {
		t.Errorf("server version %s (major %q, minor %q), want %s", v.GitVersion, v.Major, v.Minor, KubernetesVersion)
	}

	env.CreateNamespace(t, "shop", map[string]string{"team": "shop"})
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("web-%d", i)
		want = append(want, name)
		if _, err := env.Client.AppsV1().Deployments("shop").Create(ctx, deployment(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Pages of two: three requests, the last without a continue token.
	var got []string
	pages := 0
	opts := metav1.ListOptions{Limit: 2}
	for {
		list, err := env.Client.AppsV1().Deployments("shop").List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(list.Items) > 2 {
			t.Fatalf("page %d has %d items, limit 2", pages, len(list.Items))
		}
		for _, d := range list.Items {
			got = append(got, d.Name)
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("paginated list: %d pages, %v; want 3 pages, %v", pages, got, want)
	}

	nss, err := env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(nss.Items) != 1 || nss.Continue == "" {
		t.Errorf("namespaces with limit 1: %d items, continue %q; want 1 and a token", len(nss.Items), nss.Continue)
	}

	// The ServiceAccount admission plugin runs, as on a real cluster, and
	// finds the account CreateNamespace made.
	pod, err := env.Client.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bare"},
		Spec:       deployment("bare").Spec.Template.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" || len(pod.Spec.Volumes) == 0 {
		t.Errorf("pod admitted with service account %q and %d volumes, want default and its token volume", pod.Spec.ServiceAccountName, len(pod.Spec.Volumes))
	}
}

// The cluster audit's rbac-authorization check must see both modes: with
// RBAC an unprivileged user is forbidden until a binding grants it.
func TestRBAC(t *testing.T) {
	t.Parallel()
	env := Start(t)
	ctx := context.Background()
	env.CreateNamespace(t, "shop", nil)
	alice := env.User(t, "alice")

	_, err := alice.Client.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("alice listing secrets with RBAC and no binding: err %v, want forbidden", err)
	}

	if _, err := env.Client.RbacV1().Roles("shop").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().RoleBindings("shop").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-reads-secrets"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "secret-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, func(ctx context.Context) error {
		_, err := alice.Client.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{})
		return err
	})
	if _, err := alice.Client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("alice listing secrets outside her binding: err %v, want forbidden", err)
	}
}

func TestAlwaysAllowAndAudit(t *testing.T) {
	t.Parallel()
	env := Start(t,
		AuthorizationMode("AlwaysAllow"),
		AuditPolicy("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"),
	)
	alice := env.User(t, "alice")
	if _, err := alice.Client.CoreV1().Secrets("default").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("alice listing secrets with AlwaysAllow: %v", err)
	}
	Eventually(t, func(context.Context) error {
		data, err := os.ReadFile(env.AuditLog)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), `"username":"alice"`) {
			return fmt.Errorf("audit log has no event of alice's (%d bytes)", len(data))
		}
		return nil
	})
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "web",
					Image: "registry.example/web:1.0",
				}}},
			},
		},
	}
}
