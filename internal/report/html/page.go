package html

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/text"
)

var (
	//go:embed page.tmpl
	pageText string
	//go:embed style.css
	styleText string
	//go:embed filter.js
	scriptText string
)

// pageTemplate is parsed once; the style and script go in verbatim, and
// the Content-Security-Policy allows exactly them by hash.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"pct": func(n, of int) string {
		if of == 0 {
			return "0%"
		}
		return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
	},
	"commas": commas,
}).Parse(pageText))

var (
	styleHash  = hash(styleText)
	scriptHash = hash(scriptText)
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// page is what the template reads.
type page struct {
	Version    string
	Summary    string
	CSP        string
	Style      template.CSS
	Script     template.JS
	Overall    Score
	Ring       ring
	Namespaces []namespaceRow
	Severity   []bar
	TopChecks  []bar
	ChartH     map[string]int
	Fix        fixView
	Total      int
	Listed     int
	Truncated  bool
	Groups     []groupView
	Images     []imageView
	Errors     []string
	Suppressed []suppressedView
	// Catalog describes each check with findings: the rows link to it.
	Catalog []*checkInfo
	// Worst are the objects with the highest penalties.
	Worst []worstRow
	// Baseline is the comparison with --baseline, nil without.
	Baseline *baselineView
	// SuppressedMore counts the suppressed findings not listed.
	SuppressedMore int
	Severities     []option
	CheckOptions   []option
	NSOptions      []option
}

// ring is the score gauge: the arc's length on a circle of radius 52.
type ring struct {
	Dash, Gap float64
	Class     string
}

// bar is one bar of a chart.
type bar struct {
	Label, Detail, Class string
	Count                int
	Y, TextY             int
	W                    float64
	Href                 string
}

type fixView struct {
	Total, Now, Flags, ByHand int
	FlagList                  []option
	NowW, FlagsW, ByHandW     float64
	HandX                     float64
}

type option struct {
	Value, Label string
	Count        int
}

type groupView struct {
	Kind, Title, Anchor string
	Objects             []objectView
	// Unlisted counts the group's findings not listed (over the bound).
	Unlisted int
}

type objectView struct {
	Anchor, Heading, Sub, Kubectl string
	Total, Listed                 int
	Findings                      []rowView
}

type rowView struct {
	Sev, Check, Message, Where, Path, NS string
	// Base is "new" or "unchanged" with a baseline, else "".
	Base string
	Info *checkInfo
}

// checkInfo is a check as a finding shows it.
type checkInfo struct {
	ID, Anchor, Title, Description, Remediation, Command, Severity string
	References                                                     []string
	Count                                                          int
	rank                                                           check.Severity
}

type imageView struct {
	Ref, Anchor, Digest, Platform, User, Entrypoint, Cmd, Base string
	Layers                                                     int
	Lists                                                      []inventoryList
}

type inventoryList struct {
	Label string
	Items []string
}

// worstRow is one of the worst objects.
type worstRow struct {
	Name, Where, Href string
	Penalty, Findings int
	Counts            []int
}

// maxWorst is the length of the list of the worst objects.
const maxWorst = 10

// worst lists the objects (files, images) with the highest penalties,
// then the most findings, in input order.
func (m *model) worst() []worstRow {
	units := slices.Clone(m.units)
	slices.SortStableFunc(units, func(a, b *unit) int {
		return cmp.Or(cmp.Compare(b.penalty, a.penalty), cmp.Compare(len(b.findings), len(a.findings)))
	})
	var out []worstRow
	for _, u := range units {
		if len(out) == maxWorst || u.penalty == 0 {
			break
		}
		r := worstRow{Penalty: u.penalty, Findings: len(u.findings), Where: u.file}
		switch u.kind {
		case unitObject:
			r.Name = identity(u.ref)
			if r.Where == r.Name {
				r.Where = ""
			}
		case unitCluster:
			r.Name = "the cluster"
		default:
			r.Name, r.Where = u.file, ""
		}
		var bySev [check.Critical + 1]int
		for _, i := range u.findings {
			bySev[min(max(m.res.Findings[i].Severity, check.Info), check.Critical)]++
		}
		for sev := check.Critical; sev >= check.Info; sev-- {
			r.Counts = append(r.Counts, bySev[sev])
		}
		if u.listed > 0 {
			r.Href = "#o-" + strconv.Itoa(u.id)
		}
		out = append(out, r)
	}
	return out
}

// baselineView is the comparison with a baseline report.
type baselineView struct {
	Summary                           string
	New, Unchanged, Fixed, Suppressed int
	Bars                              []bar
	ChartH                            int
	FixedList, SuppressedList         []suppressedView
	// FixedMore counts the fixed findings not listed.
	FixedMore int
}

type suppressedView struct {
	Check, Where, Kind, Reason, Source string
}

// maxSuppressedListed bounds the suppressed findings listed; the rest are
// counted (the json format lists them all).
const maxSuppressedListed = 1000

// chart geometry, in SVG user units.
const (
	barTrack = 200.0
	barStep  = 26
)

var severityOrder = []check.Severity{check.Critical, check.High, check.Medium, check.Low, check.Info}

func (m *model) page(opts Options) *page {
	res := m.res
	p := &page{
		Version: opts.Version,
		Summary: text.Summary(res),
		CSP:     "default-src 'none'; style-src " + styleHash + "; script-src " + scriptHash + "; img-src data:; form-action 'none'; base-uri 'none'",
		Style:   template.CSS(styleText), //nolint:gosec // our own embedded stylesheet
		Script:  template.JS(scriptText), //nolint:gosec // our own embedded script
		Overall: m.overall,
		Total:   len(res.Findings),
		Listed:  m.nListed,
		ChartH:  map[string]int{},
	}
	p.Truncated = p.Listed < p.Total
	circumference := 2 * 3.14159265 * 52
	p.Ring = ring{Dash: circumference * float64(m.overall.Value) / 100, Class: "grade-" + strings.ToLower(m.overall.Grade)}
	p.Ring.Gap = circumference - p.Ring.Dash
	p.Namespaces = m.namespaces()
	p.Worst = m.worst()

	// Findings by severity.
	most := 1
	for _, n := range m.bySev {
		most = max(most, n)
	}
	for i, sev := range severityOrder {
		n := m.bySev[sev]
		p.Severity = append(p.Severity, bar{
			Label: strings.ToUpper(sev.String()), Class: "sev-" + sev.String(), Count: n,
			Y: i * barStep, TextY: i*barStep + 16, W: barTrack * float64(n) / float64(most),
		})
		p.Severities = append(p.Severities, option{Value: sev.String(), Label: sev.String(), Count: n})
	}
	p.ChartH["severity"] = len(p.Severity) * barStep

	// Top checks: the ten with the most findings.
	type checkCount struct {
		id string
		n  int
	}
	var counts []checkCount
	for id, n := range m.byCheck {
		counts = append(counts, checkCount{id, n})
	}
	slices.SortFunc(counts, func(a, b checkCount) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.id, b.id)) })
	for i, c := range counts {
		if i == 10 {
			break
		}
		sev := check.Info
		if meta := m.metas[c.id]; meta != nil {
			sev = meta.Severity
		}
		p.TopChecks = append(p.TopChecks, bar{
			Label: c.id, Class: "sev-" + sev.String(), Count: c.n, Detail: sev.String(),
			Y: i * barStep, TextY: i*barStep + 16, W: barTrack * float64(c.n) / float64(counts[0].n),
		})
	}
	p.ChartH["checks"] = max(1, len(p.TopChecks)) * barStep

	// What kubeharden fix clears.
	p.Fix = fixView{Total: len(res.Findings), Now: m.fixNow}
	for flag, n := range m.fixFlags {
		p.Fix.Flags += n
		p.Fix.FlagList = append(p.Fix.FlagList, option{Value: flag, Count: n})
	}
	slices.SortFunc(p.Fix.FlagList, func(a, b option) int { return cmp.Compare(a.Value, b.Value) })
	p.Fix.ByHand = p.Fix.Total - p.Fix.Now - p.Fix.Flags
	if p.Fix.Total > 0 {
		scale := 360 / float64(p.Fix.Total)
		p.Fix.NowW, p.Fix.FlagsW, p.Fix.ByHandW = scale*float64(p.Fix.Now), scale*float64(p.Fix.Flags), scale*float64(p.Fix.ByHand)
		p.Fix.HandX = p.Fix.NowW + p.Fix.FlagsW
	}

	p.Groups, p.CheckOptions, p.NSOptions, p.Catalog = m.groups()
	p.Images = m.images()
	for _, e := range res.Errors {
		p.Errors = append(p.Errors, e.Error())
	}
	if c := m.base; c != nil {
		p.Baseline = baselineFor(c)
	}
	for i, f := range res.Suppressed {
		if i == maxSuppressedListed {
			p.SuppressedMore = len(res.Suppressed) - i
			break
		}
		s := suppressedView{Check: f.Check, Where: where(&f)}
		if f.Suppression() != nil {
			s.Kind, s.Reason, s.Source = f.Suppression().Kind, f.Suppression().Reason, f.Suppression().Source
		}
		p.Suppressed = append(p.Suppressed, s)
	}
	return p
}

