// Package helm renders Helm charts in-process and offline, the way `helm
// template` does, and cuts the output into documents for the scanner.
//
// Nothing here talks to a network or a cluster: dependencies must be
// vendored in charts/, `lookup` returns nothing, `getHostByName` returns "",
// and remote values files are refused.
//
// A rendered document points at the template it came from
// (chart/templates/deployment.yaml); its node lines are those of that
// template's rendered output, where the first line of the output is line 1,
// never the `# Source:` framing `helm template` prints. Its Tracer maps
// them back to the template's own lines (trace.go): findings are reported
// at the template line that holds or emits the field, or say that no line
// is certain. Objects whose namespace is only the render's default
// (.Release.Namespace without -n) are in the release namespace, unset.
package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// Defaults of Options, as `helm template` v3.22 has them.
const (
	DefaultReleaseName = "release-name"
	DefaultNamespace   = "default"
	// DefaultKubeVersion is the Kubernetes version the helm v3.22 binary
	// renders for: its build sets it from the client-go it links (v0.37).
	// The SDK alone says v1.20.0, which fails every chart whose Chart.yaml
	// asks for a newer kubeVersion and takes the deprecated-API branches of
	// semverCompare templates.
	DefaultKubeVersion = "v1.37.0"
)

// Options are the `helm template` settings a chart is rendered with.
type Options struct {
	// ValueFiles are read in order, later files winning (--values/-f).
	ValueFiles []string
	// Set are key=value overrides in strvals syntax, applied after the
	// value files (--set).
	Set []string
	// ReleaseName is .Release.Name; DefaultReleaseName when empty.
	ReleaseName string
	// Namespace is .Release.Namespace; DefaultNamespace when empty.
	Namespace string
	// KubeVersion is .Capabilities.KubeVersion ("1.30", "v1.30.2");
	// DefaultKubeVersion when empty. The other capabilities (API versions)
	// are the Helm SDK's defaults.
	KubeVersion string
}

// Render renders the chart at path (a directory holding Chart.yaml, or a
// packaged .tgz) and returns one document per YAML document of each
// rendered template, ordered by template file, then by position in it.
//
// It never fails as a whole with a panic: a chart that cannot be loaded,
// values that cannot be read, a missing dependency or a template error is
// returned as an Error naming the chart, or the template file and line when
// Helm says where. Library charts render to nothing.
//
// The templates run in a child process (see isolate.go) held to the
// limits ctx carries: render time, output size and memory. A render past
// one is an Error wrapping a *limits.Exceeded; a cancelled ctx stops the
// child at once.
func Render(ctx context.Context, path string, opts Options) ([]source.Document, []source.Error) {
	if err := ctx.Err(); err != nil {
		return nil, []source.Error{canceled(path, err)}
	}
	p, errs := safePrepare(path, opts)
	if p == nil {
		return nil, errs
	}
	out, traced, err := execute(ctx, path, opts, limits.From(ctx))
	switch {
	case ctx.Err() != nil:
		return nil, []source.Error{canceled(path, ctx.Err())}
	case err != nil:
		return nil, []source.Error{p.renderError(err)}
	}
	return p.documents(out, traced, limits.From(ctx))
}

// canceled is the error of a chart not rendered because ctx ended.
func canceled(path string, err error) source.Error {
	return source.Error{File: path, Message: "chart not rendered: " + err.Error(), Err: err}
}

// safePrepare is prepare, with a panic of the Helm SDK (which loads the
// chart and coalesces its values) turned into an error.
func safePrepare(path string, opts Options) (p *prepared, errs []source.Error) {
	defer func() {
		if r := recover(); r != nil {
			p, errs = nil, []source.Error{{File: path, Message: fmt.Sprintf("cannot render chart: helm panicked: %v", r)}}
		}
	}()
	return prepare(path, opts)
}

// render renders a chart in this process, with no bound: the child
// process runs it, and FuzzRender, to see the panics Render would hide.
func render(chartPath string, opts Options) ([]source.Document, []source.Error) {
	p, errs := prepare(chartPath, opts)
	if p == nil {
		return nil, errs
	}
	p.pristine = copyValues(p.top).(chartutil.Values)
	out, err := p.execute()
	if err != nil {
		return nil, []source.Error{templateError(chartPath, p.keys, err)}
	}
	return p.documents(out, p.traced(opts.Namespace == ""), limits.Default())
}

