// Package check defines what a check is (its metadata, what it applies to,
// how it runs), the findings it reports, the parameters teams tune, and the
// registry the engine and the docs read.
package check

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/object"
)

// Severity ranks findings; --fail-on compares against it.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the severity's name, so JSON reports carry words.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// Severities lists every severity name, lowest first.
func Severities() []string { return severityNames[:] }

// Meta is what a user reads about a check: in docs, in `kubeharden checks`,
// in SARIF rules.
type Meta struct {
	// ID is kebab-case, stable, never derived from the title, never reused.
	ID          string
	Title       string
	Severity    Severity
	Description string
	Remediation string
	// References name the practice the check enforces: a seed practice, a
	// Pod Security Standards control, the NSA/CISA guidance.
	References []string
	// Target is the kind of input the check reads. The registry sets it
	// from the check's kind; it is never declared.
	Target Target
	// Fixable tells whether `kubeharden fix` can rewrite the finding, and
	// FixNeeds what the fix needs beyond the input. The registry derives
	// both from the check's fix; they are never declared.
	Fixable  bool
	FixNeeds Requirement
}

// Metadata returns m: every kind of check embeds Meta, and the registry
// reads it through this method.
func (m *Meta) Metadata() *Meta { return m }

// FixCommand is the command that fixes the check's findings, "" when the
// check has no automatic fix.
func (m *Meta) FixCommand() string {
	switch {
	case !m.Fixable:
		return ""
	case m.FixNeeds != NeedsNothing:
		return "kubeharden fix " + m.FixNeeds.Flag()
	}
	return "kubeharden fix"
}

// Requirement is what a fix needs beyond the input itself: values a person
// chooses, or a lookup outside the file.
type Requirement int

// Requirements.
const (
	// NeedsNothing fixes run by default.
	NeedsNothing Requirement = iota
	// NeedsResources fixes write request and limit values, which cannot be
	// guessed: they run only when the caller supplies them.
	NeedsResources
	// NeedsDigests fixes pin image references and need a digest resolver.
	NeedsDigests
)

// Flag is the `kubeharden fix` flag that supplies the requirement; the
// reports name it in their fix hints.
func (r Requirement) Flag() string {
	switch r {
	case NeedsResources:
		return "--resources"
	case NeedsDigests:
		return "--resolve-digests"
	}
	return ""
}

func (r Requirement) String() string {
	switch r {
	case NeedsResources:
		return "resource values"
	case NeedsDigests:
		return "image digests"
	}
	return "nothing"
}

// Target is what a check reads.
type Target int

// Targets.
const (
	// Objects are Kubernetes objects, from any source.
	Objects Target = iota
	// Dockerfiles are Dockerfiles and Containerfiles.
	Dockerfiles
	// Images are built container images, flattened.
	Images
	// Cluster checks judge a live cluster as a whole (its version, its
	// nodes, its authorizer), not one object.
	Cluster
)

func (t Target) String() string {
	switch t {
	case Dockerfiles:
		return "Dockerfile"
	case Images:
		return "image"
	case Cluster:
		return "cluster"
	}
	return "Kubernetes object"
}

// ObjectCheck is a rule over Kubernetes objects, from any source. Run is
// called once per object that Applies accepts.
type ObjectCheck struct {
	Meta
	// Applies selects the objects the check runs on; nil means all.
	Applies func(*object.Object) bool
	Run     func(*Pass)
	// Fix, when set, edits an object so that Run no longer finds what it
	// found; the fix engine proves it by running the check again.
	Fix *Fix
}

// Kind is Objects.
func (*ObjectCheck) Kind() Target { return Objects }

// Entry is a registered check of any kind: ObjectCheck here, the
// Dockerfile and image kinds in their own packages (so that this package
// pulls in neither BuildKit nor go-containerregistry).
type Entry interface {
	Metadata() *Meta
	Kind() Target
}

// Fixer is an entry that can fix its findings; the registry derives
// Meta.Fixable and Meta.FixNeeds from it.
type Fixer interface {
	FixNeeds() (Requirement, bool)
}

// FixNeeds reports whether the check has a fix and what it needs.
func (c *ObjectCheck) FixNeeds() (Requirement, bool) {
	if c.Fix == nil {
		return NeedsNothing, false
	}
	return c.Fix.Needs, true
}

// PodSpecs applies a check to every object that carries a pod spec.
func PodSpecs(o *object.Object) bool { return o.PodSpec() != nil }

