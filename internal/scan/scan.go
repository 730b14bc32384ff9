// Package scan runs the checks of a registry over the objects of a set of
// inputs, concurrently, and applies configuration and suppressions. It is
// the one engine behind every front end.
package scan

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// SuppressAnnotationPrefix starts the annotation that suppresses a check on
// one object: ignore.kubeharden.io/<check-id>: "<reason>".
const SuppressAnnotationPrefix = "ignore.kubeharden.io/"

// Engine-level checks: reported by the engine itself, not run on objects.
var (
	InvalidSuppression = check.Meta{
		ID:          "invalid-suppression",
		Title:       "Invalid suppression annotation",
		Severity:    check.Low,
		Description: "An ignore.kubeharden.io/<check-id> annotation names no known check or gives no reason. It suppresses nothing: a suppression must say why, so that a reviewer can judge it.",
		Remediation: "Name an existing check ID and give the reason as the annotation value.",
		References:  []string{"kubeharden: suppression"},
	}
	ExpiredExemption = check.Meta{
		ID:          "expired-exemption",
		Title:       "Expired exemption",
		Severity:    check.Low,
		Description: "An exemption in .kubeharden.yaml has passed its expiry date. It no longer suppresses anything, and the findings it covered are reported again.",
		Remediation: "Fix the exempted findings and remove the exemption, or extend its expiry date with a reason.",
		References:  []string{"kubeharden: configuration"},
	}
)

// EngineChecks lists the engine-level checks, for docs and reports.
func EngineChecks() []check.Meta { return []check.Meta{ExpiredExemption, InvalidSuppression} }

// Options configure a scan.
type Options struct {
	Registry *check.Registry
	Config   *config.Config
	// Namespace is where objects without a namespace are placed.
	Namespace string
	Exclude   []string
	Stdin     io.Reader
	// Workers defaults to GOMAXPROCS.
	Workers int
	// Now is the day exemptions expire against; zero means today.
	Now    time.Time
	Logger *slog.Logger
	// Renderers turn charts and kustomizations into documents.
	Renderers map[source.Kind]Renderer
	// DockerfileTarget selects the final stage of Dockerfiles (--target);
	// "" means the last stage.
	DockerfileTarget string
}

// Renderer renders a chart or kustomization at path into documents.
// Rendering errors are input errors naming the chart or kustomization.
type Renderer func(ctx context.Context, path string) ([]source.Document, []source.Error)

// Result is everything a scan found.
type Result struct {
	Findings   []check.Finding
	Suppressed []check.Finding
	Errors     []source.Error
	Files      int
	Objects    int
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
	a.Images = append(a.Images, b.Images...)
	seen := map[string]bool{}
	for _, m := range a.Checks {
		seen[m.ID] = true
	}
	for _, m := range b.Checks {
		if !seen[m.ID] {
			a.Checks = append(a.Checks, m)
		}
	}
	return a
}

type deferred struct {
	f check.Finding
	check.Deferral
}

type docJob struct {
	file int
	doc  source.Document
	// dockerfile marks a job that is a whole Dockerfile.
	dockerfile bool
}

type docResult struct {
	images     []string
	findings   []check.Finding
	suppressed []check.Finding
	deferred   []deferred
	errors     []source.Error
	facts      []fact
	objects    int
}

// inputPos orders objects as the input does.
type inputPos struct{ file, doc, item int }

func (a inputPos) less(b inputPos) bool {
	if a.file != b.file {
		return a.file < b.file
	}
	if a.doc != b.doc {
		return a.doc < b.doc
	}
	return a.item < b.item
}

// fact is a value a check kept about an object (check.Pass.Keep).
type fact struct {
	inputPos
	key string
	v   any
}

type engine struct {
	opts   Options
	checks []*check.Check
	// dfChecks and imgChecks run on Dockerfiles and images.
	dfChecks  []*check.Check
	imgChecks []*check.Check
	params    check.Params
	now       time.Time
	fileIdx   map[string]int
	strings   interner
}

// interner shares the backing of equal strings. Field paths and messages
// repeat across objects (the same container names, the same paths), and a
// large scan holds hundreds of thousands of findings until it reports.
type interner struct {
	shards [16]struct {
		sync.Mutex
		m map[string]string
	}
}

