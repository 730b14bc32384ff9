// Package kustomize builds a kustomization in-process with krusty, the
// library behind `kustomize build`, and turns the built objects into
// documents whose findings point at the original resource files and lines.
//
// A build never touches the network unless remote bases are allowed, never
// runs plugins, exec or container functions, and never inflates Helm charts.
// The kustomization on disk is never modified: the origin annotations that
// tie every built object to its file are requested through an in-memory
// view of the top kustomization file.
package kustomize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

// Options configure a build.
type Options struct {
	// AllowRemote lets a kustomization use remote bases and resources (git
	// repositories, HTTP URLs). Off, such a kustomization is not built and
	// every remote entry is reported, before anything is fetched.
	AllowRemote bool
}

// originAnnotation is where kustomize records the file a built object came
// from (buildMetadata: [originAnnotations]).
const originAnnotation = "config.kubernetes.io/origin"

// Build builds the kustomization in dir and returns one document per built
// object, in kustomize's output order (the legacy kind order, or the
// kustomization's sortOptions).
//
// Document.File is the file the object was read from (a base's
// deployment.yaml, joined to dir), or the kustomization file that generated
// it (configMapGenerator, secretGenerator), or the top kustomization file
// when kustomize recorded no origin (remote resources). Document.Locate maps
// a field path of the built object to its line in File: the same field in
// the original object when it exists there, else the nearest parent that
// does (a field or list item a patch added); for a generated object, the
// generator entry. When the original object cannot be found, Locate returns
// ok=false, and the finding falls back to the line of the field in the
// built object (Data), which is not a line of File. Data is the built
// object's YAML, as `kustomize build` prints it, without the origin
// annotation.
//
// Errors name a kustomization file, or the plugin configuration file at
// fault, with a line when known: a remote entry while remote bases are off
// (found before anything is fetched), a helmCharts field, YAML kustomize
// cannot survive (self-referencing or exploding aliases), a file past the
// run's limits or not a regular file (at the entry that names it), or the
// build's error. On any error nothing is returned for the kustomization.
//
// A build is bounded by the run's limits (limits.From(ctx)): every file
// kustomize reads by the input size limit, each of its documents by the
// document size limit, all of them together by the input size limit; the
// output by the render size limit, checked before the build on the
// resource files counted once per inclusion, and after it; the time by
// the render time limit, checked before the build on an estimate of
// krusty's time (see pairCost), and during it. krusty cannot be stopped
// midway: past the time limit, or when ctx ends, Build returns at once
// and the abandoned build reads no more files, but its transformations
// run on in the background until they end, and later builds wait for it
// within their own time limit.
func Build(ctx context.Context, dir string, opts Options) ([]source.Document, []source.Error) {
	kfile := findKustomization(dir)
	if kfile == "" {
		return nil, []source.Error{{File: dir, Message: "not a kustomization: no kustomization.yaml, kustomization.yml or Kustomization"}}
	}
	if err := ctx.Err(); err != nil {
		return nil, []source.Error{{File: kfile, Message: "not built: " + err.Error(), Err: err}}
	}
	l := limits.From(ctx)
	ctx, cancel := context.WithTimeoutCause(ctx, l.RenderTimeout, l.RenderTimeoutExceeded())
	defer cancel()
	t := walkTree(ctx, kfile, opts.AllowRemote)
	if len(t.errs) > 0 {
		return nil, t.errs
	}
	if w := t.weight[visitKey(kfile, false)]; w > l.RenderSize {
		err := l.RenderSizeExceeded()
		return nil, []source.Error{{File: kfile, Err: err,
			Message: fmt.Sprintf("not built: its resources, counted once for each time they are included, come to %s, which %v", limits.Bytes(w), err)}}
	}
	m, fail, err := run(ctx, dir, kfile, t)
	if fail != nil {
		return nil, []source.Error{*fail}
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return nil, []source.Error{{File: kfile, Message: err.Error(), Err: cause}}
		}
		return nil, []source.Error{buildError(dir, kfile, err, t)}
	}
	docs, err := documents(dir, kfile, m, t)
	if err != nil {
		return nil, []source.Error{buildError(dir, kfile, err, t)}
	}
	var size int64
	for _, d := range docs {
		if size += int64(len(d.Data)); size > l.RenderSize {
			err := l.RenderSizeExceeded()
			return nil, []source.Error{{File: kfile, Message: "not built: its output " + err.Error(), Err: err}}
		}
	}
	return docs, nil
}

