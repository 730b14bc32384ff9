package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/source"
)

func TestMain(m *testing.M) {
	// Helm's SDK warns through the standard logger (coalescing, conditions).
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

const app = "testdata/app"

// entry is what a test sees of a rendered object: where it is and what.
type entry struct {
	File  string
	Index int
	Line  int // of the object's first key
	Kind  string
	Name  string
}

func (e entry) String() string {
	return fmt.Sprintf("%s#%d:%d %s/%s", e.File, e.Index, e.Line, e.Kind, e.Name)
}

func mustRender(t *testing.T, path string, opts Options) []source.Document {
	t.Helper()
	docs, errs := Render(context.Background(), path, opts)
	if len(errs) > 0 {
		t.Fatalf("Render(%s) errors: %v", path, errs)
	}
	return docs
}

func entries(t *testing.T, docs []source.Document) []entry {
	t.Helper()
	var out []entry
	for _, d := range docs {
		objs, errs, _ := source.Parse(d)
		if len(errs) > 0 {
			t.Fatalf("parsing %s#%d: %v\n%s", d.File, d.Index, errs, d.Data)
		}
		for _, o := range objs {
			line, _ := o.Pos(o.Root())
			out = append(out, entry{File: d.File, Index: d.Index, Line: line, Kind: o.Kind, Name: o.Name})
		}
	}
	return out
}

func equalEntries(t *testing.T, got []entry, want []string) {
	t.Helper()
	var g []string
	for _, e := range got {
		g = append(g, e.String())
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("rendered objects:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// find returns the object of kind and the document holding it.
func find(t *testing.T, docs []source.Document, kind, name string) source.Document {
	t.Helper()
	for _, d := range docs {
		objs, _, _ := source.Parse(d)
		for _, o := range objs {
			if o.Kind == kind && o.Name == name {
				return d
			}
		}
	}
	t.Fatalf("no %s/%s rendered", kind, name)
	return source.Document{}
}

// lineOf returns the line (in the document's file) of the first line of d
// that contains s.
func lineOf(t *testing.T, d source.Document, s string) int {
	t.Helper()
	for i, l := range strings.Split(string(d.Data), "\n") {
		if strings.Contains(l, s) {
			return d.LineOffset + i + 1
		}
	}
	t.Fatalf("%q not in %s:\n%s", s, d.File, d.Data)
	return 0
}

func TestRenderChart(t *testing.T) {
	docs := mustRender(t, app, Options{})
	equalEntries(t, entries(t, docs), []string{
		// The subchart vendored in charts/, at its own file.
		"testdata/app/charts/sub/templates/daemonset.yaml#0:1 DaemonSet/release-name-sub",
		// Two documents of one template: lines count from the template's
		// rendered output, which starts with the blank line `range` leaves.
		"testdata/app/templates/configmaps.yaml#1:3 ConfigMap/release-name-app-first",
		"testdata/app/templates/configmaps.yaml#2:10 ConfigMap/release-name-app-second",
		"testdata/app/templates/deployment.yaml#3:1 Deployment/release-name-app",
		// Hooks are rendered, as helm template does.
		"testdata/app/templates/hook-job.yaml#4:1 Job/release-name-app-migrate",
		"testdata/app/templates/pdb.yaml#5:2 PodDisruptionBudget/release-name-app",
		"testdata/app/templates/service.yaml#6:1 Service/release-name-app",
		"testdata/app/templates/serviceaccount.yaml#7:1 ServiceAccount/release-name-app",
		// Not rendered: networkpolicy.yaml (off in values), NOTES.txt,
		// _helpers.tpl, crds/.
	})
	for _, d := range docs {
		if d.Origin != `helm: rendered from testdata/app (release "release-name")` {
			t.Errorf("%s: origin %q", d.File, d.Origin)
		}
		if d.Locate != nil {
			t.Errorf("%s: Locate set", d.File)
		}
	}
	dep := find(t, docs, "Deployment", "release-name-app")
	// Lines are the rendered output's: the `with` that renders nothing
	// takes its template line along (the image is on line 25 there).
	if got := lineOf(t, dep, "image:"); got != 24 {
		t.Errorf("image on line %d, want 24", got)
	}
	for _, s := range []string{`namespace: default`, `value: "info"`, `- name: MODE`, `image: "nginx:1.27"`, `replicas: 1`} {
		if !bytes.Contains(dep.Data, []byte(s)) {
			t.Errorf("deployment lacks %q:\n%s", s, dep.Data)
		}
	}
	if bytes.Contains(dep.Data, []byte("securityContext")) {
		t.Errorf("empty podSecurityContext rendered:\n%s", dep.Data)
	}
	second := find(t, docs, "ConfigMap", "release-name-app-second")
	if second.LineOffset != 8 || lineOf(t, second, "name: second") != 15 {
		t.Errorf("second ConfigMap at offset %d, data line %d", second.LineOffset, lineOf(t, second, "name: second"))
	}
}

func TestRenderDeterministic(t *testing.T) {
	first := entries(t, mustRender(t, app, Options{}))
	for range 5 {
		again := entries(t, mustRender(t, app, Options{}))
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("order changed:\n%v\n%v", first, again)
		}
	}
}

func TestValuesAndSet(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "extra.yaml")
	if err := os.WriteFile(extra, []byte("replicaCount: 4\nimage: {repository: registry.example/nginx}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      Options
		want      []string // in the Deployment
		objects   int
		privilege string
	}{
		{"chart values", Options{}, []string{"replicas: 1", `image: "nginx:1.27"`}, 8, "privileged: false"},
		{"values file", Options{ValueFiles: []string{"testdata/values-prod.yaml"}},
			// networkPolicy.enabled turns a template on; sub.privileged
			// reaches the subchart.
			[]string{"replicas: 3", `image: "nginx:1.27.1"`}, 9, "privileged: true"},
		{"files in order", Options{ValueFiles: []string{"testdata/values-prod.yaml", extra}},
			[]string{"replicas: 4", `image: "registry.example/nginx:1.27.1"`}, 9, "privileged: true"},
		{"set wins over files", Options{ValueFiles: []string{"testdata/values-prod.yaml", extra}, Set: []string{"replicaCount=7", "image.tag=2.0,sub.privileged=false"}},
			[]string{"replicas: 7", `image: "registry.example/nginx:2.0"`}, 9, "privileged: false"},
		{"release", Options{ReleaseName: "shop", Namespace: "prod"},
			[]string{"name: shop-app", "namespace: prod"}, 8, "privileged: false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs := mustRender(t, app, tc.opts)
			name := "release-name"
			if tc.opts.ReleaseName != "" {
				name = tc.opts.ReleaseName
			}
			dep := find(t, docs, "Deployment", name+"-app")
			for _, s := range tc.want {
				if !bytes.Contains(dep.Data, []byte(s)) {
					t.Errorf("deployment lacks %q:\n%s", s, dep.Data)
				}
			}
			if n := len(entries(t, docs)); n != tc.objects {
				t.Errorf("%d objects, want %d", n, tc.objects)
			}
			ds := find(t, docs, "DaemonSet", name+"-sub")
			if !bytes.Contains(ds.Data, []byte(tc.privilege)) {
				t.Errorf("daemonset lacks %q:\n%s", tc.privilege, ds.Data)
			}
		})
	}
}

func TestSubchartCondition(t *testing.T) {
	docs := mustRender(t, app, Options{Set: []string{"sub.enabled=false"}})
	for _, e := range entries(t, docs) {
		if e.Kind == "DaemonSet" {
			t.Errorf("disabled subchart rendered: %v", e)
		}
	}
}

func TestKubeVersion(t *testing.T) {
	for _, tc := range []struct{ version, api string }{
		{"", "policy/v1"},
		{"1.20", "policy/v1beta1"},
		{"v1.30.2", "policy/v1"},
		{"1.21.0", "policy/v1"},
	} {
		docs := mustRender(t, app, Options{KubeVersion: tc.version})
		pdb := find(t, docs, "PodDisruptionBudget", "release-name-app")
		if !bytes.Contains(pdb.Data, []byte("apiVersion: "+tc.api+"\n")) {
			t.Errorf("kube version %q: want %s:\n%s", tc.version, tc.api, pdb.Data)
		}
	}
	_, errs := Render(context.Background(), app, Options{KubeVersion: "one.two"})
	wantErrors(t, errs, `testdata/app: invalid Kubernetes version "one.two": could not parse "one.two" as version`)

	dir := writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: modern\nversion: 1.0.0\nkubeVersion: \">=1.25.0-0\"\n",
		"templates/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
	})
	mustRender(t, dir, Options{})
	_, errs = Render(context.Background(), dir, Options{KubeVersion: "1.24"})
	wantErrors(t, errs, dir+": chart requires kubeVersion >=1.25.0-0, which is incompatible with Kubernetes v1.24")
}

