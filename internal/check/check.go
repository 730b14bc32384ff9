// Package check defines what a check is (its metadata, what it applies to,
// how it runs), the findings it reports, the parameters teams tune, and the
// registry the engine and the docs read.
package check

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/image"
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
	// Fixable tells whether `kubeharden fix` can rewrite the finding.
	Fixable bool
	// FixFlag is the flag `kubeharden fix` needs for this fix, "" when it
	// runs by default (resources need values, digests need a lookup).
	FixFlag string
}

// FixCommand is the command that fixes the check's findings, "" when the
// check has no automatic fix.
func (m *Meta) FixCommand() string {
	switch {
	case !m.Fixable:
		return ""
	case m.FixFlag != "":
		return "kubeharden fix " + m.FixFlag
	}
	return "kubeharden fix"
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
)

func (t Target) String() string {
	switch t {
	case Dockerfiles:
		return "Dockerfile"
	case Images:
		return "image"
	}
	return "Kubernetes object"
}

// Check is one rule. Run is called once per object that Applies accepts
// (for Objects), or once per Dockerfile or image.
type Check struct {
	Meta
	Target Target
	// Applies selects the objects the check runs on; nil means all.
	Applies func(*object.Object) bool
	Run     func(*Pass)
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

// Registry holds checks by ID.
type Registry struct {
	byID map[string]*Check
	all  []*Check
}

// Register adds c; it panics on a duplicate or incomplete check because
// that is a programming error caught by any test run.
func (r *Registry) Register(c Check) {
	if r.byID == nil {
		r.byID = map[string]*Check{}
	}
	if c.ID == "" || c.Run == nil {
		panic(fmt.Sprintf("check %q: ID and Run are required", c.ID))
	}
	if _, dup := r.byID[c.ID]; dup {
		panic(fmt.Sprintf("check %q registered twice", c.ID))
	}
	cc := c
	r.byID[c.ID] = &cc
	r.all = append(r.all, &cc)
	sort.Slice(r.all, func(i, j int) bool { return r.all[i].ID < r.all[j].ID })
}

// Get returns the check with the given ID, or nil.
func (r *Registry) Get(id string) *Check { return r.byID[id] }

// All returns every check, sorted by ID.
func (r *Registry) All() []*Check { return r.all }

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
	// Kind is "annotation" or "config".
	Kind   string
	Reason string
	// Source is the annotation key or the config file and line.
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
	Path        string
	Suppression *Suppression
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

// Pass is the state of one check running on one object.
type Pass struct {
	// Dockerfile is set for Dockerfile checks, Image for image checks;
	// Object for the others.
	Dockerfile *dockerfile.File
	Image      *image.Image

	Object *object.Object
	// Pod is the object's pod spec, nil for objects without one.
	Pod    *object.PodSpec
	Params *Params
	// Namespace is the object's namespace, or the scan's default namespace
	// when the object sets none (as `kubectl apply -n` would place it).
	Namespace string

	check  *Check
	file   string
	objRef *ObjectRef
	emit   func(Finding, Deferral)
	keep   func(key string, v any)
}

// Deferral makes a finding depend on the whole scan: Unless drops it when
// it returns true once every object is known, and of the findings of one
// check that share a non-empty Once key only the first in input order is
// kept (one finding per namespace, not per workload).
type Deferral struct {
	Unless func(*Index) bool
	Once   string
}

// NewPass prepares the checks' pass over o; emit receives every finding, with the
// condition of a deferred one, and keep every fact (nil drops them).
func NewPass(o *object.Object, params *Params, namespace string, objRef *ObjectRef, emit func(Finding, Deferral), keep func(key string, v any)) *Pass {
	return &Pass{Object: o, Pod: o.PodSpec(), Params: params, Namespace: namespace, objRef: objRef, emit: emit, keep: keep}
}

// Run runs c over the pass's object; one pass serves all checks of an
// object, one after the other.
func (p *Pass) Run(c *Check) {
	p.check = c
	c.Run(p)
}

// Keep records a fact about the object for the deferred conditions of the
// scan: Index.Kept(key) returns every fact kept under key, in input order.
// Keep holds only v, never the object, which is how a check looks across
// numerous objects (every role and binding of a cluster) in bounded memory. Keys should
// start with the check ID; v must not hold the object's nodes.
func (p *Pass) Keep(key string, v any) {
	if p.keep != nil {
		p.keep(key, v)
	}
}

// NewFilePass prepares the pass of Dockerfile or image checks; findings
// are located in file (the Dockerfile, or the image reference).
func NewFilePass(df *dockerfile.File, img *image.Image, file string, params *Params, emit func(Finding, Deferral)) *Pass {
	return &Pass{Dockerfile: df, Image: img, Params: params, file: file, emit: emit}
}

// ReportAt records a finding of a Dockerfile or image check: at a line of
// the Dockerfile (0 for none), with path naming the stage, instruction or
// file in the image.
func (p *Pass) ReportAt(line int, path string, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	col := 0
	if line > 0 {
		col = 1
	}
	p.emit(Finding{
		Check:    p.check.ID,
		Severity: p.check.Severity,
		Message:  msg,
		Location: Location{File: p.file, Line: line, Column: col},
		Path:     path,
	}, Deferral{})
}

// Report records a finding at ref.
func (p *Pass) Report(ref object.Ref, format string, args ...any) {
	p.ReportDeferred(ref, Deferral{}, format, args...)
}

// ReportUnless records a finding that is dropped when unless returns true
// once every object of the scan is known: a pod's finding may depend on a
// ServiceAccount later in the input. unless must only capture small values,
// not the object's nodes, so that memory stays bounded.
func (p *Pass) ReportUnless(ref object.Ref, unless func(*Index) bool, format string, args ...any) {
	p.ReportDeferred(ref, Deferral{Unless: unless}, format, args...)
}

// ReportDeferred records a finding whose existence depends on the whole
// scan; see Deferral.
func (p *Pass) ReportDeferred(ref object.Ref, d Deferral, format string, args ...any) {
	line, col := p.Object.Pos(ref)
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	p.emit(Finding{
		Check:    p.check.ID,
		Severity: p.check.Severity,
		Message:  msg,
		Object:   p.objRef,
		Location: Location{File: p.Object.File, Line: line, Column: col},
		Path:     ref.Path,
	}, d)
}

// Index is what deferred conditions see of the whole scan: the facts
// checks kept about objects (Pass.Keep), in input order, and a memo for
// per-scan state computed from them. It holds no objects: a YAML tree is
// kilobytes, a fact a few bytes, and a scan may have a hundred thousand
// objects.
type Index struct {
	memo map[string]any
	kept map[string][]any
	// DefaultNamespace is where objects without a namespace are placed.
	DefaultNamespace string
}

// NewIndex returns an empty index.
func NewIndex(defaultNamespace string) *Index {
	return &Index{memo: map[string]any{}, kept: map[string][]any{}, DefaultNamespace: defaultNamespace}
}

// AddKept records a fact kept by a check; the engine adds them in input
// order.
func (x *Index) AddKept(key string, v any) { x.kept[key] = append(x.kept[key], v) }

// Kept returns the facts that checks kept under key (see Pass.Keep), in
// input order.
func (x *Index) Kept(key string) []any { return x.kept[key] }

// Memo returns the value stored under key, computing it once with make.
// Deferred conditions use it to precompute per-scan state (the policies of
// a namespace, compiled once) so that a check stays linear in the number
// of objects. Keys should start with the check ID. Deferred conditions run
// one at a time, so make needs no locking.
func (x *Index) Memo(key string, make func() any) any {
	if v, ok := x.memo[key]; ok {
		return v
	}
	v := make()
	x.memo[key] = v
	return v
}