type result struct {
	m    resmap.ResMap
	fail *source.Error
	err  error
}

// buildSem serialises builds: krusty keeps the OpenAPI schema in a
// package variable that every build resets. It is a channel so that a
// build waits for it no longer than its context lets it.
var buildSem = make(chan struct{}, 1)

// run runs krusty on dir. It returns when the context ends even if krusty
// has not: a remote base can take a long time to clone, and a hostile
// kustomization to transform. fail is the first file the build refused
// to read, at the entry that names it.
func run(ctx context.Context, dir, kfile string, t *tree) (resmap.ResMap, *source.Error, error) {
	fsys, err := newOverlayFS(ctx, dir, kfile, t)
	if err != nil {
		return nil, nil, err
	}
	select {
	case buildSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("not built: waiting for an earlier kustomization build, still running: %w", context.Cause(ctx))
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("kustomize failed: %v", p)}
			}
			r.fail = fsys.fail
			<-buildSem
			done <- r
		}()
		o := krusty.MakeDefaultOptions()
		// Unspecified is what `kustomize build` does without --reorder:
		// the legacy kind order unless the kustomization has sortOptions.
		o.Reorder = krusty.ReorderOptionUnspecified
		o.LoadRestrictions = types.LoadRestrictionsRootOnly
		o.PluginConfig = types.DisabledPluginConfig()
		o.PluginConfig.HelmConfig.Enabled = false
		o.AddManagedbyLabel = false
		r.m, r.err = krusty.MakeKustomizer(o).Run(fsys, dir)
	}()
	select {
	case r := <-done:
		return r.m, r.fail, r.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("not built: %w", context.Cause(ctx))
	}
}

// overlayFS is the disk as kustomize sees it, except for files whose
// content is replaced in memory, and that refuses writes outside
// kustomize's own temporary clones. It reads only regular files within
// the run's limits, and nothing once the build's context has ended.
type overlayFS struct {
	filesys.FileSystem
	files map[string][]byte
	// dir is the kustomization's directory as the user named it.
	dir string
	ctx context.Context
	l   limits.Limits
	t   *tree
	// read is the bytes read so far, cost the squared lengths of their
	// lists and mappings (see pairCost), docs their documents.
	read, cost, docs int64
	costs            costCheck
	fail             *source.Error
}

func newOverlayFS(ctx context.Context, dir, kfile string, t *tree) (*overlayFS, error) {
	disk := filesys.MakeFsOnDisk()
	data, err := readInput(kfile, t.l)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", kfile, err)
	}
	o := &overlayFS{FileSystem: disk, files: map[string][]byte{}, dir: dir, ctx: ctx, l: t.l, t: t}
	if inj := injectOrigin(data); !bytes.Equal(inj, data) {
		o.files[realPath(kfile)] = inj
	}
	return o, nil
}

func (o *overlayFS) content(p string) ([]byte, bool) {
	if len(o.files) == 0 {
		return nil, false
	}
	b, ok := o.files[realPath(p)]
	return b, ok
}

// refuse records why the file p is not read, at the entry that names it,
// and returns the error for kustomize.
func (o *overlayFS) refuse(p string, err error) error {
	if o.fail == nil {
		e := source.Error{File: userPath(o.dir, p), Message: err.Error(), Err: err}
		if r, ok := o.t.refOf(p); ok {
			e = source.Error{File: r.file, Line: r.line, Column: r.col, Message: r.value + ": " + err.Error(), Err: err}
		}
		o.fail = &e
	}
	return fmt.Errorf("%s: %w", p, err)
}