// TestDefaultKubeVersion keeps DefaultKubeVersion where the helm binary
// built from the same modules would put it: client-go v0.N is Kubernetes 1.N.
func TestDefaultKubeVersion(t *testing.T) {
	gomod, err := os.ReadFile("../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/client-go v0\.(\d+)\.`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod requires no k8s.io/client-go")
	}
	if want := "v1." + string(m[1]) + ".0"; DefaultKubeVersion != want {
		t.Errorf("DefaultKubeVersion = %s, but client-go v0.%s is Kubernetes %s", DefaultKubeVersion, m[1], want)
	}
}

func wantErrors(t *testing.T, errs []source.Error, want ...string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// writeChart writes files (names relative to the chart) into a new
// directory; a template name without an extension gets ".yaml".
func writeChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if (strings.HasPrefix(name, "templates/") || strings.Contains(name, "/templates/")) && filepath.Ext(name) == "" {
			name += ".yaml"
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMissingDependency(t *testing.T) {
	_, errs := Render(context.Background(), "testdata/missing", Options{})
	wantErrors(t, errs, `testdata/missing: dependency "redis" is not in charts/: run helm dependency build`)

	// apiVersion v1 charts declare dependencies in requirements.yaml.
	v1 := writeChart(t, map[string]string{
		"Chart.yaml":             "apiVersion: v1\nname: old\nversion: 1.0.0\n",
		"requirements.yaml":      "dependencies:\n- name: mysql\n  version: 1.0.0\n- name: here\n  version: 1.0.0\n",
		"charts/here/Chart.yaml": "apiVersion: v1\nname: here\nversion: 1.0.0\n",
		"templates/cm":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
	})
	_, errs = Render(context.Background(), v1, Options{})
	wantErrors(t, errs, v1+`: dependency "mysql" is not in charts/: run helm dependency build`)

	// A subchart's own dependencies are checked too, at the subchart.
	nested := writeChart(t, map[string]string{
		"Chart.yaml":                "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: mid\n  version: 1.0.0\n",
		"charts/mid-dir/Chart.yaml": "apiVersion: v2\nname: mid\nversion: 1.0.0\ndependencies:\n- name: low\n  version: 1.0.0\n",
	})
	_, errs = Render(context.Background(), nested, Options{})
	wantErrors(t, errs, filepath.Join(nested, "charts/mid-dir")+`: dependency "low" of subchart "mid" is not in its charts/`)
}

func TestTemplateErrors(t *testing.T) {
	// required fails at the template line and column of the call.
	_, errs := Render(context.Background(), app, Options{Set: []string{"image.repository=null"}})
	wantErrors(t, errs, "testdata/app/templates/deployment.yaml:25:22: template error: image.repository is required")

	dir := writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: broken\nversion: 1.0.0\n",
		"templates/ok": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
		"templates/bad": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" +
			"  name: {{ if }}\n",
	})
	_, errs = Render(context.Background(), dir, Options{})
	wantErrors(t, errs, filepath.Join(dir, "templates/bad.yaml")+`:4: template parse error: missing value for if`)

	// An error inside a partial is reported in the partial.
	dir = writeChart(t, map[string]string{
		"Chart.yaml":           "apiVersion: v2\nname: partial\nversion: 1.0.0\n",
		"templates/_names.tpl": "{{- define \"n\" -}}\n{{ .Values.a.b.c }}\n{{- end }}\n",
		"templates/cm":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"n\" . }}\n",
	})
	_, errs = Render(context.Background(), dir, Options{})
	wantErrors(t, errs, filepath.Join(dir, "templates/_names.tpl")+`:2:11: template error: executing "n" at <.Values.a.b.c>: nil pointer evaluating interface {}.b (included from `+filepath.Join(dir, "templates/cm.yaml")+`:4)`)

	// An error in text given to tpl is reported where tpl is called: its
	// lines are the text's, not the file's.
	dir = writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: tpl\nversion: 1.0.0\n",
		"values.yaml":  "text: \"{{ .Values.a.b }}\"\n",
		"templates/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ tpl .Values.text . }}\n",
	})
	_, errs = Render(context.Background(), dir, Options{})
	if len(errs) != 1 || errs[0].File != filepath.Join(dir, "templates/cm.yaml") || errs[0].Line != 6 || errs[0].Column != 9 {
		t.Errorf("errors: %#v", errs)
	}

	// fail() is a template error too.
	dir = writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: failing\nversion: 1.0.0\n",
		"templates/cm": "# one\n# two\n{{ fail \"not supported\" }}\n",
	})
	_, errs = Render(context.Background(), dir, Options{})
	wantErrors(t, errs, filepath.Join(dir, "templates/cm.yaml")+`:3:4: template error: not supported`)
}

