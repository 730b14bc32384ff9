package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cli"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/source/helm"
	"github.com/kubeharden/kubeharden/internal/testenv"
	"github.com/kubeharden/kubeharden/internal/webhook"
)

var update = flag.Bool("update", false, "rewrite deploy/manifests and the chart's audit role from the chart and the CLI")

// root is the repository root, from this package's directory.
var root = filepath.Join("..", "..")

func chart() string { return filepath.Join(root, ChartDir) }

// objects decodes the documents of a rendering, skipping empty ones.
func objects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range regexp.MustCompile(`(?m)^---\n`).Split(string(data), -1) {
		j, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		if string(j) == "null" {
			continue
		}
		// Decoded as the API machinery decodes: integers are int64.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		out = append(out, u)
	}
	return out
}

func render(t *testing.T, opts helm.Options) []*unstructured.Unstructured {
	t.Helper()
	out, err := Render(context.Background(), chart(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return objects(t, out)
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	t.Fatalf("no %s %s in the rendering", kind, name)
	return nil
}

func run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestManifestsUpToDate: deploy/manifests is the chart rendered with its
// defaults (go test -update, or make deploy-manifests, rewrites it).
func TestManifestsUpToDate(t *testing.T) {
	got, err := Manifests(context.Background(), chart())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, ManifestsFile)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s drifted from the chart (make deploy-manifests):\n%s", ManifestsFile, fix.UnifiedDiff(ManifestsFile, "rendered", string(want), string(got)))
	}
}

// suppressed are the only findings deploy/ may suppress, each with its
// reason in an annotation: the tokens the webhook and the audit need to
// read the cluster, the Secrets the audit's role cannot help listing, and
// the webhook's port open to the API server, whose address is unknown.
var suppressed = []string{
	"automount-service-account-token CronJob *-audit",
	"automount-service-account-token Deployment *",
	"cross-namespace-ingress NetworkPolicy *",
	"rbac-dangerous-permissions ClusterRole *-audit",
}

