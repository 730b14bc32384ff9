// Package baseline compares a scan with an earlier kubeharden JSON report
// (--baseline): each current finding is new or unchanged, each finding of
// the baseline that is gone is fixed. A finding is the same finding when
// its check, file, object (kind, namespace, name), field path and message
// are; its line is not part of its identity, so a line shift alone is not
// new. Identical findings are matched as a multiset: two in the baseline
// and three now make one new.
package baseline

import (
	"cmp"
	"path"
	"path/filepath"
	"slices"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Status is what a current finding is against the baseline.
type Status uint8

// The statuses of a current finding. The zero value means no baseline.
const (
	// Unchanged: the baseline has the same finding.
	Unchanged Status = iota + 1
	// New: the baseline does not have it.
	New
)

// String returns "new", "unchanged", or "" without a baseline: the value
// of the finding's baseline field in the JSON report.
func (s Status) String() string {
	switch s {
	case New:
		return "new"
	case Unchanged:
		return "unchanged"
	}
	return ""
}

// Comparison is a scan compared with a baseline report: the one value
// every report format takes (report.Options.Baseline) to show what is new,
// fixed and unchanged. A nil *Comparison means no baseline; its methods
// are safe to call on nil.
type Comparison struct {
	// Report names the baseline report as given to --baseline.
	Report string
	// Version is the kubeharden version that wrote the baseline ("" when
	// it does not say).
	Version string
	// New and Unchanged count the current findings (not the suppressed)
	// of each status.
	New, Unchanged int
	// Fixed are the baseline's findings that no current finding, counted
	// or suppressed, matches, in the baseline's order: fixed, or their
	// object or file is gone.
	Fixed []check.Finding
	// NowSuppressed are the baseline's findings that now match only a
	// suppressed finding: silenced since, not fixed.
	NowSuppressed []check.Finding

	// status[i] is the status of the current findings[i].
	status []Status
}

// Of returns the status of the i-th current finding (scan.Result.Findings
// index), or 0 when c is nil or i is out of range.
func (c *Comparison) Of(i int) Status {
	if c == nil || i < 0 || i >= len(c.status) {
		return 0
	}
	return c.status[i]
}

// IsNew reports whether the i-th current finding is new.
func (c *Comparison) IsNew(i int) bool { return c.Of(i) == New }

// key is a finding's identity: everything but its place in the file.
type key struct {
	check, file                 string
	object                      bool
	kind, namespace, name, path string
	message                     string
}

func keyOf(f *check.Finding) key {
	k := key{check: f.Check, file: cleanFile(f.Location.File), path: f.Path, message: f.Message}
	if o := f.Object; o != nil {
		k.object, k.kind, k.namespace, k.name = true, o.Kind, o.Namespace, o.Name
	}
	return k
}

// cleanFile makes "./deploy/web.yaml" and "deploy/web.yaml" the same file.
func cleanFile(f string) string {
	if f == "" || f == "-" {
		return f
	}
	return path.Clean(filepath.ToSlash(f))
}

// Compare classifies the current findings and suppressed findings of a
// scan against base. findings are not reordered: the statuses follow
// their indexes.
func Compare(base *Report, findings, suppressed []check.Finding) *Comparison {
	c := &Comparison{Report: base.Name, Version: base.Version, status: make([]Status, len(findings))}
	// Each finding's identity is hashed once, to a group number; the
	// findings of each group are then laid out together in one array per
	// side (a counting sort, in input order), so that a scan of 100,000
	// findings costs no allocation per finding.
	ids := make(map[key]int32, len(base.Findings)+len(findings)/4)
	groupOf := func(f *check.Finding) int32 {
		k := keyOf(f)
		g, ok := ids[k]
		if !ok {
			g = int32(len(ids))
			ids[k] = g
		}
		return g
	}
	baseG := make([]int32, len(base.Findings))
	for i := range base.Findings {
		baseG[i] = groupOf(&base.Findings[i])
	}
	curG := make([]int32, len(findings))
	for i := range findings {
		curG[i] = groupOf(&findings[i])
	}
	baseAt, baseIdx := layout(baseG, len(ids))
	curAt, curIdx := layout(curG, len(ids))
	matched := make([]bool, len(base.Findings))
	for g := range len(ids) {
		cur, old := curIdx[curAt[g]:curAt[g+1]], baseIdx[baseAt[g]:baseAt[g+1]]
		pair(cur, old, findings, base.Findings, func(ci, bi int) {
			c.status[ci] = Unchanged
			matched[bi] = true
		})
	}
	for i := range c.status {
		if c.status[i] == Unchanged {
			c.Unchanged++
		} else {
			c.status[i] = New
			c.New++
		}
	}
	// What the baseline had and no counted finding matches: suppressed
	// now (as many as are), or else fixed.
	var silenced map[key]int
	if len(suppressed) > 0 && c.Unchanged < len(base.Findings) {
		silenced = make(map[key]int, len(suppressed))
		for i := range suppressed {
			silenced[keyOf(&suppressed[i])]++
		}
	}
	for i := range base.Findings {
		if matched[i] {
			continue
		}
		if k := keyOf(&base.Findings[i]); silenced[k] > 0 {
			silenced[k]--
			c.NowSuppressed = append(c.NowSuppressed, base.Findings[i])
			continue
		}
		c.Fixed = append(c.Fixed, base.Findings[i])
	}
	return c
}

// layout returns, for findings numbered by group, where each group
// starts in idx (group g is idx[at[g]:at[g+1]]) and the findings' indexes
// in group order, each group in input order.
func layout(groupOf []int32, groups int) (at []int32, idx []int) {
	at = make([]int32, groups+1)
	for _, g := range groupOf {
		at[g+1]++
	}
	for g := range groups {
		at[g+1] += at[g]
	}
	next := slices.Clone(at[:groups])
	idx = make([]int, len(groupOf))
	for i, g := range groupOf {
		idx[next[g]] = i
		next[g]++
	}
	return at, idx
}

// nearestPairs bounds the pairs pair weighs one by one in a group of
// identical findings; past it (thousands of the same finding in one
// file), they are paired in order.
const nearestPairs = 1 << 16

// pair matches current and baseline findings of one identity, calling
// match for each pair. Any matching gives the right counts; this one also
// picks the right ones: findings on the same line first, then the nearest
// lines, so that a finding added above two others, which all move down,
// is the one new.
func pair(cur, base []int, cf, bf []check.Finding, match func(cur, base int)) {
	if len(base) == 0 || len(cur) == 0 {
		return
	}
	if len(cur) == 1 && len(base) == 1 {
		match(cur[0], base[0])
		return
	}
	usedCur := make([]bool, len(cur))
	usedBase := make([]bool, len(base))
	// Same line.
	byLine := map[int][]int{}
	for j, b := range base {
		l := bf[b].Location.Line
		byLine[l] = append(byLine[l], j)
	}
	for i, c := range cur {
		l := cf[c].Location.Line
		if js := byLine[l]; len(js) > 0 {
			j := js[0]
			byLine[l] = js[1:]
			usedCur[i], usedBase[j] = true, true
			match(c, base[j])
		}
	}
	var rc, rb []int
	for i, u := range usedCur {
		if !u {
			rc = append(rc, i)
		}
	}
	for j, u := range usedBase {
		if !u {
			rb = append(rb, j)
		}
	}
	if len(rc) == 0 || len(rb) == 0 {
		return
	}
	if len(rc)*len(rb) > nearestPairs {
		for n := range min(len(rc), len(rb)) {
			match(cur[rc[n]], base[rb[n]])
		}
		return
	}
	// Nearest lines, greedily.
	type cand struct{ dist, i, j int }
	cands := make([]cand, 0, len(rc)*len(rb))
	for _, i := range rc {
		for _, j := range rb {
			d := cf[cur[i]].Location.Line - bf[base[j]].Location.Line
			cands = append(cands, cand{max(d, -d), i, j})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.i, b.i), cmp.Compare(a.j, b.j))
	})
	for _, cd := range cands {
		if usedCur[cd.i] || usedBase[cd.j] {
			continue
		}
		usedCur[cd.i], usedBase[cd.j] = true, true
		match(cur[cd.i], base[cd.j])
	}
}
