package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

func kindNames(ks []cluster.Kind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Kind)
	}
	return out
}

// appliesOf is what the registry's checks with these IDs apply to.
func appliesOf(t *testing.T, ids ...string) func(*object.Object) bool {
	t.Helper()
	var cs []*check.ObjectCheck
	for _, c := range check.Of[*check.ObjectCheck](checks.Registry()) {
		if slices.Contains(ids, c.ID) {
			cs = append(cs, c)
		}
	}
	if len(cs) != len(ids) {
		t.Fatalf("checks %v: found %d", ids, len(cs))
	}
	return func(o *object.Object) bool {
		return slices.ContainsFunc(cs, func(c *check.ObjectCheck) bool { return c.Applies == nil || c.Applies(o) })
	}
}

// The audit lists only the kinds the enabled checks apply to.
func TestNeeded(t *testing.T) {
	for _, c := range []struct {
		ids  []string
		want []string
	}{
		{[]string{"privileged-container"}, []string{"Pod", "ReplicationController", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}},
		{[]string{"rbac-wildcard"}, []string{"ClusterRole", "Role"}},
		{[]string{"service-account-token-secret"}, []string{"Secret"}},
		{[]string{"cross-namespace-ingress"}, []string{"NetworkPolicy"}},
		{[]string{"default-namespace"}, kindNames(cluster.Kinds())},
	} {
		if got := kindNames(cluster.Needed(appliesOf(t, c.ids...))); !slices.Equal(got, c.want) {
			t.Errorf("%v: kinds %v, want %v", c.ids, got, c.want)
		}
	}
}