// LinuxPodSpecs applies a check to pod specs that do not declare
// spec.os.name: windows. The API server forbids the Linux-only security
// context fields on Windows pods, and Pod Security exempts them.
func LinuxPodSpecs(o *object.Object) bool {
	p := o.PodSpec()
	return p != nil && !p.Windows()
}

// Kinds applies a check to objects of the given kinds.
func Kinds(kinds ...string) func(*object.Object) bool {
	return func(o *object.Object) bool {
		for _, k := range kinds {
			if o.Kind == k {
				return true
			}
		}
		return false
	}
}

// Registry holds checks of every kind by ID.
type Registry struct {
	byID    map[string]Entry
	all     []Entry
	metas   []*Meta
	objects []*ObjectCheck
}

// Register adds e; it panics on a duplicate or incomplete check because
// that is a programming error caught by any test run. Meta.Target,
// Meta.Fixable and Meta.FixNeeds are derived here from e.
func (r *Registry) Register(e Entry) {
	if r.byID == nil {
		r.byID = map[string]Entry{}
	}
	m := e.Metadata()
	if m.ID == "" {
		panic("check without an ID")
	}
	if oc, ok := e.(*ObjectCheck); ok && oc.Run == nil {
		panic(fmt.Sprintf("check %q: Run is required", m.ID))
	}
	if oc, ok := e.(*ObjectCheck); ok && oc.Fix != nil && oc.Fix.Apply == nil {
		panic(fmt.Sprintf("check %q: Fix.Apply is required", m.ID))
	}
	if _, dup := r.byID[m.ID]; dup {
		panic(fmt.Sprintf("check %q registered twice", m.ID))
	}
	m.Target = e.Kind()
	m.Fixable, m.FixNeeds = false, NeedsNothing
	if f, ok := e.(Fixer); ok {
		m.FixNeeds, m.Fixable = f.FixNeeds()
	}
	r.byID[m.ID] = e
	r.all = append(r.all, e)
	sort.Slice(r.all, func(i, j int) bool { return r.all[i].Metadata().ID < r.all[j].Metadata().ID })
	r.metas = r.metas[:0]
	r.objects = r.objects[:0]
	for _, x := range r.all {
		r.metas = append(r.metas, x.Metadata())
		if oc, ok := x.(*ObjectCheck); ok {
			r.objects = append(r.objects, oc)
		}
	}
}

// Get returns the metadata of the check with the given ID, or nil.
func (r *Registry) Get(id string) *Meta {
	if e := r.byID[id]; e != nil {
		return e.Metadata()
	}
	return nil
}

// Entry returns the check with the given ID, or nil.
func (r *Registry) Entry(id string) Entry { return r.byID[id] }

// All returns the metadata of every check, sorted by ID.
func (r *Registry) All() []*Meta { return r.metas }

// Entries returns every check, sorted by ID.
func (r *Registry) Entries() []Entry { return r.all }

// Objects returns the object checks, sorted by ID.
func (r *Registry) Objects() []*ObjectCheck { return r.objects }

// Location is a place in a source file.
type Location struct {
	File   string
	Line   int
	Column int
}

// ObjectRef identifies the object a finding is about. One is shared by all
// findings of an object.
type ObjectRef struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Origin names the template or resource a rendered object came from.
	Origin string
}

// Suppression says why a finding was not counted.
type Suppression struct {
	// Kind is "annotation", "config" or "vex" (an OpenVEX statement on
	// an image vulnerability).
	Kind   string
	Reason string
	// Source is the annotation key, the config file and line, or the VEX
	// document.
	Source string
}

// Finding is one result of one check.
type Finding struct {
	Check    string
	Severity Severity
	Message  string
	// Object is nil for findings outside Kubernetes objects (Dockerfiles,
	// the config file).
	Object   *ObjectRef
	Location Location
	// Path is the field path of the offending field, or of its nearest
	// existing parent when the field is missing.
	Path string
	// Extra holds what few findings carry; nil when none of it is set.
	// Read it through Suppression, Trace and Vulnerability, and change it
	// only through their setters: copies of a finding share it.
	Extra *Extra
}

