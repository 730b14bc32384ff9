package openreports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

func installCRDs(t *testing.T, env *testenv.Env, dir string) {
	t.Helper()
	_, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join("testdata", "crds", dir)},
		ErrorIfPathMissing: true,
	})
	if err != nil {
		t.Fatalf("installing the %s CRDs: %v", dir, err)
	}
}

func finding(id string, sev check.Severity, kind, ns, name, msg string) check.Finding {
	return check.Finding{
		Check: id, Severity: sev, Message: msg, Path: "spec.template.spec.containers[0]",
		Object:   &check.ObjectRef{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name},
		Location: check.Location{File: kind + "/" + ns + "/" + name, Line: 3, Column: 5},
	}
}

// firstRun has findings in shop and billing, on a cluster-scoped object,
// outside objects, a suppressed one and a coverage gap.
func firstRun() *scan.Result {
	return &scan.Result{
		Findings: []check.Finding{
			finding("privileged-container", check.Critical, "Deployment", "shop", "web", `container "api" must not set securityContext.privileged=true`),
			finding("run-as-non-root", check.High, "Deployment", "shop", "web", `container "api" must set securityContext.runAsNonRoot=true`),
			finding("resource-limits", check.Medium, "StatefulSet", "billing", "db", `container "db" must set resources.limits.memory`),
			{Check: "rbac-dangling-binding", Severity: check.High, Message: `binding refers to ClusterRole "gone", which does not exist`,
				Object: &check.ObjectRef{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding", Name: "dangling"}, Path: "roleRef"},
			{Check: "cluster-version-supported", Severity: check.Critical, Message: "Kubernetes 1.29 reached end of life on 2025-02-28"},
		},
		Suppressed: []check.Finding{
			{Check: "image-tag", Severity: check.Low, Message: `container "api" uses image "busybox:1.36"`,
				Object: &check.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"},
				Extra:  &check.Extra{Suppression: &check.Suppression{Kind: "annotation", Reason: "pinned upstream", Source: "ignore.kubeharden.io/image-tag"}}},
		},
		Errors: []source.Error{{File: "test", Message: "cannot list secrets: forbidden (coverage gap)", Err: source.ErrCoverageGap}},
	}
}

// secondRun: billing is clean now, shop has one finding fewer.
func secondRun() *scan.Result {
	return &scan.Result{
		Findings: []check.Finding{
			finding("run-as-non-root", check.High, "Deployment", "shop", "web", `container "api" must set securityContext.runAsNonRoot=true`),
		},
	}
}

type server struct {
	env *testenv.Env
	dyn dynamic.Interface
}

func (s *server) gvr(api string, cluster bool) schema.GroupVersionResource {
	a, err := lookupAPI(api)
	if err != nil {
		panic(err)
	}
	return (&writer{api: a}).gvr(cluster)
}

// all lists every object of the API's namespaced kind, in all
// namespaces, and of its cluster kind.
func (s *server) all(t *testing.T, api string) (namespaced, cluster []unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	ns, err := s.dyn.Resource(s.gvr(api, false)).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := s.dyn.Resource(s.gvr(api, true)).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Items, cl.Items
}

// normal is v as JSON reads it, for comparing what was sent with what
// the server stored.
func normal(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// stored checks that the server holds exactly what Write sent for each
// report, field by field: a field the CRD's schema does not know would be
// pruned, a value it refuses would have failed the write.
func (s *server) stored(t *testing.T, api string, reports []*Report) map[string]*unstructured.Unstructured {
	t.Helper()
	a, err := lookupAPI(api)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*unstructured.Unstructured{}
	for _, rep := range reports {
		ri := dynamic.ResourceInterface(s.dyn.Resource(s.gvr(api, rep.Cluster)))
		if !rep.Cluster {
			ri = s.dyn.Resource(s.gvr(api, false)).Namespace(rep.Namespace)
		}
		u, err := ri.Get(context.Background(), Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", rep.where(), err)
		}
		want := normal(t, rep.document(a))
		have := normal(t, u.Object)
		for _, k := range []string{"annotations", "labels"} {
			if w, h := want["metadata"].(map[string]any)[k], have["metadata"].(map[string]any)[k]; !reflect.DeepEqual(w, h) {
				t.Errorf("%s: metadata.%s = %v, want %v", rep.where(), k, h, w)
			}
		}
		delete(want, "metadata")
		delete(have, "metadata")
		if !reflect.DeepEqual(want, have) {
			wb, _ := json.MarshalIndent(want, "", " ")
			hb, _ := json.MarshalIndent(have, "", " ")
			t.Errorf("%s: the server stored\n%s\nwant\n%s", rep.where(), hb, wb)
		}
		got[rep.where()] = u
	}
	return got
}

func inNamespace(t *testing.T, reports []*Report, ns string) *Report {
	t.Helper()
	for _, r := range reports {
		if !r.Cluster && r.Namespace == ns {
			return r
		}
	}
	t.Fatalf("no report of namespace %s", ns)
	return nil
}

func TestWrite(t *testing.T) {
	env := testenv.Start(t)
	s := &server{env: env, dyn: dynamic.NewForConfigOrDie(env.Config)}
	for _, ns := range []string{"shop", "billing", "big"} {
		env.CreateNamespace(t, ns, nil)
	}
	ctx := context.Background()
	t1 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	first := Build(firstRun(), Options{Now: t1})

	t.Run("no API installed", func(t *testing.T) {
		_, err := Write(ctx, env.Config, first, WriteOptions{})
		if !errors.Is(err, ErrNoAPI) {
			t.Fatalf("Write without CRDs: %v, want ErrNoAPI", err)
		}
		for _, want := range []string{OpenReports, PolicyReports, "install", "Report", "PolicyReport"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if _, err := Write(ctx, env.Config, first, WriteOptions{API: OpenReports}); !errors.Is(err, ErrNoAPI) || !strings.Contains(err.Error(), OpenReports) {
			t.Errorf("Write with --reports-api %s and no CRDs: %v", OpenReports, err)
		}
		if _, err := Write(ctx, env.Config, first, WriteOptions{API: "policy.k8s.io/v1alpha1"}); err == nil || !strings.Contains(err.Error(), "unknown report API") {
			t.Errorf("Write with an unknown API: %v", err)
		}
	})

	t.Run("only wgpolicyk8s installed", func(t *testing.T) {
		installCRDs(t, env, "wgpolicyk8s")
		api, err := Write(ctx, env.Config, first, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if api != PolicyReports {
			t.Fatalf("discovery chose %s, want %s", api, PolicyReports)
		}
		s.stored(t, PolicyReports, first)
		if _, err := Write(ctx, env.Config, first, WriteOptions{API: OpenReports}); !errors.Is(err, ErrNoAPI) {
			t.Errorf("Write with --reports-api %s, only %s installed: %v", OpenReports, PolicyReports, err)
		}
	})

	t.Run("both installed", func(t *testing.T) {
		installCRDs(t, env, "openreports")
		api, err := Write(ctx, env.Config, first, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if api != OpenReports {
			t.Fatalf("discovery chose %s, want %s", api, OpenReports)
		}
		before := s.stored(t, OpenReports, first)
		namespaced, cluster := s.all(t, OpenReports)
		if len(namespaced) != 2 || len(cluster) != 1 {
			t.Fatalf("after the first write: %d Reports and %d ClusterReports, want 2 and 1", len(namespaced), len(cluster))
		}

		// The second run: updated in place, billing emptied, nothing added.
		second := Build(secondRun(), Options{Now: t2})
		if _, err := Write(ctx, env.Config, second, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		namespaced, cluster = s.all(t, OpenReports)
		perNS := map[string]int{}
		for _, u := range namespaced {
			perNS[u.GetNamespace()]++
		}
		if len(namespaced) != 2 || perNS["shop"] != 1 || perNS["billing"] != 1 || len(cluster) != 1 {
			t.Fatalf("after the second write: Reports per namespace %v and %d ClusterReports, want one each", perNS, len(cluster))
		}
		want := append(slices.Clip(second), &Report{Namespace: "billing"})
		after := s.stored(t, OpenReports, want)
		for where, u := range after {
			if u.GetUID() != before[where].GetUID() {
				t.Errorf("%s was replaced, not updated", where)
			}
			if u.GetResourceVersion() == before[where].GetResourceVersion() {
				t.Errorf("%s was not updated", where)
			}
		}
		shop := after["namespace shop"].Object
		if sum := shop["summary"].(map[string]any); sum["fail"] != int64(1) || sum["skip"] != int64(0) {
			t.Errorf("shop's summary after the second run: %v", sum)
		}
		if _, ok := after["namespace billing"].Object["results"]; ok {
			t.Errorf("billing still has results: %v", after["namespace billing"].Object["results"])
		}
		// Writing the same again changes nothing but leaves one of each.
		if _, err := Write(ctx, env.Config, second, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if n, c := s.all(t, OpenReports); len(n) != 2 || len(c) != 1 {
			t.Errorf("after the third write: %d Reports and %d ClusterReports", len(n), len(c))
		}
		// The PolicyReports of the earlier run are left alone: another API.
		if n, c := s.all(t, PolicyReports); len(n) != 2 || len(c) != 1 {
			t.Errorf("PolicyReports: %d and %d, want the 2 and 1 of the earlier run", len(n), len(c))
		}
	})

	t.Run("explicit API", func(t *testing.T) {
		api, err := Write(ctx, env.Config, first, WriteOptions{API: PolicyReports})
		if err != nil || api != PolicyReports {
			t.Fatalf("Write --reports-api %s: %s, %v", PolicyReports, api, err)
		}
		s.stored(t, PolicyReports, first)
	})

	t.Run("one namespace", func(t *testing.T) {
		// An audit of billing only: its report is written (empty), the
		// others are left as they are.
		shopBefore, err := s.dyn.Resource(s.gvr(OpenReports, false)).Namespace("shop").Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		clusterBefore, err := s.dyn.Resource(s.gvr(OpenReports, true)).Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reports := Build(firstRun(), Options{Now: t2.Add(time.Hour)})
		if _, err := Write(ctx, env.Config, reports, WriteOptions{API: OpenReports, Namespace: "billing"}); err != nil {
			t.Fatal(err)
		}
		s.stored(t, OpenReports, []*Report{inNamespace(t, reports, "billing")})
		shopAfter, err := s.dyn.Resource(s.gvr(OpenReports, false)).Namespace("shop").Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		clusterAfter, err := s.dyn.Resource(s.gvr(OpenReports, true)).Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if shopAfter.GetResourceVersion() != shopBefore.GetResourceVersion() || clusterAfter.GetResourceVersion() != clusterBefore.GetResourceVersion() {
			t.Error("a write limited to billing changed shop's report or the cluster report")
		}
	})

	t.Run("large", func(t *testing.T) {
		// Far more findings than fit: the report is cut to the bound and
		// the server, with etcd's object limit, takes it.
		res := &scan.Result{}
		for i := range 20000 {
			sev := check.Medium
			if i%1000 == 0 {
				sev = check.Critical
			}
			res.Findings = append(res.Findings, finding("resource-limits", sev, "Deployment", "big", fmt.Sprintf("app-%05d", i),
				fmt.Sprintf(`container "c%d" must set resources.limits.memory`, i)))
		}
		reports := Build(res, Options{Now: t1})
		big := inNamespace(t, reports, "big")
		if big.Dropped == 0 {
			t.Fatalf("20000 results were not cut")
		}
		for _, api := range APIs() {
			if _, err := Write(ctx, env.Config, reports, WriteOptions{API: api, Namespace: "big"}); err != nil {
				t.Fatalf("%s: %v", api, err)
			}
			got := s.stored(t, api, []*Report{big})["namespace big"]
			if n := len(got.Object["results"].([]any)); n != len(big.Results) || n+big.Dropped != 20000 {
				t.Errorf("%s: %d results stored, %d dropped", api, n, big.Dropped)
			}
		}
	})
}
