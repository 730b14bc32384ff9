// Package html renders a scan result as one self-contained HTML page for
// people: a score per namespace and overall, charts of the findings by
// severity, the top checks and what `kubeharden fix` clears, then every
// finding grouped by namespace (or file, image, cluster) and object, with
// its check, message, location, remediation and references, and the
// inventory of each inspected image.
//
// The page loads nothing: styles, the filter script and the SVG charts are
// inline, and a Content-Security-Policy forbids any request. Without
// scripts everything is readable; the script only adds filters (severity,
// check, namespace) and a search box. A large scan lists its most severe
// findings one by one up to Options.MaxFindings, so that the page stays
// small enough to open; the counts, charts and scores always cover all.
//
// The score is documented in docs/output.md; score computes it.
package html

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// DefaultMaxFindings is how many findings a page lists one by one when
// Options.MaxFindings is zero: about 10 MB of HTML, which headless Chromium
// opens in well under a second.
const DefaultMaxFindings = 20000

// Options tune the html format.
type Options struct {
	// Version is the tool version shown in the page's footer.
	Version string
	// MaxFindings bounds the findings listed one by one, the most severe
	// first; zero means DefaultMaxFindings. Counts, charts and scores
	// cover every finding whatever the bound.
	MaxFindings int
	// Baseline, when set (--baseline), marks each finding new or
	// unchanged, adds a filter by it, and lists the baseline's findings
	// fixed since.
	Baseline *baseline.Comparison
}

// weights are the penalty points of one finding by severity; an object's
// penalty is their sum capped at maxPenalty (docs/output.md).
var weights = [check.Critical + 1]int{check.Info: 0, check.Low: 1, check.Medium: 2, check.High: 5, check.Critical: 10}

const maxPenalty = 10

// Score is the score of a scope (the whole result, or one namespace):
// 100 when nothing in it has a finding that weighs, 0 when every object
// in it has a critical finding or several serious ones.
type Score struct {
	// Value is 0 to 100.
	Value int
	// Grade is A (90 and above), B (80), C (70), D (60) or F.
	Grade string
	// Objects is the number of objects (and files, images) the scope
	// holds; Penalty the sum of their penalties.
	Objects, Penalty int
}

// score computes a Score from the sum of the penalties of the objects
// with findings and the number of objects in the scope: 100 × (1 −
// penalty / (10 × objects)), rounded, and never 100 when some finding
// weighs.
func score(penalty, objects int) Score {
	s := Score{Objects: objects, Penalty: penalty, Value: 100}
	if objects > 0 {
		s.Value = int(math.Round(100 * (1 - float64(penalty)/float64(maxPenalty*objects))))
	}
	if penalty > 0 && s.Value == 100 {
		s.Value = 99
	}
	s.Value = max(0, min(100, s.Value))
	switch {
	case s.Value >= 90:
		s.Grade = "A"
	case s.Value >= 80:
		s.Grade = "B"
	case s.Value >= 70:
		s.Grade = "C"
	case s.Value >= 60:
		s.Grade = "D"
	default:
		s.Grade = "F"
	}
	return s
}

// unitKind is what a group of findings is about.
type unitKind int

const (
	unitObject unitKind = iota
	unitFile
	unitImage
	unitCluster
)

// unit is one object, file, image or the cluster, with its findings.
type unit struct {
	// id is the unit's index in model.units, its anchor on the page.
	id       int
	kind     unitKind
	ref      *check.ObjectRef
	file     string
	findings []int // indices into the result's findings
	penalty  int
	listed   int
}

func unitKey(f *check.Finding) string {
	if o := f.Object; o != nil {
		return "o\x00" + f.Location.File + "\x00" + o.APIVersion + "\x00" + o.Kind + "\x00" + o.Namespace + "\x00" + o.Name
	}
	return "f\x00" + f.Location.File
}

// model is everything the page shows, computed from a result.
type model struct {
	res      *scan.Result
	metas    map[string]*check.Meta
	units    []*unit
	listed   []bool
	nListed  int
	overall  Score
	bySev    [check.Critical + 1]int
	byCheck  map[string]int
	fixNow   int
	fixFlags map[string]int
	base     *baseline.Comparison
}