// prepared is a chart loaded, its values coalesced and checked, ready for
// the template engine.
type prepared struct {
	t   *tree
	top chartutil.Values
	// keys maps the engine's template names to files on disk.
	keys map[string]string
	// sources are the templates' texts by engine name.
	sources map[string][]byte
	path    string
	origin  string
	// valueFiles are the user's values files (-f).
	valueFiles []string
	// markNamespace: no namespace was given, so the traced render marks
	// .Release.Namespace (see trace.go).
	markNamespace bool
	// pristine is a copy of top taken before the first render, for the
	// traced one; nil when not taken.
	pristine chartutil.Values
}

// execute runs the templates. A zero Engine has no client: `lookup`
// returns an empty map and DNS lookups return "".
func (p *prepared) execute() (map[string]string, error) {
	var e engine.Engine
	return e.Render(p.t.root, p.top)
}

// prepare loads a chart and its values as `helm template` does, up to the
// templates. A library chart gives nil and no error.
func prepare(chartPath string, opts Options) (*prepared, []source.Error) {
	fail := func(format string, args ...any) (*prepared, []source.Error) {
		return nil, []source.Error{{File: chartPath, Message: fmt.Sprintf(format, args...)}}
	}
	if opts.ReleaseName == "" {
		opts.ReleaseName = DefaultReleaseName
	}
	namespaceUnset := opts.Namespace == ""
	if namespaceUnset {
		opts.Namespace = DefaultNamespace
	}
	if err := chartutil.ValidateReleaseName(opts.ReleaseName); err != nil {
		return fail("release name %q: %v", opts.ReleaseName, err)
	}
	if opts.KubeVersion == "" {
		opts.KubeVersion = DefaultKubeVersion
	}
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion(opts.KubeVersion)
	if err != nil {
		return fail("invalid Kubernetes version %q: %v", opts.KubeVersion, err)
	}
	caps.KubeVersion = *kv

	t, err := load(chartPath)
	if err != nil {
		return fail("cannot load chart: %v", err)
	}
	if errs := t.missingDependencies(t.root); len(errs) > 0 {
		return nil, errs
	}
	if strings.EqualFold(t.root.Metadata.Type, "library") {
		// A library chart only defines partials; `helm template` refuses
		// it, but a repository holding one is not an input error.
		return nil, nil
	}

	vals, errs := userValues(chartPath, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := chartutil.ProcessDependenciesWithMerge(t.root, vals); err != nil {
		return fail("cannot process dependencies: %v", err)
	}
	if kv := t.root.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return fail("chart requires kubeVersion %s, which is incompatible with Kubernetes %s", kv, caps.KubeVersion.String())
	}
	rel := chartutil.ReleaseOptions{Name: opts.ReleaseName, Namespace: opts.Namespace, Revision: 1, IsInstall: true}
	// Helm's own schema validation fetches remote $refs; this one does not.
	top, err := chartutil.ToRenderValuesWithSchemaValidation(t.root, vals, rel, caps, true)
	if err != nil {
		return fail("%v", err)
	}
	values, _ := top["Values"].(chartutil.Values)
	if errs := t.validate(t.root, values); len(errs) > 0 {
		return nil, errs
	}
	keys, sources := t.templateFiles()
	return &prepared{
		t: t, top: top, keys: keys, sources: sources, path: chartPath,
		origin:     fmt.Sprintf("helm: rendered from %s (release %q)", chartPath, opts.ReleaseName),
		valueFiles: opts.ValueFiles, markNamespace: namespaceUnset,
	}, nil
}

// documents cuts the rendered templates into documents, in template file
// order (then the engine's name, which tells apart the renderings of one
// aliased subchart). NOTES.txt is not a manifest; partials are never in out.
// Each document gets a tracer from the traced render, when there is one.
func (p *prepared) documents(out, traced map[string]string, l limits.Limits) ([]source.Document, []source.Error) {
	chartPath, origin, keys := p.path, p.origin, p.keys
	values := map[string]*valuesFile{}
	type rendered struct{ key, file string }
	var rs []rendered
	for k := range out {
		if strings.HasSuffix(k, "NOTES.txt") {
			continue
		}
		rs = append(rs, rendered{key: k, file: fileOf(chartPath, keys, k)})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].file != rs[j].file {
			return rs[i].file < rs[j].file
		}
		return rs[i].key < rs[j].key
	})
	var docs []source.Document
	var errs []source.Error
	// Index counts through the whole chart, as the kustomize renderer's
	// does: the scan orders one input's documents by it, and all of them,
	// from every template, share the chart's place among the inputs.
	for _, r := range rs {
		text := splitGlued(out[r.key])
		var tr object.Tracer
		if traced != nil {
			tr = newTracer(r.file, p.sources[r.key], text, splitGlued(traced[r.key]), p.markNamespace,
				readValuesFiles(chartPath, chartDir(r.file), r.key, p.valueFiles, values))
		} else {
			tr = &tracer{why: "the chart was not traced: its render is near the render time or size limit"}
		}
		errs = append(errs, source.SplitLimited(r.file, strings.NewReader(text), l, func(d source.Document) {
			if blank(d.Data) {
				return
			}
			d.Origin, d.Tracer = origin, tr
			d.Index = len(docs)
			docs = append(docs, d)
		})...)
	}
	return docs, errs
}

