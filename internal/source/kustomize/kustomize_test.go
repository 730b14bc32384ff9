package kustomize

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// writeTree writes files (slash-separated paths) under a new directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t *testing.T, dir string, opts Options) []source.Document {
	t.Helper()
	docs, errs := Build(context.Background(), dir, opts)
	for _, e := range errs {
		t.Errorf("unexpected error: %v", e)
	}
	return docs
}

type id struct{ kind, name, namespace string }

func parse(t *testing.T, d source.Document) *object.Object {
	t.Helper()
	objs, errs, skipped := source.Parse(d)
	if len(errs) > 0 || len(objs) != 1 {
		t.Fatalf("%s: want one object, got %d (errors %v, skipped %q):\n%s", d.File, len(objs), errs, skipped, d.Data)
	}
	return objs[0]
}

func ids(t *testing.T, docs []source.Document) []id {
	var out []id
	for _, d := range docs {
		o := parse(t, d)
		out = append(out, id{o.Kind, o.Name, o.Namespace})
	}
	return out
}

func find(t *testing.T, docs []source.Document, kind string) source.Document {
	t.Helper()
	for _, d := range docs {
		if parse(t, d).Kind == kind {
			return d
		}
	}
	t.Fatalf("no %s built", kind)
	return source.Document{}
}

type want struct {
	path      string
	line, col int
}

func checkLocate(t *testing.T, d source.Document, wants []want) {
	t.Helper()
	for _, w := range wants {
		line, col, ok := d.Locate(w.path)
		if !ok || line != w.line || col != w.col {
			t.Errorf("%s: Locate(%q) = %d:%d %v, want %d:%d", d.File, w.path, line, col, ok, w.line, w.col)
		}
	}
}