func TestRenderedYAMLErrors(t *testing.T) {
	// Broken YAML out of a template is the parser's to report, in the
	// template file at the rendered line; other documents still render.
	dir := writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: yamlerr\nversion: 1.0.0\n",
		"templates/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n",
	})
	docs := mustRender(t, dir, Options{})
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2", len(docs))
	}
	_, errs, _ := source.Parse(docs[1])
	if len(errs) != 1 || errs[0].File != filepath.Join(dir, "templates/cm.yaml") || errs[0].Line < 9 {
		t.Errorf("errors: %v", errs)
	}
}

func TestValuesErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("a: 1\nb: c: d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "list.yaml")
	if err := os.WriteFile(list, []byte("- a\n- b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing file", Options{ValueFiles: []string{"testdata/nope.yaml"}},
			"testdata/app: values file testdata/nope.yaml: no such file or directory"},
		{"bad yaml", Options{ValueFiles: []string{bad}},
			"testdata/app: values file " + bad + ": line 2: mapping values are not allowed in this context"},
		{"not a table", Options{ValueFiles: []string{list}},
			"testdata/app: values file " + list + ": values must be a table of keys, not a list"},
		{"remote", Options{ValueFiles: []string{"https://example.com/values.yaml"}},
			"testdata/app: values file https://example.com/values.yaml: remote values files are not fetched (no network access)"},
		{"stdin", Options{ValueFiles: []string{"-"}},
			"testdata/app: values file -: reading values from standard input is not supported"},
		{"bad set", Options{Set: []string{"image.tag"}},
			`testdata/app: --set "image.tag": key "tag" has no value`},
		{"bad release name", Options{ReleaseName: "Bad_Name"},
			`testdata/app: release name "Bad_Name": invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, errs := Render(context.Background(), app, tc.opts)
			if len(docs) != 0 {
				t.Errorf("%d documents rendered", len(docs))
			}
			wantErrors(t, errs, tc.want)
		})
	}
}

// TestValuesErrorCauses keeps what went wrong under the words users read.
func TestValuesErrorCauses(t *testing.T) {
	_, err := readValuesFile("testdata/nope.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v does not wrap fs.ErrNotExist", err)
	}
	list := filepath.Join(t.TempDir(), "list.yaml")
	if err := os.WriteFile(list, []byte("- a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = readValuesFile(list)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		t.Errorf("list: %v does not wrap a json.UnmarshalTypeError", err)
	}
}

// TestValuesMerge merges value files as helm does: tables merge, anything
// else is replaced by the later file, null included.
func TestValuesMerge(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "1.yaml"), filepath.Join(dir, "2.yaml")
	for p, data := range map[string]string{
		first:  "a: {x: 1, q: 2}\nb: {x: 1}\nc: 1\nd: {x: 1}\ne: 1\n",
		second: "a: {q: 3, z: 4}\nb: 2\nc: {x: 2}\nd: null\nf: 5\n",
	} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, errs := userValues(dir, Options{ValueFiles: []string{first, second}, Set: []string{"e=6"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[string]any{
		"a": map[string]any{"x": float64(1), "q": float64(3), "z": float64(4)},
		"b": float64(2),
		"c": map[string]any{"x": float64(2)},
		"d": nil,
		"e": int64(6),
		"f": float64(5),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged values:\n%v\nwant:\n%v", got, want)
	}
}

func TestSchema(t *testing.T) {
	_, errs := Render(context.Background(), app, Options{Set: []string{"replicaCount=many"}})
	wantErrors(t, errs, `testdata/app/values.schema.json: values of chart "app" do not match its schema: at '/replicaCount': got string, want integer`)
	_, errs = Render(context.Background(), app, Options{Set: []string{"replicaCount=-1"}})
	wantErrors(t, errs, `testdata/app/values.schema.json: values of chart "app" do not match its schema: at '/replicaCount': minimum: got -1, want 0`)

	// A subchart's schema checks the values the parent gives it.
	dir := writeChart(t, map[string]string{
		"Chart.yaml":              "apiVersion: v2\nname: parent\nversion: 1.0.0\n",
		"values.yaml":             "child:\n  port: 80\n",
		"charts/child/Chart.yaml": "apiVersion: v2\nname: child\nversion: 1.0.0\n",
		"charts/child/values.schema.json": `{"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}},` +
			// A remote reference is never fetched: it accepts anything.
			` "additionalProperties": {"$ref": "https://schemas.invalid/never.json"}}`,
		"charts/child/templates/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p{{ .Values.port }}\n",
	})
	docs := mustRender(t, dir, Options{Set: []string{"child.extra=x"}})
	if len(docs) != 1 {
		t.Errorf("%d documents, want 1", len(docs))
	}
	_, errs = Render(context.Background(), dir, Options{Set: []string{"child.port=eighty"}})
	wantErrors(t, errs, filepath.Join(dir, "charts/child/values.schema.json")+`: values of chart "child" do not match its schema: at '/port': got string, want integer`)
}

// TestDependencies processes aliases, conditions, tags and import-values
// the way helm template does.
func TestDependencies(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"Chart.yaml": `apiVersion: v2
name: parent
version: 1.0.0
dependencies:
  - name: child
    version: ~1.0.0
    alias: first
    import-values:
      - child: exports.data
        parent: imported
  - name: child
    version: ~1.0.0
    alias: second
  - name: child
    version: ~1.0.0
    alias: third
    tags: [optional]
  - name: child
    version: ~1.0.0
    alias: fourth
    condition: fourth.enabled
`,
		"values.yaml":               "second:\n  suffix: two\ntags:\n  optional: false\nfourth:\n  enabled: false\n",
		"templates/imported":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imported-{{ .Values.imported.port }}\n",
		"charts/child/Chart.yaml":   "apiVersion: v2\nname: child\nversion: 1.0.1\n",
		"charts/child/values.yaml":  "suffix: one\nexports:\n  data:\n    port: 8080\n",
		"charts/child/templates/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Values.suffix }}\n",
	})
	docs := mustRender(t, dir, Options{})
	cm := filepath.Join(dir, "charts/child/templates/cm.yaml")
	equalEntries(t, entries(t, docs), []string{
		// One file rendered once per alias.
		cm + "#0:1 ConfigMap/first-one",
		cm + "#1:1 ConfigMap/second-two",
		filepath.Join(dir, "templates/imported.yaml") + "#2:1 ConfigMap/imported-8080",
	})
	docs = mustRender(t, dir, Options{Set: []string{"tags.optional=true", "fourth.enabled=true"}})
	if n := len(docs); n != 5 {
		t.Errorf("with tag and condition on: %d documents, want 5", n)
	}
}