// gluedSeparator is a document separator with text after it on its line,
// as `---{{- if ... -}}` renders: Helm's manifest splitter cuts there.
var gluedSeparator = regexp.MustCompile(`(?m)^---([^\s-])`)

// splitGlued puts a space between such a separator and a comment after it
// ("---# ..."), or a line break before other text, so that the documents
// are those Helm installs. A comment keeps the line numbers.
func splitGlued(s string) string {
	if !strings.Contains(s, "---") {
		return s
	}
	return gluedSeparator.ReplaceAllStringFunc(s, func(m string) string {
		if m[3] == '#' {
			return "--- #"
		}
		return "---\n" + m[3:]
	})
}

// chartDir is the chart directory of a template file on disk.
func chartDir(file string) string {
	if i := strings.LastIndex(file, string(filepath.Separator)+"templates"+string(filepath.Separator)); i >= 0 {
		return file[:i]
	}
	return filepath.Dir(filepath.Dir(file))
}

// blank reports whether a document holds nothing but blank lines, comments
// and document markers.
func blank(data []byte) bool {
	for l := range bytes.Lines(data) {
		l = bytes.TrimSpace(l)
		switch {
		case len(l) == 0, l[0] == '#':
		case bytes.Equal(l, []byte("---")), bytes.HasPrefix(l, []byte("--- #")), bytes.Equal(l, []byte("...")):
		default:
			return false
		}
	}
	return true
}

// fileOf maps a template name of the engine to its file on disk.
func fileOf(chartPath string, keys map[string]string, key string) string {
	if f, ok := keys[key]; ok {
		return f
	}
	// Not expected: every rendered template comes from the tree. Drop the
	// chart name, which the engine puts first.
	_, rest, _ := strings.Cut(key, "/")
	return filepath.Join(chartPath, filepath.FromSlash(rest))
}

// tree is a loaded chart and where each of its templates lies on disk.
type tree struct {
	root *chart.Chart
	// disk is where each chart was found, a directory or an archive
	// followed by the directory inside it, by the chart's first raw file.
	// Processing dependencies replaces every subchart with a copy (renamed
	// when aliased) whose slices are shared: files, unlike charts, keep
	// leading back to the disk.
	disk map[*chart.File]string
	// templates maps each template file to its path on disk.
	templates map[*chart.File]string
}

