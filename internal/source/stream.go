package source

import (
	"context"
	"io"
	"iter"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// ItemKind tells what an Item carries.
type ItemKind int

// Item kinds.
const (
	// Opened starts an input (a file, stdin, a chart, a kustomization):
	// the engine counts inputs by it, even those with no documents.
	Opened ItemKind = iota
	// Manifest is one YAML or JSON document of Kubernetes objects.
	ManifestDoc
	// DockerfileDoc is a whole Dockerfile.
	DockerfileDoc
	// Failed is an input error: the input, or part of it, cannot be read.
	Failed
)

// Item is one thing a source yields to the engine.
type Item struct {
	Kind ItemKind
	// Input is the position of the input on the command line, after
	// expansion: findings are ordered by it, then by line.
	Input int
	// Path names the input for Opened items.
	Path string
	// Doc is set for ManifestDoc and DockerfileDoc items.
	Doc Document
	// Err is set for Failed items.
	Err Error
}

// Renderer renders a chart or kustomization at path into documents.
// Rendering errors are input errors naming the chart or kustomization.
type Renderer func(ctx context.Context, path string) ([]Document, []Error)

// Options configure how paths become items.
type Options struct {
	// Exclude skips paths matching these globs (** matches directories).
	Exclude []string
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Renderers turn charts and kustomizations into documents; a kind
	// without one is an input error.
	Renderers map[Kind]Renderer
}

// Walk expands inputs (files, directories, charts, kustomizations, "-")
// and yields their documents in input order, reading each file as a
// stream. It stops early when ctx is done: a file being read is cut off.
func Walk(ctx context.Context, inputs []string, opts Options) iter.Seq[Item] {
	return func(yield func(Item) bool) {
		files, errs := Expand(inputs, opts.Exclude)
		for _, e := range errs {
			if !yield(Item{Kind: Failed, Input: len(files), Err: e}) {
				return
			}
		}
		for i, f := range files {
			if ctx.Err() != nil || !yield(Item{Kind: Opened, Input: i, Path: f.Path}) {
				return
			}
			if !walkFile(ctx, i, f, opts, yield) {
				return
			}
		}
	}
}

// walkFile yields the items of one expanded input; false stops the walk.
func walkFile(ctx context.Context, i int, f File, opts Options, yield func(Item) bool) bool {
	fail := func(e Error) bool { return yield(Item{Kind: Failed, Input: i, Err: e}) }
	switch f.Kind {
	case Dockerfile:
		rc, err := Open(f, opts.Stdin)
		if err != nil {
			return fail(Error{File: f.Path, Message: "cannot read: " + err.Error(), Err: err})
		}
		defer rc.Close() //nolint:errcheck // read-only: a close error loses nothing
		data, err := io.ReadAll(LimitInput(ctxReader{ctx, rc}, limits.From(ctx)))
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			return fail(readError(f.Path, LineBreaks(data)+1, err))
		}
		return yield(Item{Kind: DockerfileDoc, Input: i, Doc: Document{File: f.Path, Data: data}})
	case Manifest:
		rc, err := Open(f, opts.Stdin)
		if err != nil {
			return fail(Error{File: f.Path, Message: "cannot read: " + err.Error(), Err: err})
		}
		defer rc.Close() //nolint:errcheck // read-only: a close error loses nothing
		more := true
		errs := SplitBatches(f.Path, ctxReader{ctx, rc}, limits.From(ctx), func(d Document) {
			more = more && yield(Item{Kind: ManifestDoc, Input: i, Doc: d})
		})
		for _, e := range errs {
			more = more && ctx.Err() == nil && fail(e)
		}
		return more
	}
	render := opts.Renderers[f.Kind]
	if render == nil {
		return fail(Error{File: f.Path, Message: "is a " + f.Kind.String() + ", which this command does not render"})
	}
	docs, errs := render(ctx, f.Path)
	for _, d := range docs {
		if !yield(Item{Kind: ManifestDoc, Input: i, Doc: d}) {
			return false
		}
	}
	for _, e := range errs {
		if !fail(e) {
			return false
		}
	}
	return true
}

// ctxReader stops a read when its context is done, so that a signal cuts
// a large file short.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Documents yields the given documents as the items of one input each, in
// order: for callers that hold bytes already (a test, an AdmissionReview).
func Documents(docs ...Document) iter.Seq[Item] {
	return func(yield func(Item) bool) {
		for i, d := range docs {
			if !yield(Item{Kind: Opened, Input: i, Path: d.File}) || !yield(Item{Kind: ManifestDoc, Input: i, Doc: d}) {
				return
			}
		}
	}
}