// scanClean scans paths, with extra flags first, and wants no finding at
// any severity and no suppression but those of suppressed.
func scanClean(t *testing.T, extra []string, paths ...string) {
	t.Helper()
	args := append(append([]string{"scan", "-o", "json", "--fail-on", "info"}, extra...), paths...)
	out, errOut, code := run(args...)
	var doc struct {
		Findings   []json.RawMessage
		Suppressed []struct {
			Check  string
			Object struct{ Kind, Name string }
		}
		Summary struct{ Objects int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s\n%s", err, out, errOut)
	}
	if code != cli.ExitOK || len(doc.Findings) > 0 {
		t.Errorf("scan %v: exit %d, %d findings:\n%s\n%s", args, code, len(doc.Findings), out, errOut)
	}
	for _, s := range doc.Suppressed {
		ok := false
		for _, want := range suppressed {
			f := strings.Fields(want)
			name := strings.TrimPrefix(f[2], "*")
			ok = ok || f[0] == s.Check && f[1] == s.Object.Kind && strings.HasSuffix(s.Object.Name, name)
		}
		if !ok {
			t.Errorf("scan %v: %s on %s %s is suppressed, which the test does not allow", args, s.Check, s.Object.Kind, s.Object.Name)
		}
	}
}

// TestScanDeploy: `kubeharden scan deploy/` (the chart with its default
// values, the plain manifests) reports nothing, nor do the chart's other
// profiles: fail-closed, cert-manager, the webhook's ingress narrowed.
func TestScanDeploy(t *testing.T) {
	deploy := filepath.Join(root, "deploy")
	scanClean(t, nil, deploy)
	scanClean(t, nil, filepath.Join(root, ManifestsFile))
	scanClean(t, []string{"-f", filepath.Join(chart(), "values-fail-closed.yaml")}, chart())
	scanClean(t, []string{"--release-name", "kubeharden", "-n", "kubeharden", "--set", "tls.certManager.enabled=true",
		"--set", "networkPolicy.webhookIngressFrom[0].ipBlock.cidr=10.0.0.0/24"}, chart())
	scanClean(t, []string{"--set", "tls.certManager.enabled=true", "--set", "tls.certManager.issuerRef.name=corp-ca",
		"--set", "tls.certManager.issuerRef.kind=ClusterIssuer", "--set", "audit.enabled=false"}, chart())
}

// TestWebhookSafeByConstruction: the registrations fail open by default
// and closed in the documented profile, answer within 3 s, never send
// kube-system, kube-node-lease or the release's namespace, and the
// webhook runs 2 replicas spread over nodes under a PodDisruptionBudget,
// with a role that reads the facts kinds and nothing else.
func TestWebhookSafeByConstruction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   helm.Options
		policy string
	}{
		{"default", ManifestOptions(), "Ignore"},
		{"fail-closed", helm.Options{ReleaseName: "kh", Namespace: "security", ValueFiles: []string{filepath.Join(chart(), "values-fail-closed.yaml")}}, "Fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.opts)
			for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
				wh, _, _ := unstructured.NestedSlice(find(t, objs, kind, "").Object, "webhooks")
				if len(wh) != 1 {
					t.Fatalf("%s: %d webhooks", kind, len(wh))
				}
				w := wh[0].(map[string]any)
				sel, _ := json.Marshal(w["namespaceSelector"])
				want := `{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-node-lease","` + tc.opts.Namespace + `"]}]}`
				if w["failurePolicy"] != tc.policy || w["timeoutSeconds"] != int64(3) || w["sideEffects"] != "None" || string(sel) != want || w["matchPolicy"] != "Equivalent" {
					t.Errorf("%s: failurePolicy %v timeoutSeconds %v sideEffects %v matchPolicy %v namespaceSelector %s", kind, w["failurePolicy"], w["timeoutSeconds"], w["sideEffects"], w["matchPolicy"], sel)
				}
			}
			d := find(t, objs, "Deployment", "")
			replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			anti, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
			pdb, _, _ := unstructured.NestedInt64(find(t, objs, "PodDisruptionBudget", "").Object, "spec", "minAvailable")
			if replicas != 2 || len(anti) != 1 || pdb != 1 {
				t.Errorf("replicas %d, anti-affinity %v, PodDisruptionBudget minAvailable %d", replicas, anti, pdb)
			}
			image, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			if ref := image[0].(map[string]any)["image"].(string); !regexp.MustCompile(`:[0-9.]+@sha256:[0-9a-f]{64}$`).MatchString(ref) {
				t.Errorf("image %q is not pinned by tag and digest", ref)
			}
			role := find(t, objs, "ClusterRole", strings.TrimSuffix(d.GetName(), "")+"-webhook")
			rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
			var resources []string
			for _, r := range rules {
				r := r.(map[string]any)
				verbs, _ := json.Marshal(r["verbs"])
				if string(verbs) != `["get","list","watch"]` {
					t.Errorf("webhook role grants %s", verbs)
				}
				for _, res := range r["resources"].([]any) {
					resources = append(resources, res.(string))
				}
			}
			slices.Sort(resources)
			// Exactly what the webhook's informers watch.
			var want []string
			for _, k := range webhook.FactKinds {
				r := strings.ToLower(k)
				if strings.HasSuffix(r, "y") {
					r = strings.TrimSuffix(r, "y") + "ie"
				}
				want = append(want, r+"s")
			}
			slices.Sort(want)
			if got := strings.Join(resources, " "); got != strings.Join(want, " ") {
				t.Errorf("webhook role reads %s, the webhook watches %s", got, want)
			}
		})
	}
	if _, err := Render(context.Background(), chart(), helm.Options{Set: []string{"webhook.timeoutSeconds=10"}}); err == nil || !strings.Contains(err.Error(), "at most 3") {
		t.Errorf("timeoutSeconds 10 rendered: %v", err)
	}
	if _, err := Render(context.Background(), chart(), helm.Options{Set: []string{"webhook.failurePolicy=Maybe"}}); err == nil {
		t.Errorf("failurePolicy Maybe rendered")
	}
}