func TestBuildOverlay(t *testing.T) {
	dir := filepath.Join("testdata", "overlays", "prod")
	docs := build(t, dir, Options{})

	// kustomize's legacy order: service accounts, config maps, services,
	// then workloads.
	wantIDs := []id{
		{"ServiceAccount", "prod-web", "shop-prod"},
		{"ConfigMap", "prod-web-config-hf678c7m2b", "shop-prod"},
		{"Service", "prod-web", "shop-prod"},
		{"Deployment", "prod-web", "shop-prod"},
	}
	if got := ids(t, docs); !reflect.DeepEqual(got, wantIDs) {
		t.Fatalf("objects:\n got %v\nwant %v", got, wantIDs)
	}
	base := filepath.Join("testdata", "base")
	wantFiles := []string{
		filepath.Join(base, "serviceaccount.yaml"),
		filepath.Join(dir, "kustomization.yaml"),
		filepath.Join(base, "service.yaml"),
		filepath.Join(base, "deployment.yaml"),
	}
	for i, d := range docs {
		if d.File != wantFiles[i] {
			t.Errorf("docs[%d].File = %q, want %q", i, d.File, wantFiles[i])
		}
		if d.Origin != "kustomize: built from "+dir {
			t.Errorf("docs[%d].Origin = %q", i, d.Origin)
		}
		if d.Index != i || d.LineOffset != 0 {
			t.Errorf("docs[%d]: Index %d LineOffset %d", i, d.Index, d.LineOffset)
		}
		// The origin annotation is gone, and so is the annotations field
		// it was alone in.
		if bytes.Contains(d.Data, []byte("config.kubernetes.io/origin")) || bytes.Contains(d.Data, []byte("annotations")) {
			t.Errorf("docs[%d] keeps the origin annotation:\n%s", i, d.Data)
		}
	}

	dep := find(t, docs, "Deployment")
	o := parse(t, dep)
	if !bytes.Contains(dep.Data, []byte("image: registry.example.com/shop/web:1.4.2")) ||
		!bytes.Contains(dep.Data, []byte("allowPrivilegeEscalation: false")) ||
		!bytes.Contains(dep.Data, []byte("replicas: 3")) ||
		!bytes.Contains(dep.Data, []byte("name: prod-web-config-hf678c7m2b")) {
		t.Errorf("deployment not patched as expected:\n%s", dep.Data)
	}
	checkLocate(t, dep, []want{
		{"", 3, 1},                   // the object: its first key
		{"metadata.name", 6, 3},      // prefixed, still its base line
		{"metadata.namespace", 5, 1}, // set by the overlay: metadata
		{"spec.replicas", 10, 3},     // replaced by the JSON patch
		{"spec.template.spec.containers[0].image", 22, 11}, // new tag, base line
		{"spec.template.spec.containers[0]", 21, 11},
		// Added by the strategic merge patch: the container.
		{"spec.template.spec.containers[0].securityContext", 21, 11},
		{"spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation", 21, 11},
		// A container the patch added: the containers field.
		{"spec.template.spec.containers[1]", 20, 7},
		{"spec.template.spec.containers[1].image", 20, 7},
		{"spec.template.spec.containers[0].volumeMounts[0].mountPath", 28, 15},
		{"spec.template.spec.containers[0].ports[0].containerPort", 25, 15},
		// Added by the JSON patch: the pod spec.
		{"spec.template.spec.automountServiceAccountToken", 18, 5},
		{"spec.template.spec.volumes[0].configMap.name", 32, 13},
		{"spec.template.spec.containers[7].image", 20, 7},
		{"spec.nosuchfield.below", 9, 1},
	})

	// Findings go through object.Pos, which asks Locate.
	line, col := o.Pos(object.Ref{Path: "spec.template.spec.containers[0].image"})
	if line != 22 || col != 11 {
		t.Errorf("Pos = %d:%d, want 22:11", line, col)
	}

	checkLocate(t, find(t, docs, "ServiceAccount"), []want{
		{"", 3, 1}, // after a leading --- and comment
		{"automountServiceAccountToken", 7, 1},
		{"metadata.labels", 5, 1}, // labels come from the base kustomization
	})
	checkLocate(t, find(t, docs, "Service"), []want{
		{"spec.ports[0].targetPort", 11, 7},
		{"spec.selector.app", 7, 5},
	})
	// A generated object points at its generator entry, whatever the path.
	checkLocate(t, find(t, docs, "ConfigMap"), []want{
		{"", 14, 5},
		{"data.LOG_LEVEL", 14, 5},
	})
}

func TestBuildBase(t *testing.T) {
	dir := filepath.Join("testdata", "base")
	docs := build(t, dir, Options{})
	wantIDs := []id{
		{"ServiceAccount", "web", ""},
		{"Service", "web", ""},
		{"Deployment", "web", ""},
	}
	if got := ids(t, docs); !reflect.DeepEqual(got, wantIDs) {
		t.Fatalf("objects:\n got %v\nwant %v", got, wantIDs)
	}
	dep := find(t, docs, "Deployment")
	if dep.File != filepath.Join(dir, "deployment.yaml") {
		t.Errorf("File = %q", dep.File)
	}
	checkLocate(t, dep, []want{
		{"spec.template.spec.containers[0].image", 22, 11},
		{"metadata.labels.app", 8, 5},
	})
}

func TestBuildDeterministic(t *testing.T) {
	dir := filepath.Join("testdata", "overlays", "prod")
	a := build(t, dir, Options{})
	b := build(t, dir, Options{})
	if len(a) != len(b) {
		t.Fatalf("%d documents, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].File != b[i].File || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("document %d differs between builds", i)
		}
	}
}

func TestBuildDoesNotWrite(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml": "resources:\n  - cm.yaml\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
	})
	before, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	build(t, dir, Options{})
	after, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if !bytes.Equal(before, after) {
		t.Errorf("kustomization.yaml changed on disk:\n%s", after)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("build left files behind: %v", entries)
	}
}

