package check

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/object"
)

// Fix is how an object check fixes its own findings. It is declared beside
// Run, in the check's file, and receives the check's findings on one
// object; the fix engine runs the check again on the result and refuses
// the fix (reports it as skipped, with the reason) when the finding is not
// cleared or the object becomes invalid.
type Fix struct {
	// Needs is what the fix needs beyond the object; a fix whose need is
	// not supplied does not run.
	Needs Requirement
	// Apply edits p.Object's YAML tree for p.Findings.
	Apply func(p *FixPass)
	// Order places the fix among the others of an object (lowest first,
	// then by ID): it decides where new keys land, so that the output of
	// several fixes is stable and reads naturally.
	Order int
}

// Resources are the default requests and limits that resources fixes
// write; an empty value is not written.
type Resources struct {
	RequestsCPU, RequestsMemory string
	LimitsCPU, LimitsMemory     string
}

// FixValues are what fixes may use beyond the object: the IDs to set, and
// what the requirements supply.
type FixValues struct {
	// UID and GID are written where runAsUser, runAsGroup and fsGroup are
	// missing or outside the accepted range.
	UID, GID int64
	// Resources supplies NeedsResources; nil leaves resources alone.
	Resources *Resources
	// Resolve supplies NeedsDigests: it returns the digest ("sha256:...")
	// of an image reference; nil leaves references alone.
	Resolve func(ref string) (string, error)
}

// Supplies reports whether v supplies the requirement r.
func (v *FixValues) Supplies(r Requirement) bool {
	switch r {
	case NeedsResources:
		return v != nil && v.Resources != nil
	case NeedsDigests:
		return v != nil && v.Resolve != nil
	}
	return true
}

// FixPass is the state of one check's fix on one object.
type FixPass struct {
	Object *object.Object
	// Pod is the object's pod spec, nil for objects without one.
	Pod *object.PodSpec
	// Findings are the check's findings on the object that are to be
	// fixed: neither suppressed nor exempted.
	Findings []Finding
	Params   *Params
	Values   *FixValues

	changed func(path, risk string)
	skip    func(line int, reason string)
}

// NewFixPass prepares a fix pass; changed receives every field the fix
// changes (with the risk, "" for none), skip every finding it leaves alone.
func NewFixPass(o *object.Object, findings []Finding, params *Params, values *FixValues,
	changed func(path, risk string), skip func(line int, reason string)) *FixPass {
	return &FixPass{Object: o, Pod: o.PodSpec(), Findings: findings, Params: params, Values: values, changed: changed, skip: skip}
}

// Changed records that the fix wrote the field at path.
func (p *FixPass) Changed(path string) { p.changed(path, "") }

// Risky records that the fix wrote the field at path in a way that may
// break the workload, and what a person should test: "files the image
// owns by UID 1000 may no longer be writable".
func (p *FixPass) Risky(path, risk string) { p.changed(path, risk) }

// Skip records a finding the fix leaves alone, at the 1-based line of the
// object's document (a node's Line), and why.
func (p *FixPass) Skip(line int, reason string) { p.skip(line, reason) }

// Found reports whether one of the findings is about the field at path or
// below it: a container's fix asks with the container's path.
func (p *FixPass) Found(path string) bool {
	for i := range p.Findings {
		if Under(p.Findings[i].Path, path) {
			return true
		}
	}
	return false
}

// Under reports whether field path p is path or below it.
func Under(p, path string) bool {
	if !strings.HasPrefix(p, path) {
		return false
	}
	if len(p) == len(path) || path == "" {
		return true
	}
	c := p[len(path)]
	return c == '.' || c == '['
}