// TestWebhookConfigValid: the configuration the chart mounts is a valid
// .kubeharden.yaml for the configuration schema of this build.
func TestWebhookConfigValid(t *testing.T) {
	cm := find(t, render(t, ManifestOptions()), "ConfigMap", "kubeharden-config")
	data, _, _ := unstructured.NestedString(cm.Object, "data", ".kubeharden.yaml")
	known := func(id string) bool { return checks.Registry().Get(id) != nil }
	if _, err := config.Parse(".kubeharden.yaml", []byte(data), known); err != nil {
		t.Error(err)
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestAuditIsTheDocumented: the chart's audit role is what `kubeharden
// cluster --print-rbac --write-reports` prints (files/ holds it verbatim;
// -update rewrites it), and its CronJob and ServiceAccount are those of
// docs/cluster.md, but for the image and the chart's labels.
func TestAuditIsTheDocumented(t *testing.T) {
	printed, errOut, code := run("cluster", "--print-rbac", "--write-reports")
	if code != cli.ExitOK {
		t.Fatalf("--print-rbac: exit %d: %s", code, errOut)
	}
	path := filepath.Join(chart(), "files", "audit-clusterrole.yaml")
	if *update {
		if err := os.WriteFile(path, []byte(printed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != printed {
		t.Errorf("%s is not what --print-rbac --write-reports prints (go test ./internal/deploy -update):\n%s", path, fix.UnifiedDiff(path, "--print-rbac", string(file), printed))
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "cluster.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks in docs/cluster.md, want the role and the CronJob", len(blocks))
	}
	docObjs := append(objects(t, []byte(blocks[0][1])), objects(t, []byte(blocks[1][1]))...)
	chartObjs := render(t, ManifestOptions())

	docRole, role := find(t, docObjs, "ClusterRole", "kubeharden-audit"), find(t, chartObjs, "ClusterRole", "kubeharden-audit")
	if !reflect.DeepEqual(docRole.Object["rules"], role.Object["rules"]) || !reflect.DeepEqual(docRole.GetAnnotations(), role.GetAnnotations()) {
		t.Errorf("the chart's audit role differs from docs/cluster.md's")
	}
	docJob, job := find(t, docObjs, "CronJob", "kubeharden-audit"), find(t, chartObjs, "CronJob", "kubeharden-audit")
	for _, o := range []*unstructured.Unstructured{docJob, job} {
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "jobTemplate", "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["image"] = "IMAGE"
		_ = unstructured.SetNestedSlice(o.Object, containers, "spec", "jobTemplate", "spec", "template", "spec", "containers")
	}
	if a, b := mustJSON(t, docJob.Object["spec"]), mustJSON(t, job.Object["spec"]); a != b {
		t.Errorf("the chart's CronJob spec differs from docs/cluster.md's:\n%s", fix.UnifiedDiff("docs/cluster.md", "chart", a, b))
	}
	if !reflect.DeepEqual(docJob.GetAnnotations(), job.GetAnnotations()) {
		t.Errorf("CronJob annotations: docs %v, chart %v", docJob.GetAnnotations(), job.GetAnnotations())
	}
	docSA, sa := find(t, docObjs, "ServiceAccount", "kubeharden-audit"), find(t, chartObjs, "ServiceAccount", "kubeharden-audit")
	if docSA.Object["automountServiceAccountToken"] != sa.Object["automountServiceAccountToken"] {
		t.Errorf("audit ServiceAccount automount differs from docs/cluster.md's")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestAPIServerAccepts: a real kube-apiserver accepts every object of the
// plain manifests (the Namespace created, the rest with dryRun=All:
// webhook registrations, PodDisruptionBudget, CronJob, NetworkPolicies,
// RBAC), with no warning, Pod Security restricted enforced and warned on
// the namespace.
func TestAPIServerAccepts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ManifestsFile))
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, data)
	env := testenv.Start(t)
	cfg := rest.CopyConfig(env.Config)
	w := &testenv.Warnings{}
	cfg.WarningHandler = w
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kinds := map[string]bool{}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatal(err)
		}
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
		if gvk.Kind == "Namespace" {
			opts.DryRun = nil
		}
		if _, err := client.Resource(m.Resource).Namespace(u.GetNamespace()).Create(ctx, u, opts); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("%s %s: %v", gvk.Kind, u.GetName(), err)
		}
		kinds[gvk.Kind] = true
	}
	for _, k := range []string{"Namespace", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding",
		"NetworkPolicy", "CronJob", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		if !kinds[k] {
			t.Errorf("no %s in the manifests", k)
		}
	}
	ns, err := env.Client.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Labels["pod-security.kubernetes.io/warn"] != "restricted" {
		t.Errorf("namespace: %v %v", ns, err)
	}
	if len(w.List()) > 0 {
		t.Errorf("warnings: %q", w.List())
	}
}

// The policies in deploy/policies are what `kubeharden generate
// admission-policy` writes, validating and mutating (go test -update, or
// make deploy-manifests, rewrites them).
func TestPoliciesUpToDate(t *testing.T) {
	for file, args := range map[string][]string{
		"kubeharden-policies.yaml":               {"generate", "admission-policy"},
		"kubeharden-policies-with-mutation.yaml": {"generate", "admission-policy", "--mutate"},
	} {
		got, errOut, code := run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		path := filepath.Join(root, "deploy", "policies", file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s drifted from kubeharden %v (make deploy-manifests):\n%s", path, args, fix.UnifiedDiff(path, "generated", string(want), got))
		}
	}
}