// ReadFile implements filesys.FileSystem. Every file kustomize reads is
// a regular file within the limits, and passes check.
func (o *overlayFS) ReadFile(p string) ([]byte, error) {
	if err := o.ctx.Err(); err != nil {
		return nil, fmt.Errorf("not read: %w", context.Cause(o.ctx))
	}
	b, ok := o.content(p)
	if ok {
		b = append([]byte(nil), b...)
	} else {
		var err error
		if b, err = readInput(p, o.l); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, err // kustomize tries paths that may not exist
			}
			return nil, o.refuse(p, err)
		}
	}
	if o.read = saturatingAdd(o.read, int64(len(b))); o.read > o.l.InputSize {
		return nil, o.refuse(p, fmt.Errorf("the files of the kustomization together: %w", o.l.InputSizeExceeded()))
	}
	if err := o.check(p, b); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return b, nil
}

// check refuses YAML kustomize cannot survive (see checkAliases), and adds
// up the cost of its lists and mappings: past the render time limit, the
// build is refused before krusty transforms anything, since it reads
// every file first. Data that does not parse is left for kustomize to
// report.
func (o *overlayFS) check(p string, data []byte) error {
	docs, _ := source.DecodeNodes(data)
	inline := 0
	if isKustomizationName(filepath.Base(p)) {
		inline = 2 // inline patches
	}
	for _, d := range docs {
		if err := checkAliases(d, 0); err != nil {
			return err
		}
		o.cost = saturatingAdd(o.cost, o.costs.doc(p, d, inline))
	}
	o.docs += int64(len(docs))
	if estimate(o.total()) > o.l.RenderTimeout {
		return o.refuse(p, o.costErr())
	}
	return nil
}

// total is the build's cost: its lists and mappings, and its resources,
// which krusty also compares pairwise (resmap.Append).
func (o *overlayFS) total() int64 {
	return saturatingAdd(o.cost, saturatingMul(o.docs, o.docs))
}

func (o *overlayFS) costErr() error {
	what := fmt.Sprintf("its files hold %d documents", o.docs)
	if o.cost > o.docs*o.docs {
		c := o.costs.longest
		c.file = userPath(o.dir, c.file)
		what = c.String()
	}
	return fmt.Errorf("%s (kustomize's time grows with the square of a list's length and of the number of resources): the build would take about %s, which %w",
		what, estimate(o.total()).Round(time.Second), o.l.RenderTimeoutExceeded())
}

// Open implements filesys.FileSystem.
func (o *overlayFS) Open(p string) (filesys.File, error) {
	if o.IsDir(p) {
		return o.FileSystem.Open(p)
	}
	b, err := o.ReadFile(p)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := mem.WriteFile(p, b); err != nil {
		return nil, err
	}
	return mem.Open(p)
}

var errReadOnly = errors.New("kubeharden builds kustomizations read-only")

// Create implements filesys.FileSystem.
func (o *overlayFS) Create(string) (filesys.File, error) { return nil, errReadOnly }

// Mkdir implements filesys.FileSystem.
func (o *overlayFS) Mkdir(string) error { return errReadOnly }

// MkdirAll implements filesys.FileSystem.
func (o *overlayFS) MkdirAll(string) error { return errReadOnly }

// WriteFile implements filesys.FileSystem.
func (o *overlayFS) WriteFile(string, []byte) error { return errReadOnly }

// RemoveAll implements filesys.FileSystem. Kustomize removes the
// temporary directories it clones remote bases into, and nothing else.
func (o *overlayFS) RemoveAll(p string) error {
	if strings.HasPrefix(filepath.Base(p), "kustomize-") {
		return o.FileSystem.RemoveAll(p)
	}
	return errReadOnly
}

