package openreports

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

func render(t *testing.T, reports []*Report, api string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, reports, api); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, c := range reporttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderResult(&buf, c.Result, Options{}); err != nil {
				t.Fatal(err)
			}
			reporttest.Golden(t, filepath.Join("testdata", c.Name+".golden"), buf.Bytes())
		})
	}
	t.Run("full-wgpolicyk8s", func(t *testing.T) {
		got := render(t, Build(reporttest.Full(), Options{Namespace: "apps", Now: time.Unix(1700000000, 0)}), PolicyReports)
		reporttest.Golden(t, filepath.Join("testdata", "full-wgpolicyk8s.golden"), got)
	})
}

// docs splits a rendered stream into its documents, read generically.
func docs(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	if !bytes.HasPrefix(out, []byte("---\n")) {
		t.Fatalf("output does not start with ---:\n%s", out)
	}
	var ds []map[string]any
	for _, part := range strings.Split(string(out), "---\n")[1:] {
		var d map[string]any
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, part)
		}
		ds = append(ds, d)
	}
	return ds
}

func ref(kind, ns, name string) *check.ObjectRef {
	return &check.ObjectRef{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name}
}

// Each finding goes to the report of its object's namespace, the cluster
// report takes cluster-scoped objects and findings without one, and a
// namespaced object that sets no namespace goes to the default namespace.
func TestPlacement(t *testing.T) {
	res := &scan.Result{
		Findings: []check.Finding{
			{Check: "a", Severity: check.High, Object: ref("Pod", "shop", "web"), Message: "m1"},
			{Check: "a", Severity: check.High, Object: ref("Pod", "billing", "api"), Message: "m2"},
			{Check: "b", Severity: check.Low, Object: ref("ClusterRoleBinding", "", "admin"), Message: "m3"},
			{Check: "b", Severity: check.Low, Object: ref("Namespace", "", "shop"), Message: "m4"},
			{Check: "cluster-version-supported", Severity: check.Critical, Message: "m5"},
			{Check: "c", Severity: check.Medium, Object: ref("Deployment", "", "loose"), Message: "m6"},
		},
		Suppressed: []check.Finding{
			{Check: "a", Severity: check.High, Object: ref("Pod", "kube-system", "etcd"), Message: "m7",
				Extra: &check.Extra{Suppression: &check.Suppression{Kind: "system", Reason: "system namespace"}}},
		},
		Errors: []source.Error{{File: "ctx", Message: "cannot list secrets: forbidden (coverage gap)", Err: source.ErrCoverageGap}},
	}
	for _, tc := range []struct {
		defaultNS string
		want      map[string][]string // report (kind/namespace) -> messages
	}{
		{"apps", map[string][]string{
			"ClusterReport/":     {"ctx: cannot list secrets: forbidden (coverage gap)", "m5", "m3", "m4"},
			"Report/apps":        {"m6"},
			"Report/billing":     {"m2"},
			"Report/kube-system": {"m7"},
			"Report/shop":        {"m1"},
		}},
		{"", map[string][]string{
			"ClusterReport/":     {"ctx: cannot list secrets: forbidden (coverage gap)", "m5", "m3", "m4"},
			"Report/":            {"m6"},
			"Report/billing":     {"m2"},
			"Report/kube-system": {"m7"},
			"Report/shop":        {"m1"},
		}},
	} {
		got := map[string][]string{}
		var order []string
		for _, d := range docs(t, render(t, Build(res, Options{Namespace: tc.defaultNS}), OpenReports)) {
			md := d["metadata"].(map[string]any)
			ns, _ := md["namespace"].(string)
			key := d["kind"].(string) + "/" + ns
			order = append(order, key)
			if md["name"] != Name || md["labels"].(map[string]any)[ManagedByLabel] != ManagedBy {
				t.Errorf("%s: metadata %v", key, md)
			}
			results, _ := d["results"].([]any)
			for _, r := range results {
				r := r.(map[string]any)
				got[key] = append(got[key], r["message"].(string))
				if res, ok := r["resources"].([]any); ok && key != "ClusterReport/" {
					if rns, _ := res[0].(map[string]any)["namespace"].(string); rns != ns {
						t.Errorf("%s: result %q names namespace %q", key, r["message"], rns)
					}
				}
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("namespace %q: reports %v, want %v", tc.defaultNS, order, tc.want)
		}
		for k, want := range tc.want {
			if strings.Join(got[k], "|") != strings.Join(want, "|") {
				t.Errorf("namespace %q: %s has %q, want %q", tc.defaultNS, k, got[k], want)
			}
		}
		if order[0] != "ClusterReport/" {
			t.Errorf("reports in order %v, want the cluster report first", order)
		}
	}
}

// The fields of a result and the summary are what the API defines.
func TestResultFields(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	res := &scan.Result{
		Findings: []check.Finding{{
			Check: "run-as-non-root", Severity: check.High, Message: "must", Path: "spec.containers[0]",
			Object:   &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Origin: "chart x"},
			Location: check.Location{File: "Deployment/shop/web", Line: 12, Column: 3},
		}},
		Suppressed: []check.Finding{{
			Check: "image-tag", Severity: check.Low, Message: "tag", Object: ref("Pod", "shop", "p"),
			Location: check.Location{File: "k8s/p.yaml", Line: 4},
			Extra:    &check.Extra{Suppression: &check.Suppression{Kind: "annotation", Reason: "vendor", Source: "ignore.kubeharden.io/image-tag"}},
		}},
	}
	reps := Build(res, Options{Now: now})
	if len(reps) != 2 {
		t.Fatalf("%d reports, want the cluster's and shop's", len(reps))
	}
	shop := reps[1]
	if want := (Summary{Fail: 1, Skip: 1}); shop.Summary != want {
		t.Errorf("summary %+v, want %+v", shop.Summary, want)
	}
	fail, skip := shop.Results[0], shop.Results[1]
	wantTS := &Timestamp{Seconds: now.Unix()}
	if fail.Result != Fail || !fail.Scored || fail.Severity != "high" || fail.Policy != "run-as-non-root" ||
		fail.Source != Source || fail.Message != "must" || *fail.Timestamp != *wantTS {
		t.Errorf("fail result %+v", fail)
	}
	if got := fail.Resources; len(got) != 1 || got[0] != (ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}) {
		t.Errorf("resources %+v", got)
	}
	// A live object's document name is no location.
	if want := map[string]string{"path": "spec.containers[0]", "origin": "chart x"}; !equalMaps(fail.Properties, want) {
		t.Errorf("fail properties %v, want %v", fail.Properties, want)
	}
	if skip.Result != Skip || skip.Scored || skip.Severity != "low" {
		t.Errorf("skip result %+v", skip)
	}
	want := map[string]string{"location": "k8s/p.yaml:4", "suppressionKind": "annotation", "suppressionReason": "vendor", "suppressionSource": "ignore.kubeharden.io/image-tag"}
	if !equalMaps(skip.Properties, want) {
		t.Errorf("skip properties %v, want %v", skip.Properties, want)
	}
	// Without a time, no timestamps: the -o output is the same each run.
	for _, r := range Build(res, Options{})[1].Results {
		if r.Timestamp != nil {
			t.Errorf("timestamp %v without Options.Now", r.Timestamp)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// The same findings in any order render to the same bytes.
func TestDeterministic(t *testing.T) {
	res := reporttest.Large(500)
	want := render(t, Build(res, Options{}), OpenReports)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		rng.Shuffle(len(res.Findings), func(i, j int) { res.Findings[i], res.Findings[j] = res.Findings[j], res.Findings[i] })
		rng.Shuffle(len(res.Suppressed), func(i, j int) { res.Suppressed[i], res.Suppressed[j] = res.Suppressed[j], res.Suppressed[i] })
		reporttest.SameBytes(t, render(t, Build(res, Options{}), OpenReports), want, "the unshuffled result")
	}
}

// A report over MaxBytes keeps its most severe results, counts them all,
// and says so.
func TestTruncation(t *testing.T) {
	res := &scan.Result{}
	for i := range 400 {
		sev := check.Low
		if i%100 == 0 {
			sev = check.Critical
		}
		res.Findings = append(res.Findings, check.Finding{
			Check: "c", Severity: sev, Object: ref("Pod", "shop", "p"), Message: strings.Repeat("x", 100),
		})
	}
	const max = 10 << 10
	reps := Build(res, Options{MaxBytes: max})
	shop := reps[1]
	if shop.Summary.Fail != 400 {
		t.Errorf("summary counts %d failures, want all 400", shop.Summary.Fail)
	}
	kept := len(shop.Results)
	if kept == 0 || kept >= 400 || shop.Dropped != 400-kept {
		t.Fatalf("kept %d, dropped %d", kept, shop.Dropped)
	}
	for i, r := range shop.Results[:4] {
		if r.Severity != "critical" {
			t.Errorf("result %d is %s: the most severe must be kept first", i, r.Severity)
		}
	}
	for _, api := range APIs() {
		out := render(t, reps[1:], api)
		if len(out) > max+2048 {
			t.Errorf("%s: report is %d bytes, bound %d", api, len(out), max)
		}
		d := docs(t, out)[0]
		ann := d["metadata"].(map[string]any)["annotations"].(map[string]any)[TruncatedAnnotation]
		if want := "kept " + strconv.Itoa(kept) + " of 400 results"; ann != want {
			t.Errorf("%s: annotation %q, want %q", api, ann, want)
		}
		cfg, ok := d["configuration"].(map[string]any)
		switch api {
		case OpenReports:
			if !ok || cfg["limits"].(map[string]any)["maxResults"] != float64(kept) {
				t.Errorf("%s: configuration %v, want limits.maxResults %d", api, d["configuration"], kept)
			}
		default:
			if ok {
				t.Errorf("%s has no configuration field, got %v", api, cfg)
			}
		}
	}
}

// Hostile input: a huge message is cut on a rune boundary.
func TestCut(t *testing.T) {
	long := strings.Repeat("é", maxStringBytes)
	got := cut(long)
	if len(got) > maxStringBytes || !strings.HasSuffix(got, "… (cut)") || !strings.HasPrefix(got, "éé") {
		t.Errorf("cut: %d bytes, ends %q", len(got), got[len(got)-12:])
	}
	if !strings.HasPrefix(strings.ToValidUTF8(got, "?"), got) {
		t.Error("cut split a rune")
	}
	if s := "short"; cut(s) != s {
		t.Errorf("cut(%q) = %q", s, cut(s))
	}
}

func TestCheckAPI(t *testing.T) {
	for _, name := range append(APIs(), "") {
		if err := CheckAPI(name); err != nil {
			t.Errorf("CheckAPI(%q): %v", name, err)
		}
	}
	for _, name := range []string{"openreports.io", "wgpolicyk8s.io/v1beta1", "Report"} {
		if err := CheckAPI(name); err == nil || !strings.Contains(err.Error(), PolicyReports) {
			t.Errorf("CheckAPI(%q): %v, want an error naming the APIs", name, err)
		}
	}
}

func TestRenderUnknownAPI(t *testing.T) {
	err := Render(&bytes.Buffer{}, nil, "policy.kubernetes.io/v1alpha1")
	if err == nil || !strings.Contains(err.Error(), OpenReports) {
		t.Errorf("Render with an unknown API: %v", err)
	}
}