// load reads a chart the way Helm's loader does, and remembers where every
// subchart came from: the loader keeps no paths, and names a subchart by
// its chart name rather than its directory or archive in charts/.
func load(chartPath string) (*tree, error) {
	info, err := os.Stat(chartPath)
	if err != nil {
		return nil, describedError{source.DescribeFSError(err), err}
	}
	t := &tree{disk: map[*chart.File]string{}, templates: map[*chart.File]string{}}
	var files []*loader.BufferedFile
	var base string
	if info.IsDir() {
		// LoadDir applies .helmignore and follows symlinks as helm does;
		// the tree is then rebuilt from the files it read.
		c, err := loader.LoadDir(chartPath)
		if err != nil {
			return nil, err
		}
		for _, f := range c.Raw {
			files = append(files, &loader.BufferedFile{Name: f.Name, Data: f.Data})
		}
		base = chartPath
	} else {
		data, err := os.ReadFile(chartPath)
		if err != nil {
			return nil, describedError{source.DescribeFSError(err), err}
		}
		files, err = loader.LoadArchiveFiles(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("not a chart archive: %w", err)
		}
		base = filepath.Join(chartPath, archiveTop(data))
	}
	t.root, err = t.loadFiles(files, base)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// loadFiles mirrors loader.LoadFiles, which loads charts/ entries in map
// order; here they are loaded in name order, so that charts with two
// entries of one name render the same every time.
func (t *tree) loadFiles(files []*loader.BufferedFile, dir string) (*chart.Chart, error) {
	var own []*loader.BufferedFile
	subs := map[string][]*loader.BufferedFile{}
	for _, f := range files {
		if !strings.HasPrefix(f.Name, "charts/") || filepath.Ext(f.Name) == ".prov" {
			own = append(own, f)
			continue
		}
		name := strings.TrimPrefix(f.Name, "charts/")
		entry, _, _ := strings.Cut(name, "/")
		subs[entry] = append(subs[entry], &loader.BufferedFile{Name: name, Data: f.Data})
	}
	c, err := loader.LoadFiles(own)
	if err != nil {
		return nil, err
	}
	t.disk[c.Raw[0]] = dir
	for _, f := range c.Templates {
		t.templates[f] = filepath.Join(dir, filepath.FromSlash(f.Name))
	}
	entries := make([]string, 0, len(subs))
	for n := range subs {
		entries = append(entries, n)
	}
	sort.Strings(entries)
	for _, n := range entries {
		if strings.IndexAny(n, "_.") == 0 {
			continue
		}
		var sc *chart.Chart
		var err error
		files := subs[n]
		if filepath.Ext(n) == ".tgz" {
			if files[0].Name != n {
				return nil, fmt.Errorf("error unpacking subchart tar in %s: expected %s, got %s", c.Name(), n, files[0].Name)
			}
			var inner []*loader.BufferedFile
			inner, err = loader.LoadArchiveFiles(bytes.NewReader(files[0].Data))
			if err == nil {
				sc, err = t.loadFiles(inner, filepath.Join(dir, "charts", n, archiveTop(files[0].Data)))
			}
		} else {
			inner := make([]*loader.BufferedFile, 0, len(files))
			for _, f := range files {
				if _, rest, ok := strings.Cut(f.Name, "/"); ok {
					inner = append(inner, &loader.BufferedFile{Name: rest, Data: f.Data})
				}
			}
			sc, err = t.loadFiles(inner, filepath.Join(dir, "charts", n))
		}
		if err != nil {
			return nil, fmt.Errorf("error unpacking subchart %s in %s: %w", n, c.Name(), err)
		}
		c.AddDependency(sc)
	}
	return c, nil
}

// archiveTop is the directory a chart archive holds its chart in (the
// chart name, as `helm package` writes it), which Helm's loader drops.
func archiveTop(data []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	tr := tar.NewReader(zr)
	for range 16 {
		hd, err := tr.Next()
		if err != nil {
			return ""
		}
		if hd.Typeflag == tar.TypeXGlobalHeader || hd.Typeflag == tar.TypeXHeader {
			continue
		}
		name := strings.ReplaceAll(hd.Name, "\\", "/")
		top, _, _ := strings.Cut(name, "/")
		if top == "" || top == "." || top == ".." {
			return ""
		}
		return top
	}
	return ""
}

// missingDependencies lists the dependencies c and its subcharts declare
// (Chart.yaml, or requirements.yaml for v1 charts) that charts/ lacks.
// `helm template` refuses such a chart; rendering it anyway would silently
// scan less than gets installed.
func (t *tree) missingDependencies(c *chart.Chart) []source.Error {
	var errs []source.Error
	for _, d := range c.Metadata.Dependencies {
		if d == nil {
			continue
		}
		found := false
		for _, sc := range c.Dependencies() {
			if sc.Name() == d.Name {
				found = true
				break
			}
		}
		if found {
			continue
		}
		msg := fmt.Sprintf("dependency %q is not in charts/: run helm dependency build", d.Name)
		if !c.IsRoot() {
			msg = fmt.Sprintf("dependency %q of subchart %q is not in its charts/", d.Name, c.Name())
		}
		errs = append(errs, source.Error{File: t.diskOf(c), Message: msg})
	}
	for _, sc := range c.Dependencies() {
		errs = append(errs, t.missingDependencies(sc)...)
	}
	return errs
}

// templateFiles maps the names the engine gives templates (the chart path
// through charts/ by chart name or alias, then the template name) to their
// files on disk, once dependencies are processed.
func (t *tree) templateFiles() (keys map[string]string, sources map[string][]byte) {
	keys, sources = map[string]string{}, map[string][]byte{}
	var walk func(c *chart.Chart)
	walk = func(c *chart.Chart) {
		full := c.ChartFullPath()
		for _, f := range c.Templates {
			if f == nil {
				continue
			}
			if disk, ok := t.templates[f]; ok {
				keys[path.Join(full, f.Name)] = disk
				sources[path.Join(full, f.Name)] = f.Data
			}
		}
		for _, sc := range c.Dependencies() {
			walk(sc)
		}
	}
	walk(t.root)
	return keys, sources
}

// userValues merges the value files in order, then --set, as `helm
// template` does; chart values are coalesced under them later. Every
// unreadable file and bad --set is reported, not only the first.
func userValues(chartPath string, opts Options) (map[string]any, []source.Error) {
	base := map[string]any{}
	var errs []source.Error
	for _, vf := range opts.ValueFiles {
		vals, err := readValuesFile(vf)
		if err != nil {
			errs = append(errs, source.Error{File: chartPath, Message: "values file " + vf + ": " + err.Error(), Err: err})
			continue
		}
		// Later files win: a table merges into the one before it, any
		// other value replaces what was there (Helm's -f merge).
		base = chartutil.MergeTables(vals, base)
	}
	for _, s := range opts.Set {
		if err := strvals.ParseInto(s, base); err != nil {
			errs = append(errs, source.Error{File: chartPath, Message: fmt.Sprintf("--set %q: %v", s, err)})
		}
	}
	return base, errs
}

// readValuesFile reads a local values file. Helm would also read standard
// input and fetch URLs; a scan does neither.
func readValuesFile(name string) (chartutil.Values, error) {
	if strings.TrimSpace(name) == "-" {
		return nil, errors.New("reading values from standard input is not supported")
	}
	if u, err := url.Parse(name); err == nil {
		switch u.Scheme {
		case "http", "https", "oci":
			return nil, errors.New("remote values files are not fetched (no network access)")
		}
	}
	vals, err := chartutil.ReadValuesFile(name)
	var pe *fs.PathError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return vals, nil
	case errors.As(err, &pe):
		return nil, describedError{source.DescribeFSError(err), err}
	case errors.As(err, &te) && te.Field == "":
		return nil, describedError{"values must be a table of keys, not " + jsonKind(te.Value), err}
	}
	return nil, describedError{yamlMessage(err), err}
}