// Extra is the part of a finding that few findings have. It lives behind
// one pointer so that a Finding stays small: a scan of a hundred thousand
// objects holds every finding twice (per-worker chunks and their merge),
// and its memory peak is that of the findings. An Extra is never changed
// once a finding points at it, so findings copied from one another may
// share it.
type Extra struct {
	// Suppression says why the finding was not counted; nil when it is.
	Suppression *Suppression
	// Trace, for an object rendered from a template (a Helm chart), says
	// how Location.Line was found in the template; nil otherwise.
	Trace *object.Trace
	// Vulnerability describes the known vulnerability an
	// image-vulnerability finding reports; nil for every other finding.
	Vulnerability *Vulnerability
}

// Suppression says why the finding was not counted; nil when it is.
func (f Finding) Suppression() *Suppression {
	if f.Extra == nil {
		return nil
	}
	return f.Extra.Suppression
}

// Trace says how Location.Line was found in the template of a finding on
// an object rendered from one (a Helm chart); nil otherwise.
func (f Finding) Trace() *object.Trace {
	if f.Extra == nil {
		return nil
	}
	return f.Extra.Trace
}

// Vulnerability describes the known vulnerability an image-vulnerability
// finding reports; nil for every other finding.
func (f Finding) Vulnerability() *Vulnerability {
	if f.Extra == nil {
		return nil
	}
	return f.Extra.Vulnerability
}

// SetSuppression sets the finding's suppression (nil: counted). It leaves
// the Extra other copies of the finding share untouched.
func (f *Finding) SetSuppression(s *Suppression) {
	x := f.extra()
	x.Suppression = s
	f.setExtra(x)
}

// SetTrace sets the finding's template trace. It leaves the Extra other
// copies of the finding share untouched.
func (f *Finding) SetTrace(t *object.Trace) {
	x := f.extra()
	x.Trace = t
	f.setExtra(x)
}

// SetVulnerability sets the vulnerability the finding reports. It leaves
// the Extra other copies of the finding share untouched.
func (f *Finding) SetVulnerability(v *Vulnerability) {
	x := f.extra()
	x.Vulnerability = v
	f.setExtra(x)
}

// extra returns a copy of the finding's Extra, empty when it has none.
func (f *Finding) extra() Extra {
	if f.Extra == nil {
		return Extra{}
	}
	return *f.Extra
}

// setExtra points the finding at a new Extra holding x, or at none when x
// is empty. It allocates only then: every finding of a scan passes
// through SetSuppression, nearly all with nil.
func (f *Finding) setExtra(x Extra) {
	if x == (Extra{}) {
		f.Extra = nil
		return
	}
	p := new(Extra)
	*p = x
	f.Extra = p
}

// Vulnerability is a known vulnerability of one package of an image, as
// reports give it to tools that read them.
type Vulnerability struct {
	// ID is the advisory's ID, Aliases its other IDs (CVEs).
	ID      string
	Aliases []string
	// Package is the package's name, Ecosystem its OSV ecosystem
	// (Debian:12), PURL its package URL.
	Package, Ecosystem, PURL string
	// Installed is the version compared, Fixed the first fixed one ("":
	// no fix yet).
	Installed, Fixed string
	// Score is the CVSS base score, 0 when the database gave none.
	Score float64
}

// Params are the values teams argue about; .kubeharden.yaml sets them.
type Params struct {
	// MinUID and MaxUID bound runAsUser (MaxUID 0: no maximum).
	MinUID, MaxUID int64
	// MinGID and MaxGID bound runAsGroup and fsGroup (MaxGID 0: no maximum).
	MinGID, MaxGID int64
	// CPULimits requires CPU limits; many teams switch it off because CPU
	// limits throttle latency-sensitive services.
	CPULimits bool
	// AllowedCapabilities may be added without a finding.
	AllowedCapabilities []string
	// PodSecurityVersion is the Kubernetes version ("v1.30" or "latest")
	// at which the Pod Security Standards are evaluated.
	PodSecurityVersion string
	// EgressDefaultDeny also requires a default-deny egress policy in every
	// namespace that runs workloads.
	EgressDefaultDeny bool
	// KubernetesVersion is the version of the cluster the objects are for
	// ("1.35"; --kubernetes-version, or the live cluster's), "" when
	// unknown: then deprecated-api judges against the newest release it
	// knows and the cluster checks do not run offline.
	KubernetesVersion string
}

// RangeText phrases an allowed ID range for a message, e.g. " >= 10000"
// or " between 10000 and 60000" (0 bounds are open); the checks and the
// admission policies say it alike.
func RangeText(lo, hi int64) string {
	switch {
	case lo > 0 && hi > 0:
		return fmt.Sprintf(" between %d and %d", lo, hi)
	case lo > 0:
		return fmt.Sprintf(" >= %d", lo)
	case hi > 0:
		return fmt.Sprintf(" <= %d", hi)
	}
	return ""
}

