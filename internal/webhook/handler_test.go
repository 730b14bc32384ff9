package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// insecure is a Deployment with findings of many checks.
const insecure = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        securityContext: {privileged: true}
`

func jsonOf(t testing.TB, y string) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// reviewOf is the AdmissionReview the API server sends for obj (and old).
func reviewOf(t testing.TB, op admissionv1.Operation, obj, old []byte) []byte {
	t.Helper()
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name, Namespace string
		} `json:"metadata"`
	}
	_ = json.Unmarshal(obj, &meta)
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("uid-1"),
			Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: meta.Kind},
			Name:      meta.Metadata.Name,
			Namespace: meta.Metadata.Namespace,
			Operation: op,
			Object:    runtime.RawExtension{Raw: obj},
			OldObject: runtime.RawExtension{Raw: old},
		},
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func handler(t testing.TB, cfgYAML string, facts FactsSource) *Handler {
	t.Helper()
	reg := checks.Registry()
	cfg, err := config.Parse("k.yaml", []byte(cfgYAML), func(id string) bool { return reg.Get(id) != nil })
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(Options{Registry: reg, Policy: policy.New(cfg, reg, time.Time{}), Namespace: "kubeharden", Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func review(t testing.TB, h *Handler, mutate bool, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	out, err := h.Review(mutate, body)
	if err != nil {
		t.Fatal(err)
	}
	if out.Response.UID != "uid-1" {
		t.Fatalf("response uid %q", out.Response.UID)
	}
	return out.Response
}

// scanFindings are the findings `kubeharden scan` reports on y.
func scanFindings(t testing.TB, y []byte) []check.Finding {
	t.Helper()
	objs, errs, _ := source.Parse(source.Document{File: "x.yaml", Data: y})
	if len(objs) != 1 || len(errs) > 0 {
		t.Fatalf("parse: %v %v", objs, errs)
	}
	return scan.New(scan.Options{Registry: checks.Registry()}).Object(objs[0], nil).Findings
}

// TestEnforceListsEveryReason: in enforce mode the denial names every
// finding the scan reports, each with its field path.
func TestEnforceListsEveryReason(t *testing.T) {
	h := handler(t, "admission: {mode: enforce}\n", nil)
	resp := review(t, h, false, reviewOf(t, admissionv1.Create, jsonOf(t, insecure), nil))
	if resp.Allowed || resp.Result == nil || resp.Result.Code != 403 {
		t.Fatalf("allowed: %+v", resp)
	}
	fs := scanFindings(t, []byte(insecure))
	if len(fs) < 5 {
		t.Fatalf("only %d findings on the insecure Deployment", len(fs))
	}
	for _, f := range fs {
		if !strings.Contains(resp.Result.Message, describe(&f)) {
			t.Errorf("denial lacks %q:\n%s", describe(&f), resp.Result.Message)
		}
	}
}

// TestModes: warn and audit admit; a check's own mode wins; off hides.
func TestModes(t *testing.T) {
	body := reviewOf(t, admissionv1.Create, jsonOf(t, insecure), nil)
	fs := scanFindings(t, []byte(insecure))
	resp := review(t, handler(t, "admission: {mode: warn}\n", nil), false, body)
	if !resp.Allowed || len(resp.Warnings) != len(fs) {
		t.Errorf("warn: allowed %v, %d warnings for %d findings", resp.Allowed, len(resp.Warnings), len(fs))
	}
	resp = review(t, handler(t, "admission: {mode: audit}\n", nil), false, body)
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("audit: %+v", resp)
	}
	resp = review(t, handler(t, "admission: {mode: off, checks: {privileged-container: enforce}}\n", nil), false, body)
	if resp.Allowed || strings.Count(resp.Result.Message, "\n- ") != 1 || !strings.Contains(resp.Result.Message, "[privileged-container]") {
		t.Errorf("one enforced check: %+v", resp.Result)
	}
	resp = review(t, handler(t, "admission: {mode: audit, severity: {critical: enforce}}\n", nil), false, body)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "[privileged-container]") || strings.Contains(resp.Result.Message, "[image-digest]") {
		t.Errorf("enforce critical: %+v", resp.Result)
	}
}

// TestSuppressedAndExcluded: an annotation suppresses at admission as in
// a scan; excluded namespaces are never judged.
func TestSuppressedAndExcluded(t *testing.T) {
	h := handler(t, "admission: {mode: off, checks: {privileged-container: enforce}, excludeNamespaces: [legacy]}\n", nil)
	sup := strings.Replace(insecure, "metadata: {name: web, namespace: shop}", "metadata: {name: web, namespace: shop, annotations: {ignore.kubeharden.io/privileged-container: \"needs the GPU driver\"}}", 1)
	if resp := review(t, h, false, reviewOf(t, admissionv1.Create, jsonOf(t, sup), nil)); !resp.Allowed {
		t.Errorf("suppressed finding denied: %v", resp.Result)
	}
	for _, ns := range []string{"kube-system", "kube-node-lease", "kubeharden", "legacy"} {
		y := strings.Replace(insecure, "namespace: shop", "namespace: "+ns, 1)
		if resp := review(t, h, false, reviewOf(t, admissionv1.Create, jsonOf(t, y), nil)); !resp.Allowed {
			t.Errorf("namespace %s judged: %v", ns, resp.Result)
		}
	}
}

// TestUpdateDeniesOnlyWhatItIntroduces: scaling or relabelling a legacy
// workload passes; adding a privileged container does not; scale and
// DELETE pass.
func TestUpdateDeniesOnlyWhatItIntroduces(t *testing.T) {
	h := handler(t, "admission: {mode: enforce}\n", nil)
	old := jsonOf(t, insecure)
	scaled := jsonOf(t, strings.Replace(strings.Replace(insecure, "replicas: 1", "replicas: 5", 1), "metadata: {name: web, namespace: shop}", "metadata: {name: web, namespace: shop, labels: {team: a}}", 1))
	resp := review(t, h, false, reviewOf(t, admissionv1.Update, scaled, old))
	if !resp.Allowed {
		t.Fatalf("scaling a legacy Deployment denied: %v", resp.Result.Message)
	}
	if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "present before this update") {
		t.Errorf("legacy findings not warned: %q", resp.Warnings)
	}
	worse := jsonOf(t, insecure+"      - name: side\n        image: busybox\n        securityContext: {privileged: true}\n")
	resp = review(t, h, false, reviewOf(t, admissionv1.Update, worse, old))
	if resp.Allowed || !strings.Contains(resp.Result.Message, `container "side"`) || strings.Contains(resp.Result.Message, `container "app"`) {
		t.Errorf("update adding a privileged container: %+v", resp.Result)
	}
	for _, mod := range []func(*admissionv1.AdmissionRequest){
		func(r *admissionv1.AdmissionRequest) { r.SubResource = "scale" },
		func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Delete },
	} {
		var rv admissionv1.AdmissionReview
		_ = json.Unmarshal(reviewOf(t, admissionv1.Update, worse, old), &rv)
		mod(rv.Request)
		data, _ := json.Marshal(rv)
		if resp := review(t, h, false, data); !resp.Allowed {
			t.Errorf("%s %s denied", rv.Request.Operation, rv.Request.SubResource)
		}
	}
}

// TestDeferredBeforeSync: a finding that depends on the cluster's facts
// (network-policy-coverage) is not enforced before they are known, and is
// decided on them after.
func TestDeferredBeforeSync(t *testing.T) {
	cfg := "admission: {mode: off, checks: {network-policy-coverage: enforce}}\n"
	body := reviewOf(t, admissionv1.Create, jsonOf(t, insecure), nil)
	if resp := review(t, handler(t, cfg, StaticFacts{}), false, body); !resp.Allowed || len(resp.Warnings) != 1 {
		t.Errorf("before sync: allowed %v, warnings %q", resp.Allowed, resp.Warnings)
	}
	if resp := review(t, handler(t, cfg, StaticFacts{Synced: true}), false, body); resp.Allowed {
		t.Error("after sync, without a policy: allowed")
	}
	// The cluster's facts: a default-deny policy in the namespace.
	idx := check.NewIndex("")
	e := scan.New(scan.Options{Registry: checks.Registry()})
	objs, _, _ := source.Parse(source.Document{File: "np", Data: []byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n")})
	e.Keep(objs[0], idx.AddKept)
	if resp := review(t, handler(t, cfg, StaticFacts{Set: idx, Synced: true}), false, body); !resp.Allowed {
		t.Errorf("after sync, with a default-deny policy: %v", resp.Result.Message)
	}
}

// TestMutate: the patch applies the opted-in fixes only, applies cleanly,
// and the result scans clean for those checks; suppressed checks and
// UPDATEs are not mutated.
func TestMutate(t *testing.T) {
	mutated := []string{"seccomp-profile", "allow-privilege-escalation", "read-only-root-filesystem", "capabilities-drop-all"}
	h := handler(t, "admission:\n  mutate: ["+strings.Join(mutated, ", ")+"]\n", nil)
	orig := jsonOf(t, strings.Replace(insecure, "securityContext: {privileged: true}", "securityContext: {}", 1))
	resp := review(t, h, true, reviewOf(t, admissionv1.Create, orig, nil))
	if !resp.Allowed || len(resp.Patch) == 0 || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("no patch: %+v", resp)
	}
	p, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("patch %s: %v", resp.Patch, err)
	}
	out, err := p.Apply(orig)
	if err != nil {
		t.Fatalf("applying %s: %v", resp.Patch, err)
	}
	left := map[string]bool{}
	for _, f := range scanFindings(t, out) {
		left[f.Check] = true
	}
	before := map[string]bool{}
	for _, f := range scanFindings(t, orig) {
		before[f.Check] = true
	}
	for _, id := range mutated {
		if !before[id] || left[id] {
			t.Errorf("%s: found before %v, after %v", id, before[id], left[id])
		}
	}
	if !left["image-digest"] {
		t.Error("a check not opted in was fixed")
	}
	sup := strings.Replace(string(orig), `"name":"web"`, `"name":"web","annotations":{"ignore.kubeharden.io/seccomp-profile":"profile set by the node"}`, 1)
	resp = review(t, h, true, reviewOf(t, admissionv1.Create, []byte(sup), nil))
	if strings.Contains(string(resp.Patch), "seccomp") {
		t.Errorf("suppressed check mutated: %s", resp.Patch)
	}
	if resp = review(t, h, true, reviewOf(t, admissionv1.Update, orig, orig)); len(resp.Patch) > 0 {
		t.Errorf("UPDATE mutated: %s", resp.Patch)
	}
}

// TestHostile: input that is not an AdmissionReview gets an HTTP error,
// never a panic or an allowed verdict on garbage.
func TestHostile(t *testing.T) {
	h := handler(t, "admission: {mode: enforce}\n", nil)
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	deepObj := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "}"
	for name, body := range map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("\x00\xff not json"),
		"array":          []byte("[1,2,3]"),
		"wrong kind":     []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}}`),
		"v1beta1":        []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u"}}`),
		"no request":     []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
		"deep review":    []byte(deep),
		"deep object":    []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":` + deepObj + `}}`),
		"object string":  []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":"x"}}`),
		"object list":    []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":[1]}}`),
		"oversize":       bytes.Repeat([]byte(" "), MaxBodyBytes+1),
		"not an object":  []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"a":1}}}`),
		"bad containers": []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":7}}}}`),
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
			if rec.Code == http.StatusOK {
				var out admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || out.Response.UID != "u" {
					t.Fatalf("200 without a response for the request: %s", rec.Body)
				}
				return
			}
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/validate", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}

// TestConcurrentReviews: one handler answers many reviews at once (run
// with -race), each the same as alone.
func TestConcurrentReviews(t *testing.T) {
	h := handler(t, "admission:\n  mode: warn\n  severity: {critical: enforce}\n  mutate: [seccomp-profile]\n", nil)
	body := reviewOf(t, admissionv1.Create, jsonOf(t, insecure), nil)
	want, _ := json.Marshal(review(t, h, false, body))
	wantPatch := review(t, h, true, body).Patch
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				out, err := h.Review(false, body)
				if got, _ := json.Marshal(out.Response); err != nil || !bytes.Equal(got, want) {
					t.Errorf("concurrent review differs: %s, %v", got, err)
					return
				}
				out, err = h.Review(true, body)
				if err != nil || !bytes.Equal(out.Response.Patch, wantPatch) {
					t.Errorf("concurrent patch differs: %s, %v", out.Response.Patch, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