func (in *interner) intern(s string) string {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	sh := &in.shards[h%uint32(len(in.shards))]
	sh.Lock()
	defer sh.Unlock()
	if v, ok := sh.m[s]; ok {
		return v
	}
	if sh.m == nil {
		sh.m = map[string]string{}
	}
	sh.m[s] = s
	return s
}

// Run scans inputs. It never fails as a whole: unreadable inputs are
// reported in Result.Errors and everything else is still scanned.
func Run(ctx context.Context, inputs []string, opts Options) *Result {
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &engine{opts: opts, params: opts.Config.Params(), now: opts.Now}
	if e.now.IsZero() {
		e.now = time.Now()
	}
	res := &Result{}
	for _, c := range opts.Registry.All() {
		if !opts.Config.Enabled(c.ID) {
			continue
		}
		cc := *c
		cc.Severity = opts.Config.Severity(c.ID, c.Severity)
		switch c.Target {
		case check.Objects:
			e.checks = append(e.checks, &cc)
		case check.Dockerfiles:
			e.dfChecks = append(e.dfChecks, &cc)
		case check.Images:
			e.imgChecks = append(e.imgChecks, &cc)
		}
		res.Checks = append(res.Checks, cc.Meta)
	}
	for _, m := range EngineChecks() {
		if opts.Config.Enabled(m.ID) {
			m.Severity = opts.Config.Severity(m.ID, m.Severity)
			res.Checks = append(res.Checks, m)
		}
	}

	files, errs := source.Expand(inputs, opts.Exclude)
	res.Errors = append(res.Errors, errs...)
	res.Files = len(files)
	e.fileIdx = make(map[string]int, len(files))
	for i, f := range files {
		e.fileIdx[f.Path] = i
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan docJob, 4*workers)
	results := make(chan docResult, 4*workers)
	var readErrs []source.Error
	go func() {
		defer close(jobs)
		for i, f := range files {
			if ctx.Err() != nil {
				return
			}
			if f.Kind == source.Dockerfile {
				data, err := os.ReadFile(f.Path)
				if err != nil {
					readErrs = append(readErrs, source.Error{File: f.Path, Message: "cannot read: " + err.Error()})
					continue
				}
				jobs <- docJob{file: i, doc: source.Document{File: f.Path, Data: data}, dockerfile: true}
				continue
			}
			if f.Kind != source.Manifest {
				render := opts.Renderers[f.Kind]
				if render == nil {
					readErrs = append(readErrs, source.Error{File: f.Path, Message: "is a " + f.Kind.String() + ", which this command does not render"})
					continue
				}
				docs, rerrs := render(ctx, f.Path)
				readErrs = append(readErrs, rerrs...)
				for _, d := range docs {
					// Rendered files sort where their chart was named. Only
					// this goroutine writes fileIdx until the scan ends.
					if _, ok := e.fileIdx[d.File]; !ok {
						e.fileIdx[d.File] = i
					}
					jobs <- docJob{file: i, doc: d}
				}
				continue
			}
			rc, err := source.Open(f, opts.Stdin)
			if err != nil {
				readErrs = append(readErrs, source.Error{File: f.Path, Message: "cannot read: " + err.Error()})
				continue
			}
			serrs := source.SplitBatches(f.Path, rc, func(d source.Document) { jobs <- docJob{file: i, doc: d} })
			_ = rc.Close() // read-only: a close error loses nothing
			readErrs = append(readErrs, serrs...)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- e.scanDoc(j)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var pending []deferred
	var facts []fact
	// Findings are collected per document and copied once into a slice of
	// the exact size: appending hundreds of thousands of them to one slice
	// would hold up to three times their size while it grows.
	var chunks [][]check.Finding
	total := 0
	imageSet := map[string]bool{}
	for r := range results {
		if len(r.findings) > 0 {
			chunks = append(chunks, r.findings)
			total += len(r.findings)
		}
		res.Suppressed = append(res.Suppressed, r.suppressed...)
		res.Errors = append(res.Errors, r.errors...)
		res.Objects += r.objects
		for _, ref := range r.images {
			imageSet[ref] = true
		}
		pending = append(pending, r.deferred...)
		facts = append(facts, r.facts...)
	}
	res.Errors = append(res.Errors, readErrs...)
	for ref := range imageSet {
		res.ImageRefs = append(res.ImageRefs, ref)
	}
	sort.Strings(res.ImageRefs)

	// Facts are indexed in input order, so that "the first of a name" is
	// deterministic whatever order the workers finished in; the facts of
	// one object arrive together, in the order kept.
	sort.SliceStable(facts, func(i, j int) bool { return facts[i].less(facts[j].inputPos) })
	idx := check.NewIndex(opts.Namespace)
	for _, f := range facts {
		idx.AddKept(f.key, f.v)
	}
	// Deferred findings are decided in input order, so that "the first of
	// each Once key" is deterministic.
	e.sortDeferred(pending)
	var decided []check.Finding
	once := map[string]bool{}
	for _, d := range pending {
		if d.Unless != nil && d.Unless(idx) {
			continue
		}
		if d.Once != "" {
			k := d.f.Check + "\x00" + d.Once
			if once[k] {
				continue
			}
			once[k] = true
		}
		if d.f.Suppression != nil {
			res.Suppressed = append(res.Suppressed, d.f)
		} else {
			decided = append(decided, d.f)
		}
	}
	expired := e.expiredExemptions()
	res.Findings = make([]check.Finding, 0, total+len(decided)+len(expired))
	for i, c := range chunks {
		res.Findings = append(res.Findings, c...)
		chunks[i] = nil
	}
	res.Findings = append(res.Findings, decided...)
	res.Findings = append(res.Findings, expired...)
	e.sortFindings(res.Findings)
	e.sortFindings(res.Suppressed)
	sort.SliceStable(res.Errors, func(i, j int) bool {
		a, b := res.Errors[i], res.Errors[j]
		fa, fb := e.order(a.File), e.order(b.File)
		if fa != fb {
			return fa < fb
		}
		return a.Line < b.Line
	})
	return res
}

func (e *engine) order(file string) int {
	if i, ok := e.fileIdx[file]; ok {
		return i
	}
	return len(e.fileIdx)
}

func (e *engine) sortDeferred(ds []deferred) {
	sort.SliceStable(ds, func(i, j int) bool { return e.less(&ds[i].f, &ds[j].f) })
}

func (e *engine) sortFindings(fs []check.Finding) {
	sort.Slice(fs, func(i, j int) bool { return e.less(&fs[i], &fs[j]) })
}

func (e *engine) less(a, b *check.Finding) bool {
	if a.Location.File != b.Location.File {
		fa, fb := e.order(a.Location.File), e.order(b.Location.File)
		if fa != fb {
			return fa < fb
		}
		return a.Location.File < b.Location.File
	}
	if a.Location.Line != b.Location.Line {
		return a.Location.Line < b.Location.Line
	}
	if a.Location.Column != b.Location.Column {
		return a.Location.Column < b.Location.Column
	}
	if a.Check != b.Check {
		return a.Check < b.Check
	}
	return a.Message < b.Message
}

func (e *engine) scanDoc(j docJob) docResult {
	var r docResult
	if j.dockerfile {
		e.scanDockerfile(j.doc, &r)
		return r
	}
	objs, errs, skipped := source.Parse(j.doc)
	r.errors = errs
	if skipped != "" {
		e.opts.Logger.Debug("skipped document", "file", j.doc.File, "line", j.doc.LineOffset+1, "reason", skipped)
	}
	for i, o := range objs {
		r.objects++
		pos := inputPos{file: j.file, doc: j.doc.Index, item: i}
		e.scanObject(o, pos, &r)
	}
	return r
}

func (e *engine) namespace(o *object.Object) string {
	if o.Namespace != "" {
		return o.Namespace
	}
	return e.opts.Namespace
}

func (e *engine) scanObject(o *object.Object, pos inputPos, r *docResult) {
	// Custom resources are often consumed by tools (istioctl's
	// IstioOperator) rather than applied, and may go without a name; a
	// built-in kind never may.
	if o.Name == "" && o.BuiltIn() {
		line, col := o.Pos(o.MetadataRef())
		r.errors = append(r.errors, source.Error{File: o.File, Line: line, Column: col, Message: o.Kind + " has no metadata.name"})
	}
	if p := o.PodSpec(); p != nil {
		for _, c := range p.Containers {
			if c.Image.V != "" {
				r.images = append(r.images, c.Image.V)
			}
		}
		for _, fe := range p.Errors {
			line, col := o.Pos(fe.Ref)
			r.errors = append(r.errors, source.Error{File: o.File, Line: line, Column: col, Message: fe.Message})
		}
	}
	ref := &check.ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Origin: o.Origin}
	ns := e.namespace(o)
	suppress := e.annotationSuppressions(o, ref, r)
	keep := func(key string, v any) { r.facts = append(r.facts, fact{inputPos: pos, key: key, v: v}) }
	emit := func(f check.Finding, d check.Deferral) {
		f.Message, f.Path = e.strings.intern(f.Message), e.strings.intern(f.Path)
		f.Suppression = e.suppression(f, suppress, ns)
		switch {
		case d.Unless != nil || d.Once != "":
			// Whether it exists at all is known only at the end.
			r.deferred = append(r.deferred, deferred{f: f, Deferral: d})
		case f.Suppression != nil:
			r.suppressed = append(r.suppressed, f)
		default:
			r.findings = append(r.findings, f)
		}
	}
	// One pass serves every check of the object.
	pass := check.NewPass(o, &e.params, ns, ref, emit, keep)
	for _, c := range e.checks {
		if c.Applies != nil && !c.Applies(o) {
			continue
		}
		pass.Run(c)
	}
}

// annotationSuppressions reads ignore.kubeharden.io annotations; invalid
// ones are findings of their own and suppress nothing.
func (e *engine) annotationSuppressions(o *object.Object, ref *check.ObjectRef, r *docResult) map[string]string {
	var out map[string]string
	for k, v := range o.Annotations {
		if !strings.HasPrefix(k, SuppressAnnotationPrefix) {
			continue
		}
		id := k[len(SuppressAnnotationPrefix):]
		problem := ""
		switch {
		case e.opts.Registry.Get(id) == nil && id != InvalidSuppression.ID && id != ExpiredExemption.ID:
			problem = "names no known check"
		case strings.TrimSpace(v) == "":
			problem = "gives no reason"
		}
		if problem == "" {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = v
			continue
		}
		if !e.opts.Config.Enabled(InvalidSuppression.ID) {
			continue
		}
		md := object.Get(o.Node, "metadata")
		ann := object.Get(md, "annotations")
		line, col := o.Pos(object.Ref{Node: object.KeyNode(ann, k)})
		r.findings = append(r.findings, check.Finding{
			Check:    InvalidSuppression.ID,
			Severity: e.opts.Config.Severity(InvalidSuppression.ID, InvalidSuppression.Severity),
			Message:  "annotation \"" + k + "\" " + problem + " and suppresses nothing",
			Object:   ref,
			Location: check.Location{File: o.File, Line: line, Column: col},
			Path:     "metadata.annotations." + k,
		})
	}
	return out
}

func (e *engine) suppression(f check.Finding, byAnnotation map[string]string, ns string) *check.Suppression {
	if reason, ok := byAnnotation[f.Check]; ok {
		return &check.Suppression{Kind: "annotation", Reason: reason, Source: SuppressAnnotationPrefix + f.Check}
	}
	c := e.opts.Config
	for i := range c.Exemptions {
		x := &c.Exemptions[i]
		if x.Expired(e.now) || !x.Matches(c, f.Check, f.Object, ns, f.Location.File) {
			continue
		}
		return &check.Suppression{Kind: "config", Reason: x.Reason, Source: c.File + ":" + strconv.Itoa(x.Line)}
	}
	return nil
}

func (e *engine) expiredExemptions() []check.Finding {
	c := e.opts.Config
	if !c.Enabled(ExpiredExemption.ID) {
		return nil
	}
	var out []check.Finding
	for i := range c.Exemptions {
		x := &c.Exemptions[i]
		if !x.Expired(e.now) {
			continue
		}
		out = append(out, check.Finding{
			Check:    ExpiredExemption.ID,
			Severity: c.Severity(ExpiredExemption.ID, ExpiredExemption.Severity),
			Message:  "exemption expired on " + x.Expires + " (reason was: " + x.Reason + ")",
			Location: check.Location{File: c.File, Line: x.Line, Column: 1},
			Path:     "exemptions[" + strconv.Itoa(i) + "]",
		})
	}
	return out
}