// injectOrigin returns a kustomization that also asks for origin
// annotations. It appends a line when it can, so that the lines of
// kustomize's errors stay those of the file, and otherwise re-encodes it.
// Anything it cannot read is returned unchanged for kustomize to report.
func injectOrigin(data []byte) []byte {
	docs, err := source.DecodeNodes(data)
	if err != nil || len(docs) != 1 {
		return data
	}
	doc := docs[0]
	root := resolve(doc)
	if root == nil || root.Kind != yaml.MappingNode || doc.Content[0] != root {
		return data
	}
	var bm *yaml.Node
	for _, kv := range entries(root, 0) {
		if strings.EqualFold(kv[0].Value, "buildMetadata") {
			bm = kv[1]
		}
	}
	if bm == nil {
		if root.Style&yaml.FlowStyle == 0 {
			out := append([]byte(nil), data...)
			if len(out) > 0 && out[len(out)-1] != '\n' && out[len(out)-1] != '\r' {
				out = append(out, '\n')
			}
			out = append(out, "buildMetadata: [originAnnotations]\n"...)
			if appended(out, len(root.Content)) {
				return out
			}
		}
		root.Content = append(root.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: types.OriginAnnotations},
			}})
		return encode(doc, data)
	}
	if bm.Kind != yaml.SequenceNode {
		return data
	}
	for _, it := range bm.Content {
		if scalar(it) == types.OriginAnnotations {
			return data
		}
	}
	bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: types.OriginAnnotations})
	return encode(doc, data)
}

// appended checks that out is the original mapping of n keys plus a last
// buildMetadata key (the file did not end inside something else).
func appended(out []byte, n int) bool {
	docs, err := source.DecodeNodes(out)
	if err != nil || len(docs) != 1 {
		return false
	}
	r := resolve(docs[0])
	return r != nil && r.Kind == yaml.MappingNode && len(r.Content) == n+2 &&
		r.Content[n].Value == "buildMetadata" && len(items(r.Content[n+1])) == 1
}

func encode(doc *yaml.Node, orig []byte) []byte {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil || enc.Close() != nil {
		return orig
	}
	return buf.Bytes()
}

var (
	targetRE  = regexp.MustCompile(`couldn't make target for path '([^']*)'`)
	kustErrRE = regexp.MustCompile(`invalid Kustomization: (?:error converting YAML to JSON: )?yaml: line (\d+):`)
)

// buildError turns a kustomize error into an input error naming the
// kustomization it is about: the innermost one kustomize could not load,
// else the top one. The line is kept when the error is about that
// kustomization file's YAML.
func buildError(dir, kfile string, err error, t *tree) source.Error {
	msg := err.Error()
	file := kfile
	rest := msg
	if ms := targetRE.FindAllStringSubmatchIndex(msg, -1); len(ms) > 0 {
		last := ms[len(ms)-1]
		target := msg[last[2]:last[3]]
		target = userPath(dir, target)
		if k := findKustomization(target); k != "" {
			file = k
			rest = msg[last[1]:]
		}
	}
	e := source.Error{File: file, Message: "kustomize build failed: " + msg}
	if m := kustErrRE.FindStringSubmatch(rest); m != nil && strings.HasPrefix(strings.TrimLeft(rest, ": "), "invalid Kustomization") {
		line, _ := strconv.Atoi(m[1])
		if data, rerr := readInput(file, t.l); rerr == nil {
			e.Line = clampLine(line, data)
		}
		return e
	}
	if r, ok := t.entryIn(file, rest); ok {
		e.File, e.Line, e.Column = r.file, r.line, r.col
	} else if strings.Contains(rest, "patch") || strings.Contains(rest, " operation ") {
		e.Line, e.Column = patchEntry(file, t)
	}
	return e
}

