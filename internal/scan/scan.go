// Package scan is the one engine behind every front end: it consumes a
// stream of items (documents of objects, Dockerfiles, input errors) from
// any source, runs the enabled checks of a registry over them concurrently,
// decides the findings that depend on other objects against the facts of
// the stream (or facts the caller supplies, such as a cluster's), and
// applies the policy. It knows no file paths: sources turn paths, charts
// and kustomizations into items (package source).
package scan

import (
	"context"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// Options configure the engine.
type Options struct {
	Registry *check.Registry
	// Policy decides which checks run and which findings count; nil means
	// the defaults, judged today.
	Policy *policy.Policy
	// Namespace is where objects without a namespace are placed.
	Namespace string
	// Facts are the facts of objects outside the stream (a cluster's),
	// consulted before the stream's own; nil for none.
	Facts check.Facts
	// Workers defaults to GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
	// DockerfileTarget selects the final stage of Dockerfiles (--target);
	// "" means the last stage.
	DockerfileTarget string
	// Vulnerabilities, when set, finds the known vulnerabilities of an
	// image (offline matching, ingested reports, VEX) for
	// image-vulnerability. Its error is an input error of the image; the
	// matches it returns with one are still reported.
	Vulnerabilities func(ctx context.Context, img *image.Image) ([]vuln.Match, error)
}

// Result is everything a scan found.
type Result struct {
	Findings   []check.Finding
	Suppressed []check.Finding
	Errors     []source.Error
	Files      int
	Objects    int
	// NamespaceObjects counts the objects scanned per namespace as the
	// manifest writes it ("" for none), for reports that score each
	// namespace; nil when no object was scanned.
	NamespaceObjects map[string]int
	// Checks are the checks that ran, with their effective severity.
	Checks []check.Meta
	// ImageRefs are the container images the scanned workloads run,
	// sorted and unique, for `scan --images`.
	ImageRefs []string
	// Images are the images inspected, for reports that describe them.
	Images []*image.Image
}

// Merge appends the results of a second scan (images after manifests) to
// a: findings, errors and counts add up, checks are listed once.
func Merge(a, b *Result) *Result {
	a.Findings = append(a.Findings, b.Findings...)
	a.Suppressed = append(a.Suppressed, b.Suppressed...)
	a.Errors = append(a.Errors, b.Errors...)
	a.Files += b.Files
	a.Objects += b.Objects
	for ns, n := range b.NamespaceObjects {
		if a.NamespaceObjects == nil {
			a.NamespaceObjects = map[string]int{}
		}
		a.NamespaceObjects[ns] += n
	}
	a.Images = append(a.Images, b.Images...)
	for _, m := range b.Checks {
		if !slices.ContainsFunc(a.Checks, func(x check.Meta) bool { return x.ID == m.ID }) {
			a.Checks = append(a.Checks, m)
		}
	}
	return a
}

// Engine runs checks. Make one with New; it is safe for concurrent use.
type Engine struct {
	opts      Options
	pol       *policy.Policy
	objChecks []*check.ObjectCheck
	dfChecks  []*dockerfilecheck.Check
	imgChecks []*imagecheck.Check
	clChecks  []*clustercheck.Check
	checks    []check.Meta
	strings   interner
}

// New returns an engine for the enabled checks of opts.Registry, each at
// its configured severity.
func New(opts Options) *Engine {
	if opts.Policy == nil {
		opts.Policy = policy.New(nil, opts.Registry, time.Time{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, pol: opts.Policy}
	for _, entry := range opts.Registry.Entries() {
		m := entry.Metadata()
		if !e.pol.Enabled(m.ID) {
			continue
		}
		sev := e.pol.Severity(m.ID, m.Severity)
		switch c := entry.(type) {
		case *check.ObjectCheck:
			cc := *c
			cc.Severity = sev
			e.objChecks = append(e.objChecks, &cc)
		case *dockerfilecheck.Check:
			cc := *c
			cc.Severity = sev
			e.dfChecks = append(e.dfChecks, &cc)
		case *imagecheck.Check:
			cc := *c
			cc.Severity = sev
			e.imgChecks = append(e.imgChecks, &cc)
		case *clustercheck.Check:
			cc := *c
			cc.Severity = sev
			e.clChecks = append(e.clChecks, &cc)
		}
		mm := *m
		mm.Severity = sev
		e.checks = append(e.checks, mm)
	}
	for _, m := range policy.Checks() {
		if e.pol.Enabled(m.ID) {
			e.checks = append(e.checks, e.pol.Effective(m))
		}
	}
	return e
}

// Policy returns the engine's policy.
func (e *Engine) Policy() *policy.Policy { return e.pol }

// ObjectChecks returns the enabled object checks, at their configured
// severity, sorted by ID.
func (e *Engine) ObjectChecks() []*check.ObjectCheck { return e.objChecks }

// Run scans items with an engine made from opts; see Engine.Scan.
func Run(ctx context.Context, items iter.Seq[source.Item], opts Options) *Result {
	return New(opts).Scan(ctx, items)
}

// Scan runs the checks over every item. It never fails as a whole: input
// errors are reported in Result.Errors and everything else is still
// scanned. It stops taking items when ctx is done.
func (e *Engine) Scan(ctx context.Context, items iter.Seq[source.Item]) *Result {
	res := &Result{Checks: slices.Clone(e.checks)}
	lim := limits.From(ctx)
	order := newOrder()
	workers := e.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan source.Item, 4*workers)
	results := make(chan docResult, 4*workers)
	var readErrs []source.Error
	go func() {
		defer close(jobs)
		for it := range items {
			if ctx.Err() != nil {
				return
			}
			switch it.Kind {
			case source.Opened:
				res.Files++
				order.add(it.Path, it.Input)
			case source.Failed:
				readErrs = append(readErrs, it.Err)
			default:
				order.add(it.Doc.File, it.Input)
				jobs <- it
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range jobs {
				results <- e.scanItem(it, lim)
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	var c collector
	for r := range results {
		c.add(r)
	}
	res.Errors = append(res.Errors, readErrs...)
	c.finish(e, res, order)
	return res
}

// ObjectResult is what the engine found on one object handed to it
// directly (Engine.Object).
type ObjectResult struct {
	Findings   []check.Finding
	Suppressed []check.Finding
	// Errors are the object's input errors: fields the API server would
	// reject.
	Errors []source.Error
	// Deferred are the findings of Findings and Suppressed that depend on
	// other objects (decided against the facts): the webhook does not deny
	// them before it knows the cluster's facts.
	Deferred []check.Finding
}

// Object runs the checks over one object, deciding the findings that
// depend on other objects against facts (nil: the object alone) plus what
// the object itself shows: the webhook judges an object this way against
// the cluster's facts, and fix checks its work.
func (e *Engine) Object(o *object.Object, facts check.Facts) ObjectResult {
	return e.ObjectWith(o, facts, e.objChecks)
}

// ObjectWith is Object with only the given checks (of this engine's).
func (e *Engine) ObjectWith(o *object.Object, facts check.Facts, checks []*check.ObjectCheck) ObjectResult {
	r := docResult{plain: true}
	e.scanObject(o, inputPos{}, checks, &r)
	idx := check.Over(facts, e.opts.Namespace)
	for _, f := range r.facts {
		idx.AddKept(f.key, f.v)
	}
	out := ObjectResult{Findings: r.findings, Suppressed: r.suppressed, Errors: r.errors}
	for _, d := range decide(r.deferred, idx, nil) {
		out.Deferred = append(out.Deferred, d)
		if d.Suppression() != nil {
			out.Suppressed = append(out.Suppressed, d)
		} else {
			out.Findings = append(out.Findings, d)
		}
	}
	sortFindings(out.Findings, nil)
	sortFindings(out.Suppressed, nil)
	return out
}

// Keep runs the checks over o only for the facts they keep about it
// (check.Pass.Keep), handed to keep in the order kept; findings are
// dropped. The webhook keeps the facts of the cluster's objects this way,
// never the objects.
func (e *Engine) Keep(o *object.Object, keep func(key string, v any)) {
	ref := &check.ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Origin: o.Origin}
	pass := check.NewPass(o, e.pol.Params(), e.namespace(o), ref, func(check.Finding, check.Deferral) {}, keep)
	for _, c := range e.objChecks {
		if c.Applies == nil || c.Applies(o) {
			pass.Run(c)
		}
	}
}

// RunImages runs the image checks on flattened images. Findings are
// located at the image reference, with the offending paths in the message
// and the field path.
func RunImages(ctx context.Context, images []*image.Image, opts Options) *Result {
	e := New(opts)
	res := &Result{Files: len(images), Images: images}
	for _, m := range e.checks {
		if m.Target == check.Images {
			res.Checks = append(res.Checks, m)
		}
	}
	for _, m := range policy.Checks() {
		if e.pol.Enabled(m.ID) {
			res.Checks = append(res.Checks, e.pol.Effective(m))
		}
	}
	order := newOrder()
	for i, img := range images {
		if ctx.Err() != nil {
			break
		}
		order.add(img.Ref, i)
		var r docResult
		var vulns []vuln.Match
		if opts.Vulnerabilities != nil && e.pol.Enabled(vulnCheckID) {
			ms, err := opts.Vulnerabilities(ctx, img)
			if err != nil {
				res.Errors = append(res.Errors, source.Error{File: img.Ref, Message: err.Error(), Err: err})
			}
			vulns = e.judgeVulnerabilities(ms)
		}
		imagecheck.Run(e.imgChecks, img, vulns, e.pol.Params(), e.fileEmit(nil, &r))
		res.Findings = append(res.Findings, r.findings...)
		res.Suppressed = append(res.Suppressed, r.suppressed...)
		res.Objects++
	}
	res.Findings = append(res.Findings, e.pol.ExpiredExemptions()...)
	sortFindings(res.Findings, order)
	sortFindings(res.Suppressed, order)
	return res
}

// vulnCheckID is the check the Vulnerabilities hook feeds.
const vulnCheckID = "image-vulnerability"

// judgeVulnerabilities applies the policy to matches: those below
// vulnerabilities.severity are dropped, those an ignore entry covers are
// suppressed (a VEX suppression, already set, stands). The result is
// never nil, so that the check knows a source was given.
func (e *Engine) judgeVulnerabilities(ms []vuln.Match) []vuln.Match {
	out := make([]vuln.Match, 0, len(ms))
	for _, m := range ms {
		if !e.pol.ReportsVulnerability(m.Rating.Severity) {
			continue
		}
		if m.Suppression == nil {
			m.Suppression = e.pol.VulnerabilitySuppression(m.IDs(), m.Package.Name)
		}
		out = append(out, m)
	}
	return out
}

// RunCluster runs the cluster checks on t, on the policy's clock: once
// per cluster, whatever the number of objects. Findings have no object and
// are located at t.Name; config exemptions by check still apply.
func RunCluster(t clustercheck.Target, opts Options) *Result {
	e := New(opts)
	res := &Result{}
	for _, m := range e.checks {
		if m.Target == check.Cluster {
			res.Checks = append(res.Checks, m)
		}
	}
	var r docResult
	clustercheck.Run(e.clChecks, t, e.pol.Params(), e.pol.Now, e.fileEmit(nil, &r))
	res.Findings, res.Suppressed = r.findings, r.suppressed
	sortFindings(res.Findings, nil)
	sortFindings(res.Suppressed, nil)
	return res
}

// scanItem parses one document, or one Dockerfile, and runs the checks.
func (e *Engine) scanItem(it source.Item, lim limits.Limits) docResult {
	var r docResult
	if it.Kind == source.DockerfileDoc {
		e.scanDockerfile(it.Doc, lim, &r)
		return r
	}
	objs, errs, skipped := source.Parse(it.Doc)
	r.errors = errs
	if skipped != "" {
		e.opts.Logger.Debug("skipped document", "file", it.Doc.File, "batch_line", it.Doc.LineOffset+1, "reason", skipped)
	}
	for i, o := range objs {
		r.objects++
		r.namespaces = append(r.namespaces, o.Namespace)
		e.scanObject(o, inputPos{file: it.Input, doc: it.Doc.Index, item: i}, e.objChecks, &r)
	}
	// Sorted here, on every core, by file and line: the collector then
	// only orders the chunks (see merge).
	sortFindings(r.findings, nil)
	return r
}

func (e *Engine) namespace(o *object.Object) string {
	if o.Namespace != "" {
		return o.Namespace
	}
	return e.opts.Namespace
}

// scanObject runs the object checks over o into r.
func (e *Engine) scanObject(o *object.Object, pos inputPos, checks []*check.ObjectCheck, r *docResult) {
	r.errors = append(r.errors, objectErrors(o)...)
	if p := o.PodSpec(); p != nil {
		for _, c := range p.Containers {
			if c.Image.V != "" {
				r.images = append(r.images, c.Image.V)
			}
		}
	}
	ref := &check.ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Origin: o.Origin}
	ns := e.namespace(o)
	ann := e.pol.Annotations(o, ref)
	r.findings = append(r.findings, ann.Invalid...)
	keep := func(key string, v any) { r.facts = append(r.facts, fact{inputPos: pos, key: key, v: v}) }
	emit := func(f check.Finding, d check.Deferral) {
		if !r.plain {
			f.Message, f.Path = e.strings.intern(f.Message), e.strings.intern(f.Path)
		}
		f.SetSuppression(e.pol.Suppression(&f, &ann, ns))
		switch {
		case d.Unless != nil || d.Once != "":
			// Whether it exists at all is known only at the end.
			r.deferred = append(r.deferred, deferred{f: f, Deferral: d})
		case f.Suppression() != nil:
			r.suppressed = append(r.suppressed, f)
		default:
			r.findings = append(r.findings, f)
		}
	}
	// One pass serves every check of the object.
	pass := check.NewPass(o, e.pol.Params(), ns, ref, emit, keep)
	for _, c := range checks {
		if c.Applies != nil && !c.Applies(o) {
			continue
		}
		pass.Run(c)
	}
}

// objectErrors are o's input errors: a built-in kind without a name, and
// pod spec fields the API server would reject.
func objectErrors(o *object.Object) []source.Error {
	var errs []source.Error
	// Custom resources are often consumed by tools (istioctl's
	// IstioOperator) rather than applied, and may go without a name; a
	// built-in kind never may.
	if o.Name == "" && o.BuiltIn() {
		line, col := o.Pos(o.MetadataRef())
		errs = append(errs, source.Error{File: o.File, Line: line, Column: col, Message: o.Kind + " has no metadata.name"})
	}
	if p := o.PodSpec(); p != nil {
		for _, fe := range p.Errors {
			line, col := o.Pos(fe.Ref)
			errs = append(errs, source.Error{File: o.File, Line: line, Column: col, Message: fe.Message})
		}
	}
	return errs
}

// fileEmit returns the emitter of Dockerfile and image findings: inline
// suppressions first, then config exemptions.
func (e *Engine) fileEmit(inline func(check.Finding) *check.Suppression, r *docResult) func(check.Finding) {
	return func(f check.Finding) {
		if inline != nil {
			f.SetSuppression(inline(f))
		}
		if f.Suppression() == nil {
			f.SetSuppression(e.pol.Suppression(&f, nil, ""))
		}
		if f.Suppression() != nil {
			r.suppressed = append(r.suppressed, f)
		} else {
			r.findings = append(r.findings, f)
		}
	}
}

// sortFindings orders findings as the input is: by input, file, line,
// column, check and message.
func sortFindings(fs []check.Finding, o *inputOrder) {
	slices.SortFunc(fs, func(a, b check.Finding) int { return o.cmp(&a, &b) })
}