// jsonKind names, for users of YAML, a kind of value a
// json.UnmarshalTypeError reports.
func jsonKind(v string) string {
	switch v {
	case "array":
		return "a list"
	case "string", "number":
		return "a " + v
	case "bool":
		return "a boolean"
	}
	return v
}

// yamlMessage says what sigs.k8s.io/yaml, which Helm reads values with,
// found wrong, without the layers it wraps around the parser's error:
// "error converting YAML to JSON: yaml: line 3: ..." reads "line 3: ...".
func yamlMessage(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(err) {
		err = u
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// describedError is an error said in words for users, keeping the error it
// describes as its cause.
type describedError struct {
	msg string
	err error
}

func (e describedError) Error() string { return e.msg }
func (e describedError) Unwrap() error { return e.err }

// validate checks values against the values.schema.json of c and of its
// subcharts, as chartutil.ValidateAgainstSchema does, with one error per
// chart at its schema file. That function is not called: it fetches the
// http(s) and file $refs of a schema, with no way to give it another
// loader, and joins every chart's errors into one text.
func (t *tree) validate(c *chart.Chart, values map[string]any) []source.Error {
	var errs []source.Error
	if c.Schema != nil {
		if msg := validateSchema(c.Schema, values); msg != "" {
			errs = append(errs, source.Error{
				File:    filepath.Join(t.diskOf(c), "values.schema.json"),
				Message: fmt.Sprintf("values of chart %q do not match its schema: %s", c.Name(), msg),
			})
		}
	}
	for _, sc := range c.Dependencies() {
		raw, ok := values[sc.Name()]
		if !ok || raw == nil {
			continue
		}
		sub, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, source.Error{
				File:    t.diskOf(sc),
				Message: fmt.Sprintf("values of chart %q must be a table, not %T", sc.Name(), raw),
			})
			continue
		}
		errs = append(errs, t.validate(sc, sub)...)
	}
	return errs
}

// diskOf finds where a chart, or the copy processing made of it, lies.
func (t *tree) diskOf(c *chart.Chart) string {
	if len(c.Raw) > 0 {
		if d, ok := t.disk[c.Raw[0]]; ok {
			return d
		}
	}
	if r := c.Root(); r != c {
		return t.diskOf(r)
	}
	return ""
}