func baselineFor(c *baseline.Comparison) *baselineView {
	v := &baselineView{Summary: text.BaselineSummary(c), New: c.New, Unchanged: c.Unchanged, Fixed: len(c.Fixed), Suppressed: len(c.NowSuppressed)}
	most := max(1, v.New, v.Fixed, v.Unchanged)
	for i, b := range []struct {
		label, class string
		n            int
	}{{"NEW", "base-new", v.New}, {"FIXED", "base-fixed", v.Fixed}, {"UNCHANGED", "base-unchanged", v.Unchanged}} {
		v.Bars = append(v.Bars, bar{Label: b.label, Class: b.class, Count: b.n, Y: i * barStep, TextY: i*barStep + 16, W: barTrack * float64(b.n) / float64(most)})
	}
	v.ChartH = len(v.Bars) * barStep
	view := func(f *check.Finding) suppressedView {
		s := suppressedView{Check: f.Check, Where: where(f), Reason: f.Message, Kind: f.Severity.String()}
		if o := f.Object; o != nil {
			s.Source = o.Kind + " " + o.Name
		}
		return s
	}
	for i := range c.Fixed {
		if i == maxSuppressedListed {
			v.FixedMore = len(c.Fixed) - i
			break
		}
		v.FixedList = append(v.FixedList, view(&c.Fixed[i]))
	}
	for i := range c.NowSuppressed {
		if i == maxSuppressedListed {
			break
		}
		v.SuppressedList = append(v.SuppressedList, view(&c.NowSuppressed[i]))
	}
	return v
}