func TestOffline(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: offline\nversion: 1.0.0\n",
		"templates/cm": `apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  {{- $s := lookup "v1" "Secret" .Release.Namespace "db" }}
  found: {{ if $s }}"yes"{{ else }}"no"{{ end }}
  all: {{ lookup "v1" "Pod" "" "" | len | quote }}
  host: {{ getHostByName "example.com" | quote }}
`,
	})
	docs := mustRender(t, dir, Options{})
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	for _, s := range []string{`found: "no"`, `all: "0"`, `host: ""`} {
		if !bytes.Contains(docs[0].Data, []byte(s)) {
			t.Errorf("want %q in:\n%s", s, docs[0].Data)
		}
	}

	// Helm removes env from the template functions: charts cannot read
	// the scanner's environment.
	dir = writeChart(t, map[string]string{
		"Chart.yaml":   "apiVersion: v2\nname: env\nversion: 1.0.0\n",
		"templates/cm": "a: 1\nb: {{ env \"HOME\" }}\n",
	})
	_, errs := Render(context.Background(), dir, Options{})
	wantErrors(t, errs, filepath.Join(dir, "templates/cm.yaml")+`:2: template parse error: function "env" not defined`)
}

func TestLibraryChart(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"Chart.yaml":           "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
		"templates/_names.tpl": "{{- define \"lib.name\" -}}x{{- end }}\n",
	})
	docs, errs := Render(context.Background(), dir, Options{})
	if len(docs) != 0 || len(errs) != 0 {
		t.Errorf("library chart: %v, %v", docs, errs)
	}
}