func newModel(res *scan.Result, maxFindings int) *model {
	m := &model{res: res, metas: make(map[string]*check.Meta, len(res.Checks)), byCheck: map[string]int{}, fixFlags: map[string]int{}}
	for i := range res.Checks {
		m.metas[res.Checks[i].ID] = &res.Checks[i]
	}
	images := make(map[string]bool, len(res.Images))
	for _, img := range res.Images {
		images[img.Ref] = true
	}
	index := map[string]*unit{}
	for i := range res.Findings {
		f := &res.Findings[i]
		sev := min(max(f.Severity, check.Info), check.Critical)
		m.bySev[sev]++
		m.byCheck[f.Check]++
		if meta := m.metas[f.Check]; meta != nil && meta.Fixable {
			if meta.FixNeeds == check.NeedsNothing {
				m.fixNow++
			} else {
				m.fixFlags[meta.FixNeeds.Flag()]++
			}
		}
		key := unitKey(f)
		u := index[key]
		if u == nil {
			u = &unit{id: len(m.units), ref: f.Object, file: f.Location.File}
			switch {
			case f.Object != nil:
				u.kind = unitObject
			case images[f.Location.File]:
				u.kind = unitImage
			case f.Location.File == "":
				u.kind = unitCluster
			default:
				u.kind = unitFile
			}
			index[key] = u
			m.units = append(m.units, u)
		}
		u.findings = append(u.findings, i)
		u.penalty += weights[sev]
	}
	penalty := 0
	for _, u := range m.units {
		u.penalty = min(u.penalty, maxPenalty)
		penalty += u.penalty
	}
	m.overall = score(penalty, max(res.Objects, len(m.units)))

	// The findings listed one by one: all when they fit, else the most
	// severe, each severity in input order.
	m.listed = make([]bool, len(res.Findings))
	if maxFindings <= 0 {
		maxFindings = DefaultMaxFindings
	}
	left := maxFindings
	for sev := check.Critical; sev >= check.Info && left > 0; sev-- {
		for i := range res.Findings {
			if left == 0 {
				break
			}
			if min(max(res.Findings[i].Severity, check.Info), check.Critical) == sev {
				m.listed[i] = true
				left--
			}
		}
	}
	m.nListed = maxFindings - left
	for _, u := range m.units {
		for _, i := range u.findings {
			if m.listed[i] {
				u.listed++
			}
		}
	}
	return m
}

// namespaceRow is one namespace in the table of scores.
type namespaceRow struct {
	Name       string
	Anchor     string
	Objects    int
	Findings   int
	BySeverity [check.Critical + 1]int
	// Counts are BySeverity, the most severe first.
	Counts []int
	Score  Score
}

// namespaces scores every namespace that holds objects, the worst first.
func (m *model) namespaces() []namespaceRow {
	rows := map[string]*namespaceRow{}
	units := map[string]int{}
	for ns, n := range m.res.NamespaceObjects {
		rows[ns] = &namespaceRow{Name: ns, Objects: n}
	}
	for _, u := range m.units {
		if u.kind != unitObject {
			continue
		}
		ns := u.ref.Namespace
		r := rows[ns]
		if r == nil {
			r = &namespaceRow{Name: ns}
			rows[ns] = r
		}
		units[ns]++
		r.Score.Penalty += u.penalty
		for _, i := range u.findings {
			r.Findings++
			r.BySeverity[min(max(m.res.Findings[i].Severity, check.Info), check.Critical)]++
		}
	}
	out := make([]namespaceRow, 0, len(rows))
	for ns, r := range rows {
		r.Objects = max(r.Objects, units[ns])
		r.Score = score(r.Score.Penalty, r.Objects)
		r.Anchor = anchor("ns", ns)
		for s := check.Critical; s >= check.Info; s-- {
			r.Counts = append(r.Counts, r.BySeverity[s])
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b namespaceRow) int {
		return cmp.Or(cmp.Compare(a.Score.Value, b.Score.Value), cmp.Compare(b.Findings, a.Findings), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// anchor makes an element id from a prefix and a name: the name's letters
// and digits kept, everything else hex-encoded, so that distinct names
// give distinct ids.
func anchor(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('-')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
			b.WriteString(strconv.FormatUint(uint64(c), 16))
		}
	}
	return b.String()
}

// Render writes res to w as one HTML page.
func Render(w io.Writer, res *scan.Result, opts Options) error {
	m := newModel(res, opts.MaxFindings)
	m.base = opts.Baseline
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate.Execute(bw, m.page(opts)); err != nil {
		return err
	}
	return bw.Flush()
}

// baseStatus is the baseline status of the i-th finding, "" without a
// baseline.
func (m *model) baseStatus(i int) string { return m.base.Of(i).String() }

// inventoryOf is the inventory of an image, for the template.
func inventoryOf(img *image.Image) image.Inventory { return img.Inventory() }