func errorsOf(t *testing.T, dir string, opts Options) []source.Error {
	t.Helper()
	docs, errs := Build(context.Background(), dir, opts)
	if len(docs) > 0 {
		t.Errorf("built %d documents despite errors %v", len(docs), errs)
	}
	if len(errs) == 0 {
		t.Fatal("no error")
	}
	return errs
}

func TestRemoteRefused(t *testing.T) {
	dir := filepath.Join("testdata", "remote")
	errs := errorsOf(t, dir, Options{})
	kfile := filepath.Join(dir, "kustomization.yaml")
	want := []source.Error{
		{File: kfile, Line: 5, Column: 5, Message: `remote base "github.com/example/shop//deploy/monitoring?ref=v1.2.0" not fetched: remote bases and resources are disabled`, Err: ErrRemoteDisabled},
		{File: kfile, Line: 6, Column: 5, Message: `remote resource "https://raw.githubusercontent.com/example/shop/v1.2.0/deploy/extra.yaml" not fetched: remote bases and resources are disabled`, Err: ErrRemoteDisabled},
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("errors:\n got %v\nwant %v", errs, want)
	}
}

func TestRemoteRefusedEverywhere(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/kustomization.yaml": `resources:
  - ../base
components:
  - git@gitlab.example.com:team/components.git//probes?ref=main
patches:
  - path: https://example.com/patch.yaml
configMapGenerator:
  - name: settings
    files:
      - app.conf=https://example.com/app.conf
    envs: [http://example.com/.env]
transformers:
  - |
    apiVersion: builtin
    kind: PatchTransformer
    metadata:
      name: remote
    path: https://example.com/patch.yaml
Crds:
  - HTTPS://example.com/crd.json
openapi:
  path: https://example.com/schema.json
`,
		"base/kustomization.yaml": "Resources:\n  - github.com/example/shop/deploy?ref=v1\n  - ssh://git@example.com/shop.git\n",
	})
	errs := errorsOf(t, filepath.Join(dir, "app"), Options{})
	type at struct {
		file string
		line int
	}
	var got []at
	for _, e := range errs {
		if !strings.Contains(e.Message, "not fetched: remote bases and resources are disabled") {
			t.Errorf("unexpected error %v", e)
		}
		rel, _ := filepath.Rel(dir, e.File)
		got = append(got, at{filepath.ToSlash(rel), e.Line})
	}
	want := []at{
		{"base/kustomization.yaml", 2},
		{"base/kustomization.yaml", 3},
		{"app/kustomization.yaml", 4},
		{"app/kustomization.yaml", 6},
		{"app/kustomization.yaml", 10},
		{"app/kustomization.yaml", 11},
		{"app/kustomization.yaml", 13},
		{"app/kustomization.yaml", 20},
		{"app/kustomization.yaml", 22},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("remote entries:\n got %v\nwant %v", got, want)
	}
}

func TestHelmChartsRefused(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml": "resources: []\nhelmCharts:\n  - name: redis\n    repo: https://charts.example.com\n",
	})
	errs := errorsOf(t, dir, Options{})
	want := []source.Error{{File: filepath.Join(dir, "kustomization.yaml"), Line: 2, Column: 1,
		Message: "helmCharts in kustomization is not supported; scan the chart directly"}}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("errors:\n got %v\nwant %v", errs, want)
	}
}

func TestBuildError(t *testing.T) {
	dir := filepath.Join("testdata", "broken")
	errs := errorsOf(t, dir, Options{})
	if len(errs) != 1 {
		t.Fatalf("errors: %v", errs)
	}
	e := errs[0]
	// The line of the entry that names the missing file.
	if e.File != filepath.Join(dir, "kustomization.yaml") || e.Line != 5 ||
		!strings.HasPrefix(e.Message, "kustomize build failed: ") || !strings.Contains(e.Message, "missing.yaml") {
		t.Errorf("error = %v", e)
	}
}

func TestBuildErrorNamesKustomization(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		dir   string
		file  string
		line  int
		msg   string
	}{{
		name:  "invalid YAML",
		files: map[string]string{"kustomization.yaml": "resources:\n  - a.yaml\nnamePrefix: [\n"},
		// The line where YAML found the error, as for manifests.
		file: "kustomization.yaml", line: 4, msg: "invalid kustomization: did not find expected node content",
	}, {
		name: "invalid YAML in a base",
		files: map[string]string{
			"app/kustomization.yaml":  "resources:\n  - ../base\n",
			"base/kustomization.yaml": "resources:\n\t- a.yaml\n",
		},
		dir: "app", file: "base/kustomization.yaml", line: 2, msg: "invalid kustomization: found character that cannot start any token",
	}, {
		name:  "unknown field",
		files: map[string]string{"kustomization.yaml": "resourcez:\n  - a.yaml\n"},
		file:  "kustomization.yaml", msg: "unknown field",
	}, {
		name: "unknown field in a base",
		files: map[string]string{
			"app/kustomization.yaml":  "resources:\n  - ../base\n",
			"base/kustomization.yaml": "resourcez:\n  - a.yaml\n",
		},
		dir: "app", file: "base/kustomization.yaml", msg: "unknown field",
	}, {
		name: "invalid resource",
		files: map[string]string{
			"kustomization.yaml": "resources:\n  - a.yaml\n",
			"a.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n",
		},
		file: "kustomization.yaml", line: 2, msg: "a.yaml",
	}, {
		name: "exec plugin",
		files: map[string]string{
			"kustomization.yaml": "resources:\n  - cm.yaml\ntransformers:\n  - fn.yaml\n",
			"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
			"fn.yaml": `apiVersion: example.com/v1
kind: Touch
metadata:
  name: touch
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: /bin/touch
`,
		},
		file: "kustomization.yaml", msg: "external plugins disabled",
	}, {
		name: "no kustomization in base",
		files: map[string]string{
			"app/kustomization.yaml": "resources:\n  - ../base\n",
			"base/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		},
		dir: "app", file: "app/kustomization.yaml", line: 2, msg: "base",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeTree(t, c.files)
			errs := errorsOf(t, filepath.Join(root, c.dir), Options{})
			if len(errs) != 1 {
				t.Fatalf("errors: %v", errs)
			}
			e := errs[0]
			if e.File != filepath.Join(root, c.file) || e.Line != c.line || !strings.Contains(e.Message, c.msg) {
				t.Errorf("error = %v\nwant %s:%d: ...%s...", e, c.file, c.line, c.msg)
			}
		})
	}
}

func TestNotAKustomization(t *testing.T) {
	dir := t.TempDir()
	errs := errorsOf(t, dir, Options{})
	if errs[0].File != dir || !strings.Contains(errs[0].Message, "not a kustomization") {
		t.Errorf("error = %v", errs[0])
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	docs, errs := Build(ctx, filepath.Join("testdata", "base"), Options{})
	if len(docs) != 0 || len(errs) != 1 || errs[0].File != filepath.Join("testdata", "base", "kustomization.yaml") {
		t.Errorf("docs %d, errors %v", len(docs), errs)
	}
}

// Several objects of one kind in one file are told apart by name, with
// the name prefixes and suffixes of the tree stripped.
func TestNameMatching(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/kustomization.yaml": "namePrefix: prod-\nresources:\n  - ../base\n",
		"base/kustomization.yaml": `nameSuffix: -v2
resources:
  - roles.yaml
  - list.yaml
`,
		"base/roles.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: prod-web
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: web
rules: []
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
`,
		"base/list.yaml": `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: one
    data: {a: b}
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: two
    data:
      c: d
`,
	})
	docs := build(t, filepath.Join(dir, "app"), Options{})
	got := map[string]int{}
	for _, d := range docs {
		o := parse(t, d)
		line, _, ok := d.Locate("")
		if !ok {
			t.Errorf("%s %s not located", o.Kind, o.Name)
		}
		got[o.Kind+"/"+o.Name] = line
		if l, _, _ := d.Locate("metadata.name"); l != line+3 {
			t.Errorf("%s %s: metadata.name at %d", o.Kind, o.Name, l)
		}
	}
	want := map[string]int{
		"Role/prod-prod-web-v2": 1,
		"Role/prod-web-v2":      7,
		"Namespace/shop":        13,
		"ConfigMap/prod-one-v2": 4,
		"ConfigMap/prod-two-v2": 9,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines:\n got %v\nwant %v", got, want)
	}
}

