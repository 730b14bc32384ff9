package scan

import (
	"cmp"
	"slices"
	"sort"
	"strings"
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
	// namespaces are the objects' namespaces as written, one per object.
	namespaces []string
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
	namespaces map[string]int
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
	for _, ns := range r.namespaces {
		if c.namespaces == nil {
			c.namespaces = map[string]int{}
		}
		c.namespaces[ns]++
	}
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
	for ns, n := range c.namespaces {
		if res.NamespaceObjects == nil {
			res.NamespaceObjects = map[string]int{}
		}
		res.NamespaceObjects[ns] += n
	}
	for ref := range c.images {
		res.ImageRefs = append(res.ImageRefs, ref)
	}
	sort.Strings(res.ImageRefs)
	// Facts are indexed in input order, so that "the first of a name" is
	// deterministic whatever order the workers finished in; the facts of
	// one object arrive together, in the order kept.
	sort.SliceStable(c.facts, func(i, j int) bool { return c.facts[i].less(c.facts[j].inputPos) })
	idx := check.Over(e.opts.Facts, e.opts.Namespace)
	for _, f := range c.facts {
		idx.AddKept(f.key, f.v)
	}
	var decided []check.Finding
	for _, f := range decide(c.pending, idx, order) {
		if f.Suppression() != nil {
			res.Suppressed = append(res.Suppressed, f)
		} else {
			decided = append(decided, f)
		}
	}
	res.Findings = merge(c.chunks, c.total, append(decided, e.pol.ExpiredExemptions()...), order)
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

func (o *inputOrder) less(a, b *check.Finding) bool { return o.cmp(a, b) < 0 }

// cmp orders findings by input, file, line, column, check and message.
func (o *inputOrder) cmp(a, b *check.Finding) int {
	if a.Location.File != b.Location.File {
		if fa, fb := o.of(a.Location.File), o.of(b.Location.File); fa != fb {
			return cmp.Compare(fa, fb)
		}
		return strings.Compare(a.Location.File, b.Location.File)
	}
	if c := cmp.Compare(a.Location.Line, b.Location.Line); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Location.Column, b.Location.Column); c != 0 {
		return c
	}
	if c := strings.Compare(a.Check, b.Check); c != 0 {
		return c
	}
	return strings.Compare(a.Message, b.Message)
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

// merge returns the findings of chunks, each sorted by its worker, and of
// extra, in input order. A chunk holds the findings of consecutive
// documents of one file, and the chunks of a file cover disjoint line
// ranges, so ordering the chunks and concatenating them orders their
// findings without sorting the whole on one core. A chunk that spans
// several files (a kustomization's resources), or chunks that overlap,
// make it sort the whole instead.
func merge(chunks [][]check.Finding, total int, extra []check.Finding, order *inputOrder) []check.Finding {
	out := make([]check.Finding, 0, total+len(extra))
	sortFindings(extra, order)
	slices.SortFunc(chunks, func(a, b []check.Finding) int { return order.cmp(&a[0], &b[0]) })
	whole := false
	for i, ch := range chunks {
		if ch[0].Location.File != ch[len(ch)-1].Location.File ||
			(len(out) > 0 && order.cmp(&out[len(out)-1], &ch[0]) > 0) {
			whole = true
		}
		out = append(out, ch...)
		chunks[i] = nil
	}
	if whole {
		out = append(out, extra...)
		sortFindings(out, order)
		return out
	}
	if len(extra) == 0 {
		return out
	}
	// Merge the few deferred and config findings into the sorted rest.
	merged := make([]check.Finding, 0, len(out)+len(extra))
	i, j := 0, 0
	for i < len(out) && j < len(extra) {
		if order.cmp(&extra[j], &out[i]) < 0 {
			merged = append(merged, extra[j])
			j++
		} else {
			merged = append(merged, out[i])
			i++
		}
	}
	merged = append(merged, out[i:]...)
	return append(merged, extra[j:]...)
}