// groups lays out the listed findings: namespaces by name, then files,
// images and the cluster, each object's findings in input order. It also
// returns the options of the check and namespace filters.
func (m *model) groups() ([]groupView, []option, []option, []*checkInfo) {
	infos := map[string]*checkInfo{}
	info := func(id string) *checkInfo {
		if ci, ok := infos[id]; ok {
			return ci
		}
		ci := &checkInfo{ID: id, Title: id, Anchor: anchor("c", id), Severity: check.Info.String(), Count: m.byCheck[id]}
		if meta := m.metas[id]; meta != nil {
			sev := min(max(meta.Severity, check.Info), check.Critical)
			ci.Title, ci.Description, ci.Remediation, ci.Command, ci.References = meta.Title, meta.Description, meta.Remediation, meta.FixCommand(), meta.References
			ci.Severity, ci.rank = sev.String(), sev
		}
		infos[id] = ci
		return ci
	}
	byKey := map[string]*groupView{}
	var order []string
	listedByCheck := map[string]int{}
	listedByNS := map[string]int{}
	for _, u := range m.units {
		key, title, kind := "", "", ""
		switch u.kind {
		case unitObject:
			key, kind = "0"+u.ref.Namespace, "namespace"
			title = "Namespace " + strconv.Quote(u.ref.Namespace)
			if u.ref.Namespace == "" {
				title = "No namespace (cluster-scoped, or none set in the manifest)"
			}
		case unitFile:
			key, kind, title = "1"+u.file, "file", "File "+u.file
		case unitImage:
			key, kind, title = "2"+u.file, "image", "Image "+u.file
		case unitCluster:
			key, kind, title = "3", "cluster", "Cluster"
		}
		g := byKey[key]
		if g == nil {
			g = &groupView{Kind: kind, Title: title, Anchor: anchor("g"+key[:1], key[1:])}
			if kind == "namespace" {
				g.Anchor = anchor("ns", u.ref.Namespace)
			}
			byKey[key] = g
			order = append(order, key)
		}
		g.Unlisted += len(u.findings) - u.listed
		if u.listed == 0 {
			continue
		}
		ov := objectView{Anchor: "o-" + strconv.Itoa(u.id), Total: len(u.findings), Listed: u.listed}
		ns := ""
		switch u.kind {
		case unitObject:
			ns = "ns:" + u.ref.Namespace
			ov.Heading = u.ref.Kind + " " + u.ref.Name
			ov.Sub = objectSub(u)
			if live(&m.res.Findings[u.findings[0]]) {
				ov.Kubectl = kubectlEdit(u.ref)
			}
		case unitFile, unitImage:
			ov.Heading = u.file
		case unitCluster:
			ov.Heading = "the cluster as a whole"
		}
		for _, i := range u.findings {
			if !m.listed[i] {
				continue
			}
			f := &m.res.Findings[i]
			sev := min(max(f.Severity, check.Info), check.Critical)
			ov.Findings = append(ov.Findings, rowView{
				Sev: sev.String(), Check: f.Check, Message: f.Message, Where: where(f), Path: f.Path, NS: ns, Info: info(f.Check),
				Base: m.baseStatus(i),
			})
			listedByCheck[f.Check]++
			if u.kind == unitObject {
				listedByNS[ns]++
			}
		}
		g.Objects = append(g.Objects, ov)
	}
	slices.Sort(order)
	groups := make([]groupView, 0, len(order))
	for _, k := range order {
		groups = append(groups, *byKey[k])
	}
	var checks, namespaces []option
	for id, n := range listedByCheck {
		checks = append(checks, option{Value: id, Label: info(id).Title, Count: n})
	}
	slices.SortFunc(checks, func(a, b option) int { return cmp.Compare(a.Value, b.Value) })
	for ns, n := range listedByNS {
		label := strings.TrimPrefix(ns, "ns:")
		if label == "" {
			label = "(none)"
		}
		namespaces = append(namespaces, option{Value: ns, Label: label, Count: n})
	}
	slices.SortFunc(namespaces, func(a, b option) int { return cmp.Compare(a.Value, b.Value) })
	// Every check with findings, listed or not, the most severe first.
	for id := range m.byCheck {
		info(id)
	}
	catalog := make([]*checkInfo, 0, len(infos))
	for _, ci := range infos {
		catalog = append(catalog, ci)
	}
	slices.SortFunc(catalog, func(a, b *checkInfo) int {
		return cmp.Or(cmp.Compare(b.rank, a.rank), cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID))
	})
	return groups, checks, namespaces, catalog
}

