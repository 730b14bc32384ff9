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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

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

// buildMu serialises builds: krusty keeps the OpenAPI schema in a package
// variable that every build resets.
var buildMu sync.Mutex

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
// cannot survive (self-referencing or exploding aliases), or the build's
// error. On any error nothing is returned for the kustomization.
func Build(ctx context.Context, dir string, opts Options) ([]source.Document, []source.Error) {
	kfile := findKustomization(dir)
	if kfile == "" {
		return nil, []source.Error{{File: dir, Message: "not a kustomization: no kustomization.yaml, kustomization.yml or Kustomization"}}
	}
	if err := ctx.Err(); err != nil {
		return nil, []source.Error{{File: kfile, Message: "not built: " + err.Error(), Err: err}}
	}
	t := walkTree(kfile, opts.AllowRemote)
	if len(t.errs) > 0 {
		return nil, t.errs
	}
	m, err := run(ctx, dir, kfile)
	if err != nil {
		return nil, []source.Error{buildError(dir, kfile, err)}
	}
	docs, err := documents(dir, kfile, m, t)
	if err != nil {
		return nil, []source.Error{buildError(dir, kfile, err)}
	}
	return docs, nil
}

type result struct {
	m   resmap.ResMap
	err error
}

// run runs krusty on dir. It returns when the context ends even if krusty
// has not: a remote base can take a long time to clone.
func run(ctx context.Context, dir, kfile string) (resmap.ResMap, error) {
	fsys, err := newOverlayFS(kfile)
	if err != nil {
		return nil, err
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("kustomize failed: %v", p)}
			}
			done <- r
		}()
		buildMu.Lock()
		defer buildMu.Unlock()
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
		return r.m, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("not built: %w", ctx.Err())
	}
}

// overlayFS is the disk as kustomize sees it, except for files whose
// content is replaced in memory, and that refuses writes outside
// kustomize's own temporary clones.
type overlayFS struct {
	filesys.FileSystem
	files map[string][]byte
}

func newOverlayFS(kfile string) (*overlayFS, error) {
	disk := filesys.MakeFsOnDisk()
	data, err := readRegular(kfile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", kfile, err)
	}
	o := &overlayFS{FileSystem: disk, files: map[string][]byte{}}
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

// ReadFile implements filesys.FileSystem. Every file kustomize reads
// passes checkYAML first.
func (o *overlayFS) ReadFile(p string) ([]byte, error) {
	b, ok := o.content(p)
	if ok {
		b = append([]byte(nil), b...)
	} else {
		var err error
		if b, err = o.FileSystem.ReadFile(p); err != nil {
			return nil, err
		}
	}
	if err := checkYAML(b); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return b, nil
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
	docs, err := parseDocs(data)
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
	docs, err := parseDocs(out)
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
func buildError(dir, kfile string, err error) source.Error {
	msg := err.Error()
	file := kfile
	rest := msg
	if ms := targetRE.FindAllStringSubmatchIndex(msg, -1); len(ms) > 0 {
		last := ms[len(ms)-1]
		target := msg[last[2]:last[3]]
		// kustomize names directories by their real absolute path; name
		// them from dir as the user did when they are below it or beside.
		if rel, err := filepath.Rel(realPath(dir), target); err == nil {
			target = filepath.Join(dir, rel)
		}
		if k := findKustomization(target); k != "" {
			file = k
			rest = msg[last[1]:]
		}
	}
	e := source.Error{File: file, Message: "kustomize build failed: " + msg}
	if m := kustErrRE.FindStringSubmatch(rest); m != nil && strings.HasPrefix(strings.TrimLeft(rest, ": "), "invalid Kustomization") {
		line, _ := strconv.Atoi(m[1])
		if data, rerr := readRegular(file); rerr == nil {
			e.Line = clampLine(line, data)
		}
	}
	return e
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
	if docs, err := parseDocs(data); err == nil && len(docs) == 1 {
		b.node = resolve(docs[0])
	}
	return b, nil
}
