package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

var equivalenceSeed = flag.Uint64("equivalence.seed", 1, "seed of the objects TestScanClusterEquivalence generates; 0 picks one (logged)")

// TestScanClusterEquivalence is the property of issue 11: the same objects
// give the same findings from `scan` (as files) and from `cluster`
// (created in the API server). The objects are generated at random (seeded)
// and taken from the real-world corpus; each is created in a real API
// server, and the controllers a bare API server lacks are played by the
// test: every Deployment, StatefulSet, DaemonSet, CronJob and Job gets the
// ReplicaSets, Jobs and Pods its controller would create, owner references
// set.
//
// Three scans of the same objects are compared, findings as sets of (check,
// object kind/namespace/name, field path, severity, message, suppression),
// file and line ignored:
//
//   - cluster: the audit, cluster.Source into the engine, as `kubeharden
//     cluster` runs it (every namespace, a small page size so that every
//     kind takes several pages).
//   - stored: the objects as the API server stored them (its create
//     response, managedFields dropped, as the audit drops them), written
//     to YAML files and scanned as `kubeharden scan DIR` scans them.
//   - original: the objects as written, before the server defaulted them.
//
// Both file scans also hold the objects the server had before the test
// created any (its built-in namespaces, ClusterRoles, bindings...), as
// stored: the audit sees them, and the cross-object checks (RBAC roles,
// service accounts, network policies) read them. Neither holds the
// controlled children, which the audit must skip: their findings belong on
// the owner.
//
// Proved: cluster == stored exactly, and cluster == original up to the
// nearest-existing-parent path of a finding for a missing field (the
// server defaults empty parents such as the Pod's securityContext into
// existence, and a finding for a field missing under them points at them);
// see sameModuloDefaults. namespace-default-deny reports once per namespace
// at the first workload in input order, which is the order of the source
// (kind by kind in the cluster, file by file in a scan): its findings are
// compared by namespace, not by the object they are anchored on.
func TestScanClusterEquivalence(t *testing.T) {
	seed := *equivalenceSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -equivalence.seed=%d)", seed, seed)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	env := testenv.Start(t)
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = rest.NoWarnings{} // deprecated AppArmor annotations are generated on purpose
	dyn := dynamic.NewForConfigOrDie(cfg)
	// The server creates its own objects after it answers: the audit sees
	// them, so the file scans must hold them too.
	testenv.Eventually(t, func(ctx context.Context) error {
		if _, err := env.Client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err != nil {
			return err
		}
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, "kube-node-lease", metav1.GetOptions{})
		return err
	})
	baseline := listAll(ctx, t, dyn)

	objs := generate(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
	generated := len(objs)
	objs = append(objs, corpusObjects(t)...)
	created := createAll(ctx, t, dyn, objs, generated)
	nChildren := createChildren(ctx, t, dyn, created)
	t.Logf("%d objects created (%d generated, %d from the corpus), %d controlled children, %d built in",
		len(created), generated, len(created)-countGenerated(created), nChildren, len(baseline))

	dir := t.TempDir()
	var stored, original []map[string]any
	for _, c := range created {
		if !audited(c.stored) {
			continue
		}
		stored = append(stored, c.stored)
		original = append(original, c.original)
	}
	storedDir := writeObjects(t, filepath.Join(dir, "stored"), append(slices.Clone(baseline), stored...))
	originalDir := writeObjects(t, filepath.Join(dir, "original"), append(slices.Clone(baseline), original...))

	info, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	v, err := k8sversion.Parse(info.GitVersion)
	if err != nil {
		t.Fatal(err)
	}
	// As `kubeharden cluster` does: the server's version judges deprecated
	// APIs, on both sides.
	opts := func() scan.Options {
		cfg := config.Default()
		cfg.Parameters.KubernetesVersion = v.String()
		return scan.Options{Registry: checks.Registry(), Policy: policy.New(cfg, checks.Registry(), time.Time{})}
	}

	src, err := cluster.New(env.Config, cluster.Options{Name: "equivalence", PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	inCluster := scan.Run(ctx, src.Items(ctx), opts())
	asStored := scan.Run(ctx, source.Walk(ctx, []string{storedDir}, source.Options{}), opts())
	asWritten := scan.Run(ctx, source.Walk(ctx, []string{originalDir}, source.Options{}), opts())
	for name, res := range map[string]*scan.Result{"cluster": inCluster, "stored": asStored, "original": asWritten} {
		for _, e := range res.Errors {
			t.Errorf("%s: input error: %v", name, e)
		}
	}
	if want := len(baseline) + len(stored); inCluster.Objects != want || asStored.Objects != want || asWritten.Objects != want {
		t.Errorf("objects scanned: cluster %d, stored %d, original %d; want %d each (controlled children skipped)",
			inCluster.Objects, asStored.Objects, asWritten.Objects, want)
	}

	cl := keys(inCluster)
	if len(cl) == 0 {
		t.Fatal("the audit found nothing: the property would hold vacuously")
	}
	t.Logf("%d findings (suppressed included) in the cluster", len(cl))
	if diff := setDiff(cl, keys(asStored)); diff != "" {
		t.Errorf("the audit and the scan of the objects as stored differ:\n%s", diff)
	}
	diff, parents, known := sameModuloDefaults(cl, keys(asWritten))
	if diff != "" {
		t.Errorf("the audit and the scan of the objects as written differ (beyond the paths of defaulted parents):\n%s", diff)
	}
	t.Logf("objects as written: %d findings point at a parent the server defaulted into existence", parents)
	for _, k := range knownDifferences {
		t.Logf("known difference of %s seen %d times (%s)", k.check, known[k.check+": "+k.message], k.reason)
	}
}

// audited tells whether the audit lists an object: it lists the kinds of
// cluster.Kinds, Secrets only of the service account token type (it never
// reads the data of the others). The file scans hold the objects it lists.
func audited(o map[string]any) bool {
	return o["kind"] != "Secret" || o["type"] == "kubernetes.io/service-account-token"
}

// knownDifferences are the findings that differ between the objects as
// written and as the server stores them, because the server rewrites a
// field the check reads. Each is a leftover finding of one side
// (onCluster) whose message contains message; it is set aside with the
// other side's finding of the same check on the same object, if any. The
// API server copies a Pod's AppArmor annotations into
// securityContext.appArmorProfile on create, and Pod Security's own
// message then names both; apparmor-profile itself reports the annotation
// when the two agree, and the defaults Pod Security sees (volume sources,
// host ports under hostNetwork) are applied to files too (pssDefaults).
var knownDifferences = []struct {
	check, message string
	onCluster      bool
	reason         string
}{
	{
		check: "pss-baseline", message: `and annotation must not set AppArmor profile`, onCluster: true,
		reason: "as apparmor-profile: the Pod's AppArmor annotation copied into the field",
	},
	{
		check: "pss-restricted", message: `and annotation must not set AppArmor profile`, onCluster: true,
		reason: "as apparmor-profile: the Pod's AppArmor annotation copied into the field",
	},
}

// findingKey is what the comparison sees of a finding: everything but its
// place in a file.
type findingKey struct {
	Check, Kind, Namespace, Name, Path, Severity, Message, Suppression string
}

func (k findingKey) String() string {
	s := fmt.Sprintf("%s %s %s/%s/%s %s: %s", k.Severity, k.Check, k.Kind, k.Namespace, k.Name, k.Path, k.Message)
	if k.Suppression != "" {
		s += " (suppressed: " + k.Suppression + ")"
	}
	return s
}

// anchoredFirst are checks that report once per namespace, on the first
// object of the namespace in input order, which depends on the source.
var anchoredFirst = map[string]bool{"namespace-default-deny": true}

func keys(res *scan.Result) map[findingKey]int {
	out := map[findingKey]int{}
	add := func(f check.Finding, suppressed string) {
		k := findingKey{Check: f.Check, Path: f.Path, Severity: f.Severity.String(), Message: f.Message, Suppression: suppressed}
		if f.Object != nil {
			k.Kind, k.Namespace, k.Name = f.Object.Kind, f.Object.Namespace, f.Object.Name
		}
		if anchoredFirst[f.Check] {
			k.Kind, k.Name, k.Path = "(first workload)", "", ""
		}
		out[k]++
	}
	for _, f := range res.Findings {
		add(f, "")
	}
	for _, f := range res.Suppressed {
		add(f, f.Suppression().Kind+": "+f.Suppression().Reason)
	}
	return out
}

// setDiff describes the findings a and b do not share (as multisets).
func setDiff(a, b map[findingKey]int) string {
	var onlyA, onlyB []string
	for k, n := range a {
		for range n - b[k] {
			onlyA = append(onlyA, k.String())
		}
	}
	for k, n := range b {
		for range n - a[k] {
			onlyB = append(onlyB, k.String())
		}
	}
	return describe(onlyA, onlyB)
}

func describe(onlyCluster, onlyScan []string) string {
	if len(onlyCluster)+len(onlyScan) == 0 {
		return ""
	}
	slices.Sort(onlyCluster)
	slices.Sort(onlyScan)
	var b strings.Builder
	fmt.Fprintf(&b, "only from the cluster (%d):\n", len(onlyCluster))
	for _, s := range onlyCluster {
		fmt.Fprintf(&b, "  + %s\n", s)
	}
	fmt.Fprintf(&b, "only from the files (%d):\n", len(onlyScan))
	for _, s := range onlyScan {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	return b.String()
}

// sameModuloDefaults is setDiff, except that a finding of the cluster and
// one of the files that differ only in their path are the same finding
// when one path is a prefix of the other: the finding is for a missing
// field, and it points at the nearest parent that exists, which the
// server's defaulting may have created (spec.securityContext: {}).
//
// The findings of knownDifferences are set aside and counted by check in
// known; parents counts the findings paired by their paths.
func sameModuloDefaults(cl, files map[findingKey]int) (diff string, parents int, known map[string]int) {
	a, b := maps.Clone(cl), maps.Clone(files)
	for k := range a {
		n := min(a[k], b[k])
		a[k] -= n
		b[k] -= n
	}
	for ka, na := range a {
		for kb, nb := range b {
			if na == 0 {
				break
			}
			if nb == 0 || !samePathModuloParent(ka, kb) {
				continue
			}
			n := min(na, nb)
			na -= n
			b[kb] -= n
			parents += n
		}
		a[ka] = na
	}
	known = map[string]int{}
	for _, kd := range knownDifferences {
		this, other := b, a
		if kd.onCluster {
			this, other = a, b
		}
		for k, n := range this {
			if n == 0 || k.Check != kd.check || !strings.Contains(k.Message, kd.message) {
				continue
			}
			known[kd.check+": "+kd.message] += n
			this[k] = 0
			for ko, no := range other {
				if no > 0 && ko.Check == k.Check && ko.Kind == k.Kind && ko.Namespace == k.Namespace && ko.Name == k.Name {
					other[ko] = no - min(no, n)
					break
				}
			}
		}
	}
	var onlyA, onlyB []string
	for k, n := range a {
		for range n {
			onlyA = append(onlyA, k.String())
		}
	}
	for k, n := range b {
		for range n {
			onlyB = append(onlyB, k.String())
		}
	}
	return describe(onlyA, onlyB), parents, known
}

func samePathModuloParent(a, b findingKey) bool {
	pa, pb := a.Path, b.Path
	a.Path, b.Path = "", ""
	return a == b && samePath(pa, pb)
}

// samePath tells whether one path is the other or a parent of it.
func samePath(pa, pb string) bool {
	if pa == pb {
		return true
	}
	if len(pa) < len(pb) {
		pa, pb = pb, pa
	}
	return pb == "" || strings.HasPrefix(pa, pb) && (pa[len(pb)] == '.' || pa[len(pb)] == '[')
}

// kinds maps the kinds the audit lists to their resources.
func kinds() map[string]cluster.Kind {
	out := map[string]cluster.Kind{}
	for _, k := range cluster.Kinds() {
		out[k.Kind] = k
	}
	return out
}

// listAll lists every object of the kinds the audit lists (Secrets: the
// token Secrets it lists), managedFields dropped, kind and apiVersion set.
func listAll(ctx context.Context, t testing.TB, dyn dynamic.Interface) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, k := range cluster.Kinds() {
		lo := metav1.ListOptions{}
		if k.Kind == "Secret" {
			lo.FieldSelector = fields.OneTermEqualSelector("type", "kubernetes.io/service-account-token").String()
		}
		list, err := dyn.Resource(k.Resource).List(ctx, lo)
		if err != nil {
			t.Fatalf("listing %s: %v", k.Kind, err)
		}
		for _, u := range list.Items {
			out = append(out, asStored(k, &u))
		}
	}
	return out
}

func asStored(k cluster.Kind, u *unstructured.Unstructured) map[string]any {
	u.SetManagedFields(nil)
	u.SetAPIVersion(k.Resource.GroupVersion().String())
	u.SetKind(k.Kind)
	return u.Object
}

// createdObject is an object the server accepted, as written and as stored.
type createdObject struct {
	original, stored map[string]any
	generated        bool
}

func countGenerated(c []createdObject) int {
	n := 0
	for _, o := range c {
		if o.generated {
			n++
		}
	}
	return n
}

// createAll creates objs, Namespaces then ServiceAccounts then the rest
// (the ServiceAccount admission plugin refuses a Pod whose account does not
// exist), and returns those the server accepted. The first generated
// objects must all be accepted: a refusal is a bug of the generator; a
// corpus object the server refuses, or one already created under its name
// (the corpus repeats objects across variants), is left out of every scan.
func createAll(ctx context.Context, t testing.TB, dyn dynamic.Interface, objs []map[string]any, generated int) []createdObject {
	t.Helper()
	ks := kinds()
	rank := func(o map[string]any) int {
		switch o["kind"] {
		case "Namespace":
			return 0
		case "ServiceAccount":
			return 1
		}
		return 2
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return rank(objs[a]) - rank(objs[b]) })
	var out []createdObject
	refused := 0
	for _, i := range idx {
		o := objs[i]
		k := ks[o["kind"].(string)]
		u := &unstructured.Unstructured{Object: runtimeCopy(o)}
		var ri dynamic.ResourceInterface = dyn.Resource(k.Resource)
		if k.Namespaced {
			ri = dyn.Resource(k.Resource).Namespace(u.GetNamespace())
		}
		got, err := ri.Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			if i < generated {
				t.Fatalf("the server refused generated %s %s/%s: %v", k.Kind, u.GetNamespace(), u.GetName(), err)
			}
			if !apierrors.IsAlreadyExists(err) {
				refused++
				t.Logf("corpus: refused %s %s/%s: %v", k.Kind, u.GetNamespace(), u.GetName(), err)
			}
			continue
		}
		out = append(out, createdObject{original: o, stored: asStored(k, got), generated: i < generated})
	}
	t.Logf("corpus: %d objects refused by the server", refused)
	return out
}

