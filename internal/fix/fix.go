// Package fix applies the checks' own fixes to Kubernetes manifests with
// the smallest diff. Each fixable check declares its fix beside its Run
// (check.Fix); this package finds what the checks report on an object,
// hands each fixable check its findings, runs the checks again on the
// result and keeps a fix only when it clears its findings and leaves the
// object valid. Only documents that change are edited, line by line where
// possible (package yamledit), and spliced back between the untouched
// bytes of the others.
package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

// DefaultID is the UID and GID set when Options leave them zero: a high
// number no host user or group has (seed 003 uses the 40000-60000 range).
const DefaultID = 50000

// DefaultResources are the values `fix --resources` writes unless the
// configuration gives others: small enough to schedule anywhere, a memory
// limit twice the request, and a CPU limit that throttles only a runaway.
var DefaultResources = check.Resources{RequestsCPU: "100m", RequestsMemory: "128Mi", LimitsCPU: "500m", LimitsMemory: "256Mi"}

// Options configure a fix run.
type Options struct {
	// FixValues are what fixes write beyond the object: the UID and GID
	// (zero: DefaultID), resources and a digest resolver.
	check.FixValues
	// Policy decides which checks run, with which parameters, and which
	// findings are suppressed (and so not fixed); nil: the defaults.
	Policy *policy.Policy
	// Registry holds the checks and their fixes; nil: the built-in ones.
	Registry *check.Registry
	// Checks limits the fixes to these check IDs; nil means every fixable
	// check whose needs FixValues supply.
	Checks map[string]bool
	// Skip is called for each finding a fix saw and left alone; nil drops
	// them.
	Skip func(Skipped)
}

// Skipped is a finding a fix saw and left alone, and why: no safe rewrite
// exists, a value it needs is missing, or the rewrite did not verify.
type Skipped struct {
	Check string
	// Object is Kind/namespace/name, or the Dockerfile stage.
	Object string
	// Line is the 1-based line in the file, 0 when unknown.
	Line   int
	Reason string
}

// Applied is one change made to a manifest.
type Applied struct {
	Check string
	// Object is Kind/namespace/name.
	Object string
	// Path is the field that was changed or added.
	Path string
	// Risky changes may break the workload and need a test run; Risk says
	// what to test ("read-only root filesystem", "UID 1000 to 50000: ...").
	Risky bool
	Risk  string
}

// Fixer applies the fixes of one configuration. Make one with New and use
// it for many files; it is safe for concurrent use.
type Fixer struct {
	opts   Options
	engine *scan.Engine
	// fixes are the enabled object checks with a fix to run, in the order
	// fixes are applied; all are the enabled object checks, for checking
	// that a fix leaves the object valid.
	fixes []*check.ObjectCheck
}

// New returns the fixer of opts.
func New(opts Options) *Fixer {
	if opts.UID == 0 {
		opts.UID = DefaultID
	}
	if opts.GID == 0 {
		opts.GID = DefaultID
	}
	if opts.Registry == nil {
		opts.Registry = checks.Registry()
	}
	if opts.Policy == nil {
		opts.Policy = policy.New(nil, opts.Registry, timeZero)
	}
	fx := &Fixer{opts: opts}
	fx.engine = scan.New(scan.Options{Registry: opts.Registry, Policy: opts.Policy})
	for _, c := range fx.engine.ObjectChecks() {
		if c.Fix == nil || !opts.Supplies(c.Fix.Needs) || (opts.Checks != nil && !opts.Checks[c.ID]) {
			continue
		}
		fx.fixes = append(fx.fixes, c)
	}
	sortFixes(fx.fixes)
	return fx
}

// Manifest fixes the objects of data, a YAML or JSON file of one or more
// documents, with a fixer made from opts; see Fixer.Manifest.
func Manifest(data []byte, opts Options) ([]byte, []Applied, error) {
	return New(opts).Manifest(data)
}

// Manifest fixes every object in data. Documents that need no change keep
// their bytes. A document that does not parse is an error, and nothing is
// returned.
func (fx *Fixer) Manifest(data []byte) (out []byte, applied []Applied, err error) {
	return fx.ManifestAt(context.Background(), "", data)
}

// ManifestAt is Manifest for the file at path, which config exemptions
// by path match. A cancelled ctx stops the work between documents, and
// ManifestAt returns its error and nothing else.
func (fx *Fixer) ManifestAt(ctx context.Context, path string, data []byte) (out []byte, applied []Applied, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, applied, err = nil, nil, fmt.Errorf("cannot fix: %v", r)
		}
	}()
	docs, errs := source.Split("", data)
	if len(errs) > 0 {
		return nil, nil, errors.New(errs[0].Message)
	}
	// The bytes between documents (the blanks between the values of a
	// JSON stream) and after the last are kept as they are.
	starts, err := placeDocs(data, docs)
	if err != nil {
		return nil, nil, err
	}
	results := make([]docResult, len(docs))
	fx.fixAll(ctx, path, docs, results)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	pos := 0
	var skipped []Skipped
	for i, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		buf.Write(data[pos:starts[i]])
		buf.Write(r.out)
		pos = starts[i] + len(docs[i].Data)
		applied = append(applied, r.applied...)
		skipped = append(skipped, r.skipped...)
	}
	buf.Write(data[pos:])
	if fx.opts.Skip != nil {
		for _, s := range skipped {
			fx.opts.Skip(s)
		}
	}
	if len(applied) == 0 {
		return data, nil, nil
	}
	return buf.Bytes(), applied, nil
}