// A patch that renames the only object of its kind in a file does not
// lose it; components are followed like bases.
func TestRenamedAndComponents(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml": `resources:
  - pod.yaml
components:
  - comp
patches:
  - target: {kind: Pod}
    patch: |
      - op: replace
        path: /metadata/name
        value: renamed
`,
		"pod.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: original
  annotations:
    ignore.kubeharden.io/run-as-non-root: "legacy image"
spec:
  containers:
    - name: app
      image: app:1
      securityContext:
        capabilities:
          drop: [NET_RAW, ALL]
`,
		"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - sa.yaml\ncommonAnnotations:\n  team: shop\n",
		"comp/sa.yaml":            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n",
	})
	docs := build(t, dir, Options{})
	pod := find(t, docs, "Pod")
	if pod.File != filepath.Join(dir, "pod.yaml") {
		t.Errorf("pod File = %q", pod.File)
	}
	if !bytes.Contains(pod.Data, []byte("team: shop")) || !bytes.Contains(pod.Data, []byte("name: renamed")) {
		t.Errorf("pod:\n%s", pod.Data)
	}
	checkLocate(t, pod, []want{
		{"metadata.name", 4, 3},
		{"metadata.annotations.ignore.kubeharden.io/run-as-non-root", 6, 5},
		{"metadata.annotations.team", 5, 3},
		{"spec.containers[0].securityContext.capabilities.drop[1]", 13, 27},
		{"spec.containers[0].securityContext.capabilities.drop[2]", 13, 11},
	})
	sa := find(t, docs, "ServiceAccount")
	if sa.File != filepath.Join(dir, "comp", "sa.yaml") {
		t.Errorf("service account File = %q", sa.File)
	}
	checkLocate(t, sa, []want{{"metadata.name", 4, 3}})
}