// UIDAllowed reports whether uid is within MinUID and MaxUID.
func (p *Params) UIDAllowed(uid int64) bool {
	return uid >= p.MinUID && (p.MaxUID <= 0 || uid <= p.MaxUID)
}

// GIDAllowed reports whether gid is within MinGID and MaxGID.
func (p *Params) GIDAllowed(gid int64) bool {
	return gid >= p.MinGID && (p.MaxGID <= 0 || gid <= p.MaxGID)
}

// UIDRange describes MinUID and MaxUID for messages: "10000-60000", or
// "10000 and above" without a maximum.
func (p *Params) UIDRange() string {
	if p.MaxUID > 0 {
		return strconv.FormatInt(p.MinUID, 10) + "-" + strconv.FormatInt(p.MaxUID, 10)
	}
	return strconv.FormatInt(p.MinUID, 10) + " and above"
}

// DefaultParams returns the defaults documented in docs/checks.md.
func DefaultParams() Params {
	return Params{
		MinUID:              10000,
		MinGID:              10000,
		CPULimits:           true,
		AllowedCapabilities: []string{"NET_BIND_SERVICE"},
		PodSecurityVersion:  "latest",
	}
}

// Pass is the state of one object check running on one object.
type Pass struct {
	Object *object.Object
	// Pod is the object's pod spec, nil for objects without one.
	Pod    *object.PodSpec
	Params *Params
	// Namespace is the object's namespace, or the scan's default namespace
	// when the object sets none (as `kubectl apply -n` would place it).
	Namespace string

	check  *Meta
	objRef *ObjectRef
	emit   func(Finding, Deferral)
	keep   func(key string, v any)
}

// Deferral makes a finding depend on other objects: Unless drops it when
// it returns true given the facts known once every object is seen (the
// scan's own, or the cluster's), and of the findings of one check that
// share a non-empty Once key only the first in input order is kept (one
// finding per namespace, not per workload).
type Deferral struct {
	Unless func(Facts) bool
	Once   string
}

// NewPass prepares the checks' pass over o; emit receives every finding, with the
// condition of a deferred one, and keep every fact (nil drops them).
func NewPass(o *object.Object, params *Params, namespace string, objRef *ObjectRef, emit func(Finding, Deferral), keep func(key string, v any)) *Pass {
	return &Pass{Object: o, Pod: o.PodSpec(), Params: params, Namespace: namespace, objRef: objRef, emit: emit, keep: keep}
}

// Run runs c over the pass's object; one pass serves all checks of an
// object, one after the other.
func (p *Pass) Run(c *ObjectCheck) {
	p.check = &c.Meta
	c.Run(p)
}

// Keep records a fact about the object for the deferred conditions:
// Facts.Kept(key) returns every fact kept under key, in input order. Keep
// holds only v, never the object, which is how a check looks across
// numerous objects (every role and binding of a cluster) in bounded
// memory. Keys should start with the check ID; v must not hold the
// object's nodes.
func (p *Pass) Keep(key string, v any) {
	if p.keep != nil {
		p.keep(key, v)
	}
}

// Report records a finding at ref.
func (p *Pass) Report(ref object.Ref, format string, args ...any) {
	p.ReportDeferred(ref, Deferral{}, format, args...)
}

// ReportUnless records a finding that is dropped when unless returns true
// once every object is known: a pod's finding may depend on a
// ServiceAccount later in the input, or in the cluster. unless must only
// capture small values, not the object's nodes, so that memory stays
// bounded.
func (p *Pass) ReportUnless(ref object.Ref, unless func(Facts) bool, format string, args ...any) {
	p.ReportDeferred(ref, Deferral{Unless: unless}, format, args...)
}

// ReportDeferred records a finding whose existence depends on other
// objects; see Deferral.
func (p *Pass) ReportDeferred(ref object.Ref, d Deferral, format string, args ...any) {
	line, col, tr := p.Object.Place(ref)
	var x *Extra
	if tr != nil {
		x = &Extra{Trace: tr}
	}
	p.emit(Finding{
		Check:    p.check.ID,
		Severity: p.check.Severity,
		Message:  message(format, args),
		Object:   p.objRef,
		Location: Location{File: p.Object.File, Line: line, Column: col},
		Path:     ref.Path,
		Extra:    x,
	}, d)
}