// offlineLoader stands in for every schema a values.schema.json refers to
// by URL (other than the JSON Schema metaschemas, which are built in): a
// scan never fetches, so such a reference accepts anything.
type offlineLoader struct{}

func (offlineLoader) Load(string) (any, error) { return true, nil }

// validateSchema returns what is wrong with values, or "".
func validateSchema(schemaJSON []byte, values map[string]any) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("cannot validate: %v", r)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return "invalid values.schema.json: " + err.Error()
	}
	const loc = "file:///values.schema.json"
	comp := jsonschema.NewCompiler()
	comp.UseLoader(offlineLoader{})
	if err := comp.AddResource(loc, doc); err != nil {
		return "invalid values.schema.json: " + err.Error()
	}
	sch, err := comp.Compile(loc)
	if err != nil {
		return "invalid values.schema.json: " + err.Error()
	}
	err = sch.Validate(values)
	if err == nil {
		return ""
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "cannot validate: " + err.Error()
	}
	// The top error only names the schema; its causes, each a tree of
	// "at '/path': ..." lines, say what is wrong.
	var lines []string
	for _, c := range ve.Causes {
		for l := range strings.SplitSeq(c.Error(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, strings.TrimPrefix(l, "- "))
			}
		}
	}
	return strings.Join(lines, "; ")
}

// locStart finds where Helm's template errors give a location: text/template
// writes "template: NAME:LINE:COL: ...", Helm rewrites required/fail and
// parse errors to "execution error at (NAME:LINE:COL): ..." and "parse error
// at (NAME:LINE): ...".
var locStart = regexp.MustCompile(`template: |(parse|execution) error at \(`)

// templateError turns a Helm rendering error into an Error at the template
// and line it names, or at the chart when it names none. An error inside
// an included template names every template on the way; the innermost is
// where the mistake is, except inside text given to tpl, whose lines are
// not the file's. The text is all there is to read: the engine rebuilds
// its errors with fmt.Errorf("%s") and keeps no typed location.
func templateError(chartPath string, keys map[string]string, err error) source.Error {
	msg := err.Error()
	type loc struct {
		file      string
		line, col int
		kind      string
		rest      string
	}
	var locs []loc
	prev := 0
	for _, m := range locStart.FindAllStringSubmatchIndex(msg, -1) {
		if m[0] < prev {
			continue
		}
		if strings.Contains(msg[prev:m[0]], "error calling tpl") {
			break
		}
		rest := msg[m[1]:]
		// The longest template name the text starts with: names may hold
		// colons or spaces, so they are matched, not parsed.
		name := ""
		for k := range keys {
			if len(k) > len(name) && strings.HasPrefix(rest, k+":") {
				name = k
			}
		}
		if name == "" {
			continue
		}
		rest = rest[len(name)+1:]
		line, n := leadingInt(rest)
		if n == 0 {
			continue
		}
		rest = rest[n:]
		col := 0
		if strings.HasPrefix(rest, ":") {
			if c, n := leadingInt(rest[1:]); n > 0 {
				// text/template counts columns from 0.
				col = c + 1
				rest = rest[1+n:]
			}
		}
		kind := "template error: "
		if m[2] >= 0 && msg[m[2]:m[3]] == "parse" {
			kind = "template parse error: "
		}
		rest = strings.TrimPrefix(rest, ")")
		rest = strings.TrimPrefix(rest, ": ")
		locs = append(locs, loc{file: keys[name], line: line, col: col, kind: kind, rest: rest})
		prev = len(msg) - len(rest)
	}
	if len(locs) == 0 {
		return source.Error{File: chartPath, Message: "cannot render chart: " + msg}
	}
	in := locs[len(locs)-1]
	e := source.Error{File: in.file, Line: in.line, Column: in.col, Message: in.kind + in.rest}
	if out := locs[0]; len(locs) > 1 && (out.file != in.file || out.line != in.line) {
		e.Message += fmt.Sprintf(" (included from %s:%d)", out.file, out.line)
	}
	return e
}

func leadingInt(s string) (int, int) {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, 0
	}
	v, _ := strconv.Atoi(s[:n])
	return v, n
}

// DefaultValues returns the values.yaml of the chart at path (a directory
// or a packaged .tgz), without its dependencies' values.
func DefaultValues(path string) (map[string]any, error) {
	c, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", path, err)
	}
	return c.Values, nil
}