// live reports whether an object was read from a cluster: the cluster
// audit names each object's document Kind/namespace/name (Kind/name when
// cluster-scoped) instead of a file. It is fixed with kubectl edit.
func live(f *check.Finding) bool {
	return f.Object != nil && f.Location.File == identity(f.Object)
}

// identity is an object's Kind/namespace/name, or Kind/name.
func identity(o *check.ObjectRef) string {
	s := o.Kind + "/"
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	return s + o.Name
}

func objectSub(u *unit) string {
	var parts []string
	if u.ref.Namespace != "" {
		parts = append(parts, "namespace "+u.ref.Namespace)
	}
	if u.file != "" && u.file != identity(u.ref) {
		parts = append(parts, "in "+u.file)
	}
	if u.ref.Origin != "" {
		parts = append(parts, "from "+u.ref.Origin)
	}
	return strings.Join(parts, " · ")
}

// kubectlEdit is the command that opens a live object in an editor.
func kubectlEdit(o *check.ObjectRef) string {
	resource := strings.ToLower(o.Kind)
	if group, _, ok := strings.Cut(o.APIVersion, "/"); ok && group != "" {
		resource += "." + group
	}
	s := "kubectl edit " + resource + " " + o.Name
	if o.Namespace != "" {
		s += " -n " + o.Namespace
	}
	return s
}

// where is a finding's location: file:line:col; the object's identity
// when it was read from a cluster (its line is in no file a person has) or
// has no line; the image; or "(cluster)".
func where(f *check.Finding) string {
	l := f.Location
	if l.Line > 0 && !live(f) {
		s := l.File + ":" + strconv.Itoa(l.Line)
		if l.Column > 0 {
			s += ":" + strconv.Itoa(l.Column)
		}
		return s
	}
	if o := f.Object; o != nil {
		return identity(o)
	}
	if l.File == "" {
		return "(cluster)"
	}
	return l.File
}

func (m *model) images() []imageView {
	var out []imageView
	for _, img := range m.res.Images {
		inv := inventoryOf(img)
		v := imageView{
			Ref: img.Ref, Anchor: anchor("g2", img.Ref), Digest: img.Digest, Platform: img.OS + "/" + img.Arch,
			User: img.User, Entrypoint: args(img.Entrypoint), Cmd: args(img.Cmd), Layers: img.Layers, Base: inv.Base,
		}
		if v.User == "" {
			v.User = "(none: root)"
		}
		if inv.BaseDetail != "" {
			v.Base += " (" + inv.BaseDetail + ")"
		}
		for _, l := range []struct {
			name  string
			items []string
		}{
			{"Shells", inv.Shells}, {"Package managers", inv.PackageManagers}, {"Network tools", inv.NetworkTools},
			{"File system tools", inv.FSTools}, {"Setuid, setgid and capabilities", inv.Setuid},
		} {
			v.Lists = append(v.Lists, inventoryList{Label: l.name, Items: l.items})
		}
		out = append(out, v)
	}
	return out
}

func args(a []string) string {
	if len(a) == 0 {
		return "(none)"
	}
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// commas writes 1234567 as 1,234,567.
func commas(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
