package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// The scale of issue 11: 10,000 Pods' worth of objects.
const (
	benchNamespaces  = 20
	benchDeployments = 1000 // 50 per namespace, each with a ReplicaSet
	benchPodsPerRS   = 10
)

// BenchmarkCluster measures `kubeharden cluster` against a real API server
// holding 10,000 Pods' worth of objects: 20 namespaces of 50 Deployments,
// each with the ReplicaSet and 10 Pods its controllers would create (owner
// references set), a Service, a NetworkPolicy, and a Role and RoleBinding
// per namespace. The objects are created only when the benchmark runs
// (`go test -bench`), never by `go test`.
//
//   - list-floor: a bare paginated list of the kinds the audit lists, with
//     its page size, decoded and discarded: the time the audit cannot beat.
//   - audit: the kubeharden binary, built once, run as a child process on
//     the server's kubeconfig, as a user runs it; reports its peak RSS.
func BenchmarkCluster(b *testing.B) {
	env := testenv.Start(b)
	start := time.Now()
	objects := populate10k(b, env)
	b.Logf("created %d objects in %v", objects, time.Since(start).Round(time.Second))
	// Objects the audit lists, the server's own included.
	listed := listFloor(context.Background(), b, env.Config)
	b.Logf("the audit lists %d objects", listed)

	b.Run("list-floor", func(b *testing.B) {
		for b.Loop() {
			listFloor(context.Background(), b, env.Config)
		}
		b.ReportMetric(float64(listed)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})

	// The audit in this process, for -cpuprofile and -memprofile: the
	// source into the engine, without the report.
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			src, err := cluster.New(env.Config, cluster.Options{})
			if err != nil {
				b.Fatal(err)
			}
			res := scan.Run(context.Background(), src.Items(context.Background()), scan.Options{Registry: checks.Registry()})
			if len(res.Errors) > 0 || res.Objects == 0 {
				b.Fatalf("%d objects, errors: %v", res.Objects, res.Errors)
			}
		}
		b.ReportMetric(float64(listed)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})

	bin := filepath.Join(b.TempDir(), "kubeharden")
	build := exec.Command("go", "build", "-o", bin, "github.com/kubeharden/kubeharden/cmd/kubeharden")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building kubeharden: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("audit", func(b *testing.B) {
		var peak int64
		var cpu time.Duration
		for b.Loop() {
			cmd := exec.Command(bin, "cluster", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on", "none", "--output-file", os.DevNull)
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+fmt.Sprint(runtime.GOMAXPROCS(0)))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("kubeharden cluster: %v\n%s", err, out)
			}
			ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			if !ok {
				b.Fatal("no rusage for the child process")
			}
			peak = max(peak, ru.Maxrss) // KiB on Linux
			cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
		// CPU well under the wall time: the audit waits (on the server,
		// or on client-side throttling).
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(listed)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}

// listFloor lists every kind the audit lists, page by page with its default
// page size, through the dynamic client it uses (Secrets: the token
// Secrets it lists, as metadata), and returns how many objects it saw.
func listFloor(ctx context.Context, b testing.TB, cfg *rest.Config) int {
	dyn := dynamic.NewForConfigOrDie(cfg)
	n := 0
	for _, k := range cluster.Kinds() {
		lo := metav1.ListOptions{Limit: cluster.DefaultPageSize}
		if k.Kind == "Secret" {
			lo.FieldSelector = fields.OneTermEqualSelector("type", "kubernetes.io/service-account-token").String()
		}
		for {
			list, err := dyn.Resource(k.Resource).List(ctx, lo)
			if err != nil {
				b.Fatalf("listing %s: %v", k.Kind, err)
			}
			n += len(list.Items)
			if lo.Continue = list.GetContinue(); lo.Continue == "" {
				break
			}
		}
	}
	return n
}

// populate10k creates the objects of BenchmarkCluster, several requests at
// a time, and returns how many it created.
func populate10k(b *testing.B, env *testenv.Env) int {
	b.Helper()
	ctx := context.Background()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling
	c := kubernetes.NewForConfigOrDie(cfg)
	var created atomic.Int64
	var failed atomic.Pointer[error]
	must := func(_ any, err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
			return
		}
		created.Add(1)
	}
	for i := range benchNamespaces {
		env.CreateNamespace(b, fmt.Sprintf("bench-%02d", i), nil)
		created.Add(2)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for d := range jobs {
				ns := fmt.Sprintf("bench-%02d", d%benchNamespaces)
				benchApp(ctx, c, ns, fmt.Sprintf("app-%04d", d), d%2 == 0, must)
			}
		})
	}
	for d := range benchDeployments {
		if failed.Load() != nil {
			break
		}
		jobs <- d
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("populating: %v", *err)
	}
	for i := range benchNamespaces {
		ns := fmt.Sprintf("bench-%02d", i)
		must(c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "update"}}},
		}, metav1.CreateOptions{}))
		must(c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: ns}},
		}, metav1.CreateOptions{}))
	}
	if err := failed.Load(); err != nil {
		b.Fatalf("populating: %v", *err)
	}
	return int(created.Load())
}

// benchApp creates one application: a Deployment, its ReplicaSet and Pods
// (as their controllers would), a Service and a NetworkPolicy. Half the
// applications are hardened, half not, so that the audit has findings to
// report.
func benchApp(ctx context.Context, c kubernetes.Interface, ns, name string, hardened bool, must func(any, error)) {
	labels := map[string]string{"app": name}
	spec := benchPodSpec(hardened)
	dep, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](benchPodsPerRS),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if must(dep, err); err != nil {
		return
	}
	rsLabels := map[string]string{"app": name, "pod-template-hash": "7c9f8d6b5"}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-7c9f8d6b5", Labels: rsLabels, OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(dep, appsv1.SchemeGroupVersion.WithKind("Deployment")),
		}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](benchPodsPerRS),
			Selector: &metav1.LabelSelector{MatchLabels: rsLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: rsLabels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if must(rs, err); err != nil {
		return
	}
	for i := range benchPodsPerRS {
		must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", rs.Name, i), Labels: rsLabels, OwnerReferences: []metav1.OwnerReference{
				*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet")),
			}},
			Spec: spec,
		}, metav1.CreateOptions{}))
	}
	must(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		// Headless: the test server's service range has 254 addresses.
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}))
	must(c.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: labels},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		},
	}, metav1.CreateOptions{}))
}

func benchPodSpec(hardened bool) corev1.PodSpec {
	c := corev1.Container{
		Name:  "app",
		Image: "registry.example/team/app:1.4",
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}},
	}
	if hardened {
		c.Image += digest
		c.SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](10001),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	return corev1.PodSpec{Containers: []corev1.Container{c}, AutomountServiceAccountToken: ptr.To(hardened)}
}
