package scan

import (
	"sort"
	"sync"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/source"
)

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

// deferred is a finding that depends on other objects.
type deferred struct {
	f check.Finding
	check.Deferral
}

// docResult is what the checks found in one item.
type docResult struct {
	images     []string
	findings   []check.Finding
	suppressed []check.Finding
	deferred   []deferred
	errors     []source.Error
	facts      []fact
	objects    int
	// plain results are of one object, handed back at once: their
	// strings are not interned.
	plain bool
}

// collector gathers the results of the workers.
type collector struct {
	// Findings are collected per document and copied once into a slice
	// of the exact size: appending hundreds of thousands of them to one
	// slice would hold up to three times their size while it grows.
	chunks     [][]check.Finding
	total      int
	suppressed []check.Finding
	errors     []source.Error
	objects    int
	images     map[string]bool
	pending    []deferred
	facts      []fact
}

func (c *collector) add(r docResult) {
	if len(r.findings) > 0 {
		c.chunks = append(c.chunks, r.findings)
		c.total += len(r.findings)
	}
	c.suppressed = append(c.suppressed, r.suppressed...)
	c.errors = append(c.errors, r.errors...)
	c.objects += r.objects
	for _, ref := range r.images {
		if c.images == nil {
			c.images = map[string]bool{}
		}
		c.images[ref] = true
	}
	c.pending = append(c.pending, r.deferred...)
	c.facts = append(c.facts, r.facts...)
}

// finish decides the deferred findings against the facts and fills res,
// ordered as the input is.
func (c *collector) finish(e *Engine, res *Result, order *inputOrder) {
	res.Suppressed = append(res.Suppressed, c.suppressed...)
	res.Errors = append(res.Errors, c.errors...)
	res.Objects += c.objects
	for ref := range c.images {
		res.ImageRefs = append(res.ImageRefs, ref)
	}
	sort.Strings(res.ImageRefs)
	// Facts are indexed in input order, so that "the first of a name" is
	// deterministic whatever order the workers finished in; the facts of
	// one object arrive together, in the order kept.
	sort.SliceStable(c.facts, func(i, j int) bool { return c.facts[i].less(c.facts[j].inputPos) })
	idx := check.Over(e.opts.Facts, e.opts.Namespace)
	if e.opts.Facts == nil {
		idx = check.NewIndex(e.opts.Namespace)
	}
	for _, f := range c.facts {
		idx.AddKept(f.key, f.v)
	}
	var decided []check.Finding
	for _, f := range decide(c.pending, idx, order) {
		if f.Suppression != nil {
			res.Suppressed = append(res.Suppressed, f)
		} else {
			decided = append(decided, f)
		}
	}
	expired := e.pol.ExpiredExemptions()
	res.Findings = make([]check.Finding, 0, c.total+len(decided)+len(expired))
	for i, ch := range c.chunks {
		res.Findings = append(res.Findings, ch...)
		c.chunks[i] = nil
	}
	res.Findings = append(res.Findings, decided...)
	res.Findings = append(res.Findings, expired...)
	sortFindings(res.Findings, order)
	sortFindings(res.Suppressed, order)
	sort.SliceStable(res.Errors, func(i, j int) bool {
		a, b := res.Errors[i], res.Errors[j]
		if fa, fb := order.of(a.File), order.of(b.File); fa != fb {
			return fa < fb
		}
		return a.Line < b.Line
	})
}

// decide keeps the deferred findings whose condition holds given facts, in
// input order, and of those sharing a Once key the first.
func decide(pending []deferred, facts check.Facts, order *inputOrder) []check.Finding {
	sort.SliceStable(pending, func(i, j int) bool { return order.less(&pending[i].f, &pending[j].f) })
	var out []check.Finding
	once := map[string]bool{}
	for _, d := range pending {
		if d.Unless != nil && d.Unless(facts) {
			continue
		}
		if d.Once != "" {
			k := d.f.Check + "\x00" + d.Once
			if once[k] {
				continue
			}
			once[k] = true
		}
		out = append(out, d.f)
	}
	return out
}

// inputOrder maps the files findings point at to the position of the
// input they came from (a chart's templates sort where the chart was
// named). It is written by the reading goroutine and read once the scan
// has ended.
type inputOrder struct{ idx map[string]int }

func newOrder() *inputOrder { return &inputOrder{idx: map[string]int{}} }

func (o *inputOrder) add(file string, input int) {
	if _, ok := o.idx[file]; !ok {
		o.idx[file] = input
	}
}

func (o *inputOrder) of(file string) int {
	if o == nil {
		return 0
	}
	if i, ok := o.idx[file]; ok {
		return i
	}
	return len(o.idx)
}

func (o *inputOrder) less(a, b *check.Finding) bool {
	if a.Location.File != b.Location.File {
		if fa, fb := o.of(a.Location.File), o.of(b.Location.File); fa != fb {
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