// runtimeCopy deep-copies a JSON object.
func runtimeCopy(o map[string]any) map[string]any {
	return runtimeValue(o).(map[string]any)
}

func runtimeValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = runtimeValue(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = runtimeValue(x)
		}
		return s
	}
	return v
}

// createChildren plays the controllers a bare API server lacks: each
// workload gets the objects its controller would create from its template,
// owned by it (controller: true). It returns how many it created.
func createChildren(ctx context.Context, t testing.TB, dyn dynamic.Interface, created []createdObject) int {
	t.Helper()
	ks := kinds()
	n, failed := 0, 0
	defer func() { t.Logf("children: %d refused", failed) }()
	create := func(kind string, owner *unstructured.Unstructured, name string, spec map[string]any, meta map[string]any) *unstructured.Unstructured {
		k := ks[kind]
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": k.Resource.GroupVersion().String(), "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": owner.GetNamespace()},
			"spec":     runtimeValue(spec),
		}}
		if l, ok := meta["labels"].(map[string]any); ok {
			u.Object["metadata"].(map[string]any)["labels"] = runtimeValue(l)
		}
		if a, ok := meta["annotations"].(map[string]any); ok {
			u.Object["metadata"].(map[string]any)["annotations"] = runtimeValue(a)
		}
		ctrl := true
		u.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(), Controller: &ctrl,
		}})
		got, err := dyn.Resource(k.Resource).Namespace(owner.GetNamespace()).Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			// The server refuses a child of a corpus workload whose
			// template is incomplete (a volume claim template's volume)
			// as a controller would see it refused.
			failed++
			if failed == 1 {
				t.Logf("children: %s %s/%s refused: %v", kind, owner.GetNamespace(), name, err)
			}
			return nil
		}
		n++
		return got
	}
	pods := func(owner *unstructured.Unstructured, tmpl map[string]any, count int) {
		if owner == nil {
			return
		}
		meta, _ := tmpl["metadata"].(map[string]any)
		spec, _ := tmpl["spec"].(map[string]any)
		for i := range count {
			create("Pod", owner, fmt.Sprintf("%s-%d", owner.GetName(), i), spec, meta)
		}
	}
	for _, c := range created {
		owner := &unstructured.Unstructured{Object: c.stored}
		spec, _ := c.stored["spec"].(map[string]any)
		tmpl, _ := spec["template"].(map[string]any)
		switch owner.GetKind() {
		case "Deployment":
			rs := create("ReplicaSet", owner, owner.GetName()+"-5d8f7", map[string]any{
				"replicas": int64(2), "selector": spec["selector"], "template": tmpl,
			}, tmpl["metadata"].(map[string]any))
			pods(rs, tmpl, 2)
		case "StatefulSet", "DaemonSet":
			pods(owner, tmpl, 1)
		case "CronJob":
			jt, _ := spec["jobTemplate"].(map[string]any)
			jspec, _ := jt["spec"].(map[string]any)
			jmeta, _ := jt["metadata"].(map[string]any)
			job := create("Job", owner, owner.GetName()+"-29000000", jspec, jmeta)
			if job != nil {
				jtmpl, _ := job.Object["spec"].(map[string]any)["template"].(map[string]any)
				pods(job, jtmpl, 1)
			}
		case "Job":
			pods(owner, tmpl, 1)
		}
	}
	return n
}