// The origin annotation is requested however the kustomization is
// written, and only it is removed from the output.
func TestOriginInjection(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    keep: me\n"
	cases := map[string]string{
		"json":           `{"resources": ["cm.yaml"]}`,
		"other metadata": "resources: [cm.yaml]\nbuildMetadata: [transformerAnnotations]\n",
		"already":        "resources: [cm.yaml]\nbuildMetadata:\n  - originAnnotations\n",
		"no final break": "resources:\n  - cm.yaml",
		"document end":   "resources:\n  - cm.yaml\n...\n",
		"merge key":      "<<: {resources: [cm.yaml]}\n",
		"indented":       "  resources:\n    - cm.yaml\n",
	}
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"kustomization.yaml": k, "cm.yaml": cm})
			docs := build(t, dir, Options{})
			if len(docs) != 1 {
				t.Fatalf("%d documents", len(docs))
			}
			d := docs[0]
			if d.File != filepath.Join(dir, "cm.yaml") {
				t.Errorf("File = %q", d.File)
			}
			if bytes.Contains(d.Data, []byte("config.kubernetes.io/origin")) || !bytes.Contains(d.Data, []byte("keep: me")) {
				t.Errorf("annotations:\n%s", d.Data)
			}
			checkLocate(t, d, []want{{"metadata.annotations.keep", 6, 5}})
		})
	}
}