func TestNotAChart(t *testing.T) {
	dir := t.TempDir()
	_, errs := Render(context.Background(), dir, Options{})
	wantErrors(t, errs, dir+": cannot load chart: Chart.yaml file is missing")

	notgz := filepath.Join(dir, "x.tgz")
	if err := os.WriteFile(notgz, []byte("plain text"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs = Render(context.Background(), notgz, Options{})
	wantErrors(t, errs, notgz+": cannot load chart: not a chart archive: gzip: invalid header")
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	docs, errs := Render(ctx, app, Options{})
	if len(docs) != 0 || len(errs) != 1 || errs[0].File != app {
		t.Errorf("canceled render: %v, %v", docs, errs)
	}
}

// tgz packs dir as `helm package` does, under top/; subcharts listed in
// pack are packed into charts/<name>-<version>.tgz instead of copied.
func tgz(t *testing.T, dir, top string, pack map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if sub, ok := pack[rel]; ok && d.IsDir() {
			data := tgz(t, p, filepath.Base(p), nil)
			if err := tw.WriteHeader(&tar.Header{Name: top + "/charts/" + sub, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			if err != nil {
				return err
			}
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArchive(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "app-0.1.0.tgz")
	data := tgz(t, app, "app", map[string]string{"charts/sub": "sub-0.1.0.tgz"})
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	docs := mustRender(t, archive, Options{ValueFiles: []string{"testdata/values-prod.yaml"}})
	in := archive + "/app/"
	equalEntries(t, entries(t, docs), []string{
		in + "charts/sub-0.1.0.tgz/sub/templates/daemonset.yaml#0:1 DaemonSet/release-name-sub",
		in + "templates/configmaps.yaml#1:3 ConfigMap/release-name-app-first",
		in + "templates/configmaps.yaml#2:10 ConfigMap/release-name-app-second",
		in + "templates/deployment.yaml#3:1 Deployment/release-name-app",
		in + "templates/hook-job.yaml#4:1 Job/release-name-app-migrate",
		in + "templates/networkpolicy.yaml#5:2 NetworkPolicy/release-name-app",
		in + "templates/pdb.yaml#6:2 PodDisruptionBudget/release-name-app",
		in + "templates/service.yaml#7:1 Service/release-name-app",
		in + "templates/serviceaccount.yaml#8:1 ServiceAccount/release-name-app",
	})
	for _, d := range docs {
		if d.Origin != `helm: rendered from `+archive+` (release "release-name")` {
			t.Errorf("origin %q", d.Origin)
		}
	}
	_, errs := Render(context.Background(), archive, Options{Set: []string{"image.repository=null"}})
	wantErrors(t, errs, in+"templates/deployment.yaml:25:22: template error: image.repository is required")
}

// FuzzRender renders a chart whose template and values come from the
// fuzzer: whatever they hold, rendering must not panic and every error must
// name a file.
func FuzzRender(f *testing.F) {
	for _, s := range []struct{ tpl, values, set string }{
		{readFileF(f, "testdata/app/templates/deployment.yaml"), readFileF(f, "testdata/app/values.yaml"), "replicaCount=2"},
		{readFileF(f, "testdata/app/templates/configmaps.yaml"), "configs: [a, b, c]\n", ""},
		{"{{ if }}", "", ""},
		{"a: {{ .Values.a.b.c }}", "a: 1", "a.b=2"},
		{"{{ tpl .Values.t . }}", "t: '{{ .Values.t }}'", ""},
		{"{{ include \"x\" . }}{{ define \"x\" }}{{ include \"x\" . }}{{ end }}", "", ""},
		{"{{ required \"r\" .Values.x }}", "x: null", "x[0]=1"},
		{"{{ toYaml .Values | nindent 2 }}\n---\n{{ fromYaml \"a: [\" }}", "a: &x [*x]", ""},
		{"\x00{{ .Release.Name }}", "- a\n- b", "="},
		{"{{ lookup \"v1\" \"Pod\" \"\" \"\" }}{{ .Files.Get \"values.yaml\" }}", "{", "a={b"},
	} {
		f.Add(s.tpl, s.values, s.set)
	}
	f.Fuzz(func(t *testing.T, tpl, values, set string) {
		dir := t.TempDir()
		for name, data := range map[string]string{
			"Chart.yaml":                  "apiVersion: v2\nname: fuzz\nversion: 1.0.0\n",
			"values.yaml":                 values,
			"templates/t.yaml":            tpl,
			"templates/_helpers.tpl":      `{{- define "fuzz.name" -}}{{ .Chart.Name }}{{- end }}`,
			"charts/sub/Chart.yaml":       "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
			"charts/sub/templates/s.yaml": tpl,
		} {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		opts := Options{}
		if set != "" {
			opts.Set = []string{set}
		}
		// render, not Render: Render's recover would hide a panic.
		docs, errs := render(dir, opts)
		for _, e := range errs {
			if e.File == "" || e.Message == "" {
				t.Fatalf("error without a file or message: %#v", e)
			}
			if e.File != dir && !strings.HasPrefix(e.File, dir+string(filepath.Separator)) {
				t.Fatalf("error outside the chart: %#v", e)
			}
		}
		for _, d := range docs {
			if !strings.HasPrefix(d.File, dir+string(filepath.Separator)) {
				t.Fatalf("document outside the chart: %s", d.File)
			}
			_, perrs, _ := source.Parse(d)
			for _, e := range perrs {
				if e.File != d.File {
					t.Fatalf("parse error in another file: %#v", e)
				}
			}
		}
	})
}

func readFileF(f *testing.F, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}