// placeDocs returns where each document of data starts. YAML documents
// follow each other; JSON values may have blanks between them, which
// Split leaves out.
func placeDocs(data []byte, docs []source.Document) ([]int, error) {
	starts := make([]int, len(docs))
	pos := 0
	for i, d := range docs {
		at := -1
		if bytes.HasPrefix(data[pos:], d.Data) {
			at = pos
		} else {
			q := pos
			for q < len(data) && (data[q] == ' ' || data[q] == '\t' || data[q] == '\r' || data[q] == '\n') {
				q++
			}
			ls := pos + bytes.LastIndexByte(data[pos:q], '\n') + 1
			if bytes.HasPrefix(data[ls:], d.Data) {
				at = ls
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("line %d: cannot find the document in the file", d.LineOffset+1)
		}
		starts[i] = at
		pos = at + len(d.Data)
	}
	return starts, nil
}

// rewritten, when set (by tests), is told how every changed document was
// rewritten.
var rewritten func(yamledit.Method)

// docResult is the outcome of fixing one document.
type docResult struct {
	out     []byte
	applied []Applied
	skipped []Skipped
	err     error
}

// parallelDocs is the document count from which a file's documents are
// fixed on every core: they are independent, and parsing dominates.
const parallelDocs = 64

// fixAll fixes docs into results, in parallel for a large file. A panic
// in a worker becomes that document's error.
func (fx *Fixer) fixAll(ctx context.Context, path string, docs []source.Document, results []docResult) {
	one := func(i int) {
		if ctx.Err() != nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				results[i] = docResult{err: fmt.Errorf("cannot fix: %v", r)}
			}
		}()
		r := &results[i]
		r.out, r.applied, r.skipped, r.err = fx.document(path, docs[i])
	}
	workers := runtime.GOMAXPROCS(0)
	if len(docs) < parallelDocs || workers < 2 {
		for i := range docs {
			one(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(docs) || ctx.Err() != nil {
					return
				}
				one(i)
			}
		})
	}
	wg.Wait()
}

// document fixes one document chunk and returns its new bytes, or its
// original bytes when nothing changed.
func (fx *Fixer) document(path string, d source.Document) ([]byte, []Applied, []Skipped, error) {
	root, err := decodeOne(d)
	if err != nil || root == nil {
		return d.Data, nil, nil, err
	}
	o, ok := object.New(object.Resolve(root), path, 0)
	if !ok {
		return d.Data, nil, nil, nil
	}
	// Each object with where it stands: the document itself (item -1),
	// or an item of a List.
	type target struct {
		o    *object.Object
		item int
	}
	targets := []target{{o, -1}}
	if o.IsList() {
		targets = nil
		for i, it := range o.Items() {
			if item, ok := object.New(it, path, 0); ok {
				targets = append(targets, target{item, i})
			}
		}
	}
	// The tree as parsed, for the splicer to compare the fixed tree with.
	var pristine *yaml.Node
	var applied []Applied
	var skipped []Skipped
	for _, tg := range targets {
		o := tg.o
		if pristine == nil && fx.mayFix(o) {
			pristine = yamledit.Clone(root)
		}
		if pristine == nil {
			continue
		}
		// The object's own tree as parsed, to undo a failed fix with.
		before := func() *yaml.Node {
			n := object.Resolve(pristine)
			if tg.item >= 0 {
				n = object.Resolve(object.Get(n, "items").Content[tg.item])
			}
			return yamledit.Clone(n)
		}
		a, s := fx.object(o, before)
		applied = append(applied, a...)
		for _, sk := range s {
			if sk.Line > 0 {
				sk.Line += d.LineOffset
			}
			skipped = append(skipped, sk)
		}
	}
	if len(applied) == 0 {
		return d.Data, nil, skipped, nil
	}
	out, how, err := yamledit.Rewrite(d.Data, pristine, root)
	if rewritten != nil {
		rewritten(how)
	}
	if err != nil {
		// Never drop a comment: the document is left as written, and
		// every fix of it is reported as skipped, with the reason.
		for _, a := range applied {
			skipped = append(skipped, Skipped{Check: a.Check, Object: a.Object, Line: d.LineOffset + 1, Reason: err.Error() + "; the document is left as written"})
		}
		return d.Data, nil, skipped, nil
	}
	return out, applied, skipped, nil
}

// decodeOne parses a document chunk; it returns nil for an empty chunk or
// one that holds several documents (after a `...` end marker), which are
// left as written.
func decodeOne(d source.Document) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(d.Data))
	var roots []*yaml.Node
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The loader's error names the line in the file.
			if _, errs, _ := source.Parse(d); len(errs) > 0 && errs[0].Line > 0 {
				return nil, fmt.Errorf("line %d: %s", errs[0].Line, errs[0].Message)
			}
			return nil, fmt.Errorf("line %d: invalid YAML: %w", d.LineOffset+1, err)
		}
		roots = append(roots, &root)
	}
	if len(roots) != 1 {
		return nil, nil
	}
	if dup := source.DuplicateKey(roots[0], 0); dup != nil {
		// The scanner and kubectl refuse it, and a fix might edit the
		// value that does not take effect.
		return nil, fmt.Errorf("line %d: mapping key %q already defined", dup.Line+d.LineOffset, dup.Value)
	}
	return roots[0], nil
}