func TestInjectOrigin(t *testing.T) {
	cases := []struct{ in, want string }{
		{"resources:\n  - a.yaml\n", "resources:\n  - a.yaml\nbuildMetadata: [originAnnotations]\n"},
		{"resources:\n  - a.yaml", "resources:\n  - a.yaml\nbuildMetadata: [originAnnotations]\n"},
		{"buildMetadata: [originAnnotations]\n", "buildMetadata: [originAnnotations]\n"},
		{"buildMetadata: [managedByLabel]\n", "buildMetadata: [managedByLabel, originAnnotations]\n"},
		{`{"resources": ["a.yaml"]}`, "{\"resources\": [\"a.yaml\"], buildMetadata: [originAnnotations]}\n"},
		{"not: [valid\n", "not: [valid\n"},
		{"a: 1\n---\nb: 2\n", "a: 1\n---\nb: 2\n"},
		{"- a\n", "- a\n"},
		{"", ""},
	}
	for _, c := range cases {
		if got := string(injectOrigin([]byte(c.in))); got != c.want {
			t.Errorf("injectOrigin(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsGitLike(t *testing.T) {
	for _, p := range []string{
		"github.com/org/repo//path?ref=v1", "GitHub.com:org/repo", "git@gitlab.com:org/repo.git",
		"https://gitlab.com/org/repo.git", "ssh://git@host/org/repo", "git::https://host/org/repo",
		"file:///srv/repo.git", "s3://bucket/key",
	} {
		if !isGitLike(p) {
			t.Errorf("isGitLike(%q) = false", p)
		}
	}
	for _, p := range []string{"../base", "base", "/abs/base", "gitlab.com/org/repo", "./github.com-mirror/x"} {
		if isGitLike(p) {
			t.Errorf("isGitLike(%q) = true", p)
		}
	}
}

// A vendored file under a directory named like a host is local.
func TestVendoredLookalikeIsLocal(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml":          "resources:\n  - github.com/org/repo/cm.yaml\n",
		"github.com/org/repo/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vendored\n",
	})
	docs := build(t, dir, Options{})
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	// kustomize records it as remote (repo github.com/org/repo, path
	// cm.yaml), but nothing remote is built while remote bases are off.
	d := docs[0]
	if d.File != filepath.Join(dir, "github.com", "org", "repo", "cm.yaml") || d.Origin != "kustomize: built from "+dir {
		t.Errorf("File %q, Origin %q", d.File, d.Origin)
	}
	checkLocate(t, d, []want{{"metadata.name", 4, 3}})
}

func TestMatchItem(t *testing.T) {
	parseNode := func(s string) *yaml.Node {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatal(err)
		}
		return resolve(&n)
	}
	orig := parseNode("- name: a\n  mountPath: /x\n- name: a\n  mountPath: /y\n")
	built := parseNode("- {name: a, mountPath: /y}\n- {name: a, mountPath: /z}\n- {name: a, mountPath: /x}\n")
	if it := matchItem(orig, built, 0); it == nil || it.Line != 3 {
		t.Errorf("mount /y: %v", it)
	}
	if it := matchItem(orig, built, 1); it != nil {
		t.Errorf("mount /z matched line %d", it.Line)
	}
	if it := matchItem(orig, built, 2); it == nil || it.Line != 1 {
		t.Errorf("mount /x: %v", it)
	}
}