// TestListing checks what the source yields against a real API server:
// namespace after namespace however many are listed ahead, objects of
// a pod-template controller skipped, others judged with their origin,
// progress, built-in objects, and gaps summed up per kind.
func TestListing(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	c := env.Client
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	nss := []string{"ns-a", "ns-b", "ns-c", "ns-d", "ns-e", "ns-f"}
	for _, ns := range nss {
		env.CreateNamespace(t, ns, nil)
		for i := range 3 {
			must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("p", i)}, Spec: podSpec(false)}, metav1.CreateOptions{}))
		}
	}
	// ns-a: a Pod of an Argo Rollout (not listed: judged itself), a Pod
	// of a ReplicaSet of a Deployment and a Job of a CronJob (skipped),
	// and a Deployment installed by Helm.
	must(c.CoreV1().Pods("ns-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rollout-pod", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "api", UID: "u1", Controller: ptr.To(true),
	}}}, Spec: podSpec(false)}, metav1.CreateOptions{}))
	d := deployment("web", false)
	d.Annotations = map[string]string{"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "ns-a"}
	d.Labels = map[string]string{"helm.sh/chart": "web-1.0.0"}
	d, err := c.AppsV1().Deployments("ns-a").Create(ctx, d, metav1.CreateOptions{})
	must(d, err)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true),
	}}}, Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
	rs, err = c.AppsV1().ReplicaSets("ns-a").Create(ctx, rs, metav1.CreateOptions{})
	must(rs, err)
	must(c.CoreV1().Pods("ns-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1-x", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true),
	}}}, Spec: podSpec(false)}, metav1.CreateOptions{}))
	cj, err := c.BatchV1().CronJobs("ns-a").Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.CronJobSpec{
		Schedule: "0 0 * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
			s := podSpec(false)
			s.RestartPolicy = corev1.RestartPolicyNever
			return s
		}()}}},
	}}, metav1.CreateOptions{})
	must(cj, err)
	job := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-1", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true),
	}}}, Spec: cj.Spec.JobTemplate.Spec}
	must(c.BatchV1().Jobs("ns-a").Create(ctx, &job, metav1.CreateOptions{}))

	t.Run("admin", func(t *testing.T) {
		var seen []cluster.Progress
		src, err := cluster.New(env.Config, cluster.Options{PageSize: 1, Progress: func(p cluster.Progress) { seen = append(seen, p) }})
		if err != nil {
			t.Fatal(err)
		}
		var docs []source.Document
		for it := range src.Items(ctx) {
			switch it.Kind {
			case source.Failed:
				t.Errorf("error: %v", it.Err)
			case source.ManifestDoc:
				docs = append(docs, it.Doc)
			}
		}
		if len(seen) != len(docs) || seen[len(seen)-1].Objects != len(docs) {
			t.Errorf("%d progress reports for %d objects", len(seen), len(docs))
		}
		// Namespace by namespace: once a namespace's objects begin, no
		// other namespace's come until they end.
		var order []string
		for _, d := range docs {
			parts := strings.Split(d.File, "/")
			if len(parts) == 3 && (len(order) == 0 || order[len(order)-1] != parts[1]) {
				order = append(order, parts[1])
			}
		}
		if !slices.IsSorted(order) || len(slices.Compact(slices.Clone(order))) != len(order) {
			t.Errorf("namespaces interleaved: %v", order)
		}
		for _, ns := range nss {
			if !slices.Contains(order, ns) {
				t.Errorf("namespace %s not listed: %v", ns, order)
			}
		}
		origins := map[string]string{}
		for _, d := range docs {
			origins[d.File] = d.Origin
		}
		for file, want := range map[string]string{
			"Pod/ns-a/rollout-pod":       "controlled by Rollout api",
			"Deployment/ns-a/web":        "Helm release ns-a/web (chart web-1.0.0)",
			"CronJob/ns-a/nightly":       "",
			"Namespace/ns-a":             "",
			"ClusterRole/admin":          "",
			"Service/default/kubernetes": "",
		} {
			if got, ok := origins[file]; !ok || got != want {
				t.Errorf("%s: listed %v, origin %q, want %q", file, ok, got, want)
			}
		}
		for _, skipped := range []string{"ReplicaSet/ns-a/web-1", "Pod/ns-a/web-1-x", "Job/ns-a/nightly-1"} {
			if _, ok := origins[skipped]; ok {
				t.Errorf("%s listed: its controller's template is judged instead", skipped)
			}
		}
		for file, want := range map[string]bool{
			"ClusterRole/cluster-admin": true, "ClusterRoleBinding/cluster-admin": true,
			"Service/default/kubernetes": true, "ServiceAccount/default/default": true,
			"ServiceAccount/ns-a/default": false, "Deployment/ns-a/web": false,
		} {
			if src.BuiltIn(file) != want {
				t.Errorf("BuiltIn(%s) = %v", file, !want)
			}
		}
	})

	t.Run("gaps", func(t *testing.T) {
		// May list Namespaces everywhere and Pods in ns-a only.
		u := env.User(t, "ns-lister")
		must(c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ns-list"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{}))
		must(c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ns-list"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "ns-list"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "ns-lister"}}}, metav1.CreateOptions{}))
		grantPodList(t, c, "ns-a", "ns-lister")
		testenv.Eventually(t, func(ctx context.Context) error {
			_, err := u.Client.CoreV1().Pods("ns-a").List(ctx, metav1.ListOptions{Limit: 1})
			return err
		})
		src, err := cluster.New(u.Config, cluster.Options{Name: "u", Kinds: cluster.Needed(appliesOf(t, "privileged-container"))})
		if err != nil {
			t.Fatal(err)
		}
		var gaps []string
		pods := 0
		for it := range src.Items(ctx) {
			switch it.Kind {
			case source.Failed:
				gaps = append(gaps, it.Err.Error())
			case source.ManifestDoc:
				if strings.HasPrefix(it.Doc.File, "Pod/") {
					pods++
				}
			}
		}
		if pods != 4 {
			t.Errorf("%d Pods listed, want the 4 of ns-a", pods)
		}
		for _, want := range []string{
			"u: cannot list Pod in 9 of the 10 namespaces (default, kube-node-lease, kube-public, kube-system, ns-b and 4 more): forbidden (coverage gap)",
			"u: cannot list Deployment in any of the 10 namespaces: forbidden (coverage gap)",
		} {
			if !slices.Contains(gaps, want) || len(gaps) != 8 {
				t.Errorf("gaps %q, want one per pod kind (8), with %q", gaps, want)
			}
		}
	})

	t.Run("stop", func(t *testing.T) {
		// Stopping, or cancelling, while namespaces are listed ahead
		// returns at once and leaves no lister behind (the race detector
		// and the test's end would see it).
		for n := 1; n < 40; n += 7 {
			src, err := cluster.New(env.Config, cluster.Options{PageSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for range src.Items(ctx) {
				if i++; i == n {
					break
				}
			}
			cctx, cancel := context.WithCancel(ctx)
			i = 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range src.Items(cctx) {
					if i++; i == n {
						cancel()
					}
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("cancelled after %d items: still listing", n)
			}
			cancel()
		}
	})
}