// writeObjects writes each object to a YAML file of its own under dir.
func writeObjects(t testing.TB, dir string, objs []map[string]any) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.yaml", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// corpusObjects reads the real-world corpus ($KUBEHARDEN_CORPUS, else
// ../shared/corpus from the repository) and returns its objects of the
// kinds the audit lists, at the API versions it lists them. An object
// without a namespace is placed, as `kubectl apply -n` would place it, in a
// namespace of its directory (written into the object, so that the scan
// places it there too); a Namespace and its "default" ServiceAccount are
// added for every namespace the objects use.
func corpusObjects(t testing.TB) []map[string]any {
	t.Helper()
	root := os.Getenv("KUBEHARDEN_CORPUS")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	root = filepath.Join(root, "real")
	ks := kinds()
	var out []map[string]any
	seen := map[string]bool{}
	namespaces := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		project, _, _ := strings.Cut(rel, string(filepath.Separator))
		defaultNS := fmt.Sprintf("corpus-%s-%08x", project, crc32.ChecksumIEEE([]byte(rel)))
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var o map[string]any
			if err := dec.Decode(&o); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("corpus: %s: %v", path, err)
				}
				break
			}
			kind, _ := o["kind"].(string)
			k, ok := ks[kind]
			if !ok || o["apiVersion"] != k.Resource.GroupVersion().String() {
				continue
			}
			u := unstructured.Unstructured{Object: o}
			if u.GetName() == "" || strings.Contains(string(data), "{{") {
				continue
			}
			if k.Namespaced && u.GetNamespace() == "" {
				u.SetNamespace(defaultNS)
			}
			if !k.Namespaced {
				u.SetNamespace("")
			}
			if kind == "Namespace" {
				namespaces[u.GetName()] = true
			} else if k.Namespaced {
				namespaces[u.GetNamespace()] = namespaces[u.GetNamespace()] || false
			}
			id := kind + "/" + u.GetNamespace() + "/" + u.GetName()
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the corpus: %v", err)
	}
	if len(out) == 0 {
		t.Fatalf("no objects in the corpus at %s", root)
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		if !namespaces[ns] && !builtinNamespace(ns) {
			out = append(out, namespaceObject(ns, nil))
		}
		if !seen["ServiceAccount/"+ns+"/default"] && !builtinNamespace(ns) {
			out = append(out, serviceAccount(ns, "default", nil))
		}
	}
	return out
}

func builtinNamespace(ns string) bool {
	return slices.Contains([]string{"default", "kube-system", "kube-public", "kube-node-lease"}, ns)
}