func message(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// FilePass is the part of a Dockerfile or image check's pass that does not
// depend on what is read: the parameters and where findings go. The kinds'
// own passes embed it.
type FilePass struct {
	Params *Params
	check  *Meta
	file   string
	emit   func(Finding)
}

// NewFilePass prepares a file pass whose findings are located in file (the
// Dockerfile, or the image reference).
func NewFilePass(file string, params *Params, emit func(Finding)) FilePass {
	return FilePass{Params: params, file: file, emit: emit}
}

// Use makes m the check whose findings the pass reports next.
func (p *FilePass) Use(m *Meta) { p.check = m }

// ReportAt records a finding of a Dockerfile or image check: at a line of
// the Dockerfile (0 for none), with path naming the stage, instruction or
// file in the image.
func (p *FilePass) ReportAt(line int, path string, format string, args ...any) {
	col := 0
	if line > 0 {
		col = 1
	}
	p.emit(Finding{
		Check:    p.check.ID,
		Severity: p.check.Severity,
		Message:  message(format, args),
		Location: Location{File: p.file, Line: line, Column: col},
		Path:     path,
	})
}

// ReportWith records a finding of an image check that carries its own
// severity (a vulnerability's, from its database), the vulnerability it
// reports and, when sup is not nil, the reason it does not count (an
// ignore entry, a VEX statement).
func (p *FilePass) ReportWith(sev Severity, sup *Suppression, v *Vulnerability, path string, format string, args ...any) {
	var x *Extra
	if sup != nil || v != nil {
		x = &Extra{Suppression: sup, Vulnerability: v}
	}
	p.emit(Finding{
		Check:    p.check.ID,
		Severity: sev,
		Message:  message(format, args),
		Location: Location{File: p.file},
		Path:     path,
		Extra:    x,
	})
}

// Facts is what deferred conditions know of other objects: the facts
// checks kept (Pass.Keep), in input order, and a memo for state computed
// from them. The scan builds them from its own inputs; the webhook and the
// cluster audit supply the cluster's. Facts hold no objects: a YAML tree is
// kilobytes, a fact a few bytes, and a cluster may have a hundred thousand
// objects.
type Facts interface {
	// Kept returns the facts kept under key, in input order.
	Kept(key string) []any
	// Memo returns the value stored under key, computing it once with
	// make. Deferred conditions use it to precompute per-scan state (the
	// policies of a namespace, compiled once) so that a check stays linear
	// in the number of objects. Keys should start with the check ID.
	Memo(key string, make func() any) any
	// DefaultNamespace is where objects without a namespace are placed.
	DefaultNamespace() string
}

// Index is the Facts of a set of objects, filled as they are seen. It is
// not safe for concurrent use: deferred conditions run one at a time.
type Index struct {
	memo map[string]any
	kept map[string][]any
	base Facts
	ns   string
}

// NewIndex returns an empty index; objects without a namespace are placed
// in defaultNamespace.
func NewIndex(defaultNamespace string) *Index {
	return &Index{memo: map[string]any{}, kept: map[string][]any{}, ns: defaultNamespace}
}

// Over returns an empty index whose facts come after those of base (nil:
// none): the webhook judges one object against the cluster's facts plus
// its own.
func Over(base Facts, defaultNamespace string) *Index {
	x := NewIndex(defaultNamespace)
	x.base = base
	return x
}

// AddKept records a fact kept by a check; callers add them in input order.
func (x *Index) AddKept(key string, v any) { x.kept[key] = append(x.kept[key], v) }

// Kept returns the facts kept under key: those of the base first.
func (x *Index) Kept(key string) []any {
	if x.base == nil {
		return x.kept[key]
	}
	b := x.base.Kept(key)
	if len(x.kept[key]) == 0 {
		return b
	}
	return append(slices.Clip(b), x.kept[key]...)
}

// Memo implements Facts.
func (x *Index) Memo(key string, make func() any) any {
	if v, ok := x.memo[key]; ok {
		return v
	}
	v := make()
	x.memo[key] = v
	return v
}

// DefaultNamespace implements Facts.
func (x *Index) DefaultNamespace() string { return x.ns }

// Of returns the checks of r of kind T (a check type such as
// *dockerfilecheck.Check), sorted by ID.
func Of[T Entry](r *Registry) []T {
	var out []T
	for _, e := range r.Entries() {
		if c, ok := e.(T); ok {
			out = append(out, c)
		}
	}
	return out
}