// Generated objects point at their generator entry, in whichever
// kustomization configured it.
func TestGenerators(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/kustomization.yaml": `namePrefix: app-
resources:
  - ../base
secretGenerator:
  - name: tls
    literals: [key=value]
  - name: db
    literals: [password=secret]
generatorOptions:
  disableNameSuffixHash: true
`,
		"base/kustomization.yaml": `configMapGenerator:
  - name: settings
    literals:
      - A=1
  - name: flags
    literals:
      - B=2
generators:
  - generator.yaml
`,
		"base/generator.yaml": `apiVersion: builtin
kind: ConfigMapGenerator
metadata:
  name: from-plugin
name: plugin-made
literals:
  - C=3
`,
	})
	docs := build(t, filepath.Join(dir, "app"), Options{})
	type place struct {
		file string
		line int
	}
	got := map[string]place{}
	for _, d := range docs {
		o := parse(t, d)
		line, _, ok := d.Locate("data")
		if !ok {
			t.Errorf("%s %s not located", o.Kind, o.Name)
		}
		rel, _ := filepath.Rel(dir, d.File)
		got[o.Kind+"/"+o.Name] = place{filepath.ToSlash(rel), line}
	}
	want := map[string]place{
		"Secret/app-tls": {"app/kustomization.yaml", 5},
		"Secret/app-db":  {"app/kustomization.yaml", 7},
		"ConfigMap/app-settings-" + hashOf(t, docs, "app-settings-"):       {"base/kustomization.yaml", 2},
		"ConfigMap/app-flags-" + hashOf(t, docs, "app-flags-"):             {"base/kustomization.yaml", 5},
		"ConfigMap/app-plugin-made-" + hashOf(t, docs, "app-plugin-made-"): {"base/generator.yaml", 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("generated objects:\n got %v\nwant %v", got, want)
	}
}

// hashOf returns the hash suffix kustomize gave the object named prefix+hash.
func hashOf(t *testing.T, docs []source.Document, prefix string) string {
	t.Helper()
	for _, d := range docs {
		if o := parse(t, d); strings.HasPrefix(o.Name, prefix) {
			return strings.TrimPrefix(o.Name, prefix)
		}
	}
	t.Fatalf("no object named %s...", prefix)
	return ""
}

// sortOptions in the kustomization choose kustomize's output order.
func TestSortOptions(t *testing.T) {
	files := map[string]string{
		"kustomization.yaml": "resources: [objects.yaml]\n",
		"objects.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: a, image: a}]}}}\n---\n" +
			"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n",
	}
	legacy := ids(t, build(t, writeTree(t, files), Options{}))
	files["kustomization.yaml"] += "sortOptions:\n  order: fifo\n"
	fifo := ids(t, build(t, writeTree(t, files), Options{}))
	if want := []id{{"Namespace", "n", ""}, {"Service", "s", ""}, {"Deployment", "d", ""}}; !reflect.DeepEqual(legacy, want) {
		t.Errorf("legacy order %v, want %v", legacy, want)
	}
	if want := []id{{"Deployment", "d", ""}, {"Service", "s", ""}, {"Namespace", "n", ""}}; !reflect.DeepEqual(fifo, want) {
		t.Errorf("fifo order %v, want %v", fifo, want)
	}
}

// An overlay reached through a symbolic link finds its base files.
func TestSymlinkedOverlay(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"real/app/kustomization.yaml":  "resources: [../base]\n",
		"real/base/kustomization.yaml": "resources: [cm.yaml]\n",
		"real/base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
	})
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "real", "app"), link); err != nil {
		t.Skip(err)
	}
	docs := build(t, link, Options{})
	if len(docs) != 1 || docs[0].File != filepath.Join(dir, "real", "base", "cm.yaml") {
		t.Fatalf("docs: %+v", docs)
	}
	checkLocate(t, docs[0], []want{{"metadata.name", 4, 3}})
}

// With remote bases allowed, kustomize clones them (here from a local
// repository, so that the test needs no network). Their objects point at
// the kustomization, with the remote named in Origin.
func TestRemoteAllowed(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	dir := writeTree(t, map[string]string{
		"repo/app/kustomization.yaml": "resources: [cm.yaml]\n",
		"repo/app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n",
		"local/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n",
	})
	repo := filepath.Join(dir, "repo")
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("git %v: %v\n%s", args, err, out)
		}
	}
	url := "file://" + filepath.ToSlash(repo) + "//app?ref=main"
	kust := "resources:\n  - cm.yaml\n  - " + url + "\n"
	if err := os.WriteFile(filepath.Join(dir, "local", "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "local")

	errs := errorsOf(t, local, Options{})
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Message, "remote base") {
		t.Errorf("refused: %v", errs)
	}

	docs := build(t, local, Options{AllowRemote: true})
	if got := ids(t, docs); !reflect.DeepEqual(got, []id{{"ConfigMap", "local", ""}, {"ConfigMap", "remote", ""}}) {
		t.Fatalf("objects %v", got)
	}
	if docs[0].File != filepath.Join(local, "cm.yaml") {
		t.Errorf("local File = %q", docs[0].File)
	}
	r := docs[1]
	if r.File != filepath.Join(local, "kustomization.yaml") || !strings.HasPrefix(r.Origin, "kustomize: built from "+local+"; remote ") {
		t.Errorf("remote File %q, Origin %q", r.File, r.Origin)
	}
	if _, _, ok := r.Locate("metadata.name"); ok {
		t.Error("remote object located in the kustomization")
	}
}

// YAML aliases that would crash kustomize (an alias inside its own anchor
// overflows kyaml's stack, which is fatal) or exhaust memory are refused
// wherever kustomize would read them.
func TestAliasBombs(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 8; i++ {
		name := string(rune('b' + i))
		laughs += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	cases := map[string]map[string]string{
		"cyclic resource": {"kustomization.yaml": "resources: [r.yaml]\n", "r.yaml": cm + "data: &d {x: *d}\n"},
		"laughs resource": {"kustomization.yaml": "resources: [r.yaml]\n", "r.yaml": laughs},
		"cyclic patch file": {
			"kustomization.yaml": "resources: [r.yaml]\npatches: [{path: p.yaml}]\n",
			"r.yaml":             cm, "p.yaml": cm + "data: &d {x: *d}\n",
		},
		"cyclic inline patch": {
			"kustomization.yaml": "resources: [r.yaml]\npatches:\n  - patch: |\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: a}\n      data: &d {x: *d}\n",
			"r.yaml":             cm,
		},
		"laughs kustomization": {"kustomization.yaml": laughs},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			errs := errorsOf(t, writeTree(t, files), Options{})
			if len(errs) != 1 || !strings.Contains(errs[0].Message, "YAML alias") {
				t.Errorf("errors: %v", errs)
			}
		})
	}
}

// kustomize reads a kustomization as encoding/json does (keys folded,
// !!binary decoded), and falls back from a file it cannot load to a git
// URL: none of it lets a remote entry through.
func TestRemoteRefusedTricks(t *testing.T) {
	cases := map[string]map[string]string{
		"folded key":  {"kustomization.yaml": "reſources:\n  - github.com/example/repo\n"},
		"binary":      {"kustomization.yaml": "resources:\n  - !!binary aHR0cHM6Ly9leGFtcGxlLmNvbS9jbS55YW1s\n"},
		"merge key":   {"kustomization.yaml": "<<: {components: [github.com/example/repo//c]}\n"},
		"second doc":  {"kustomization.yaml": "resources: []\n---\nresources: [github.com/example/repo]\n"},
		"inline flow": {"kustomization.yaml": "transformers:\n  - '{apiVersion: builtin, kind: PatchTransformer, metadata: {name: p}, PATH: \"https://example.com/p.yaml\"}'\n"},
		"unloadable lookalike file": {
			"kustomization.yaml":                  "resources:\n  - github.com/example/repo/values.yaml\n",
			"github.com/example/repo/values.yaml": "replicas: 3\n",
		},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, files)
			errs := errorsOf(t, dir, Options{})
			if len(errs) != 1 || !strings.Contains(errs[0].Message, "not fetched") || errs[0].Line == 0 {
				t.Errorf("errors: %v", errs)
			}
		})
	}
}