// patchEntry places an error about a patch that names no file (an inline
// patch, or a patch that matches nothing): at the kustomization's only
// patch entry, or else at the nearest place that holds them all, the first
// patches key; 0 when the file has none.
func patchEntry(file string, t *tree) (line, col int) {
	data, err := readInput(file, t.l)
	if err != nil {
		return 0, 0
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return 0, 0
	}
	root := resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return 0, 0
	}
	var entries []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i]; k.Value {
		case "patches", "patchesStrategicMerge", "patchesJson6902":
			if line == 0 {
				line, col = k.Line, k.Column
			}
			entries = append(entries, items(root.Content[i+1])...)
		}
	}
	if len(entries) == 1 {
		return entries[0].Line, entries[0].Column
	}
	return line, col
}

// entryIn finds the entry a kustomize error is about: kustomize quotes
// the paths it was loading, outermost first ("accumulating resources from
// 'base': ... from 'deployment.yaml'"). Starting at the kustomization
// file, it follows the quoted entries of each kustomization into the
// kustomization they name, and returns the last one found.
func (t *tree) entryIn(kfile, msg string) (ref, bool) {
	var found ref
	ok := false
	cur := realPath(kfile)
	for range maxDepth {
		best, at, n := -1, ref{}, 0
		for _, r := range t.refs {
			if realPath(r.file) != cur {
				continue
			}
			for _, v := range []string{r.value, realPath(r.full)} {
				for _, q := range []string{"'" + v + "'", "(" + v + ")", "[" + v + "]", `"` + v + `"`} {
					if i := strings.Index(msg, q); i >= 0 && (best < 0 || i < best || i == best && r.line < at.line) {
						best, at, n = i, r, len(q)
					}
				}
			}
		}
		if best < 0 {
			break
		}
		found, ok = at, true
		msg = msg[best+n:]
		k := findKustomization(at.full)
		if k == "" {
			break
		}
		cur = realPath(k)
	}
	return found, ok
}

// userPath names a path kustomize gave (its real absolute path) from dir
// as the user named it, when it is below dir or beside.
func userPath(dir, p string) string {
	if rel, err := filepath.Rel(realPath(dir), p); err == nil {
		return filepath.Join(dir, rel)
	}
	return p
}

// documents turns the built objects into documents, stripping the origin
// annotation and finding each object's original.
func documents(dir, kfile string, m resmap.ResMap, t *tree) ([]source.Document, error) {
	res := m.Resources()
	built := make([]*builtObject, 0, len(res))
	for _, r := range res {
		b, err := newBuiltObject(r)
		if err != nil {
			return nil, err
		}
		built = append(built, b)
	}
	l := newLocator(dir, kfile, t)
	docs := make([]source.Document, 0, len(built))
	for i, b := range built {
		file, locate := l.place(b, built)
		docs = append(docs, source.Document{
			File:   file,
			Origin: l.originText(b),
			Locate: locate,
			Index:  i,
			Data:   b.data,
		})
	}
	return docs, nil
}

// builtObject is one object of the build's output.
type builtObject struct {
	kind, name, namespace string
	origin                *resource.Origin
	data                  []byte
	node                  *yaml.Node
}

func newBuiltObject(r *resource.Resource) (*builtObject, error) {
	origin, err := r.GetOrigin()
	if err != nil {
		origin = nil // a malformed annotation is treated as none
	}
	ann := r.GetAnnotations()
	if _, ok := ann[originAnnotation]; ok {
		delete(ann, originAnnotation)
		// An empty map removes the annotations field.
		if err := r.SetAnnotations(ann); err != nil {
			return nil, fmt.Errorf("removing origin annotation: %w", err)
		}
	}
	data, err := r.AsYAML()
	if err != nil {
		return nil, fmt.Errorf("writing %s %s: %w", r.GetKind(), r.GetName(), err)
	}
	b := &builtObject{
		kind:      r.GetKind(),
		name:      r.GetName(),
		namespace: r.GetNamespace(),
		origin:    origin,
		data:      data,
	}
	if docs, err := source.DecodeNodes(data); err == nil && len(docs) == 1 {
		b.node = resolve(docs[0])
	}
	return b, nil
}
