// Package policy is the one answer to "does this count?", consulted alike
// by scan, fix, and every front end to come (webhook, cluster audit): which
// checks run and at what severity, with which parameters, and whether a
// finding is suppressed by an annotation, a Dockerfile comment or a config
// exemption, judged on one clock.
package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/object"
)

// AnnotationPrefix starts the annotation that suppresses a check on one
// object: ignore.kubeharden.io/<check-id>: "<reason>".
const AnnotationPrefix = "ignore.kubeharden.io/"

// The policy's own checks: reported by the policy, not run on objects.
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

// Checks lists the policy's own checks, for docs and reports.
func Checks() []check.Meta { return []check.Meta{ExpiredExemption, InvalidSuppression} }

// Policy is the configuration, the registry it names checks from, and the
// day exemptions expire against. It is read-only once made and safe for
// concurrent use.
type Policy struct {
	// Config is the parsed .kubeharden.yaml (or the defaults).
	Config *config.Config
	// Now is the day exemptions expire against.
	Now    time.Time
	params check.Params
	known  func(id string) bool
}

// New returns the policy of cfg (nil: the defaults) for the checks of reg,
// judged on day now (zero: today).
func New(cfg *config.Config, reg *check.Registry, now time.Time) *Policy {
	if cfg == nil {
		cfg = config.Default()
	}
	if now.IsZero() {
		now = time.Now()
	}
	known := func(id string) bool {
		return id == InvalidSuppression.ID || id == ExpiredExemption.ID || (reg != nil && reg.Get(id) != nil)
	}
	return &Policy{Config: cfg, Now: now, params: cfg.Params(), known: known}
}

// Params are the check parameters: one value every check and fix reads.
func (p *Policy) Params() *check.Params { return &p.params }

// Enabled reports whether check id runs.
func (p *Policy) Enabled(id string) bool { return p.Config.Enabled(id) }

// Severity returns the severity of a check as configured, or def.
func (p *Policy) Severity(id string, def check.Severity) check.Severity {
	return p.Config.Severity(id, def)
}

// Effective returns m with its configured severity.
func (p *Policy) Effective(m check.Meta) check.Meta {
	m.Severity = p.Severity(m.ID, m.Severity)
	return m
}

// Annotations are the suppression annotations of one object: the valid
// ones by check ID, and the invalid ones as invalid-suppression findings.
type Annotations struct {
	valid   map[string]string
	Invalid []check.Finding
}

// Annotations reads o's ignore.kubeharden.io annotations. An annotation
// that names no known check or gives no reason suppresses nothing and is
// an invalid-suppression finding (when that check is enabled).
func (p *Policy) Annotations(o *object.Object, ref *check.ObjectRef) Annotations {
	var a Annotations
	for k, v := range o.Annotations {
		id, ok := strings.CutPrefix(k, AnnotationPrefix)
		if !ok {
			continue
		}
		problem := ""
		switch {
		case !p.known(id):
			problem = "names no known check"
		case strings.TrimSpace(v) == "":
			problem = "gives no reason"
		}
		if problem == "" {
			if a.valid == nil {
				a.valid = map[string]string{}
			}
			a.valid[id] = v
			continue
		}
		if !p.Enabled(InvalidSuppression.ID) {
			continue
		}
		ann := object.Get(object.Get(o.Node, "metadata"), "annotations")
		line, col := o.Pos(object.Ref{Node: object.KeyNode(ann, k)})
		a.Invalid = append(a.Invalid, check.Finding{
			Check:    InvalidSuppression.ID,
			Severity: p.Severity(InvalidSuppression.ID, InvalidSuppression.Severity),
			Message:  "annotation \"" + k + "\" " + problem + " and suppresses nothing",
			Object:   ref,
			Location: check.Location{File: o.File, Line: line, Column: col},
			Path:     "metadata.annotations." + k,
		})
	}
	return a
}

// Suppression returns why f does not count, or nil when it does: a valid
// annotation of its object (a), then a live config exemption. ns is the
// namespace the object is placed in.
func (p *Policy) Suppression(f *check.Finding, a *Annotations, ns string) *check.Suppression {
	if a != nil {
		if reason, ok := a.valid[f.Check]; ok {
			return &check.Suppression{Kind: "annotation", Reason: reason, Source: AnnotationPrefix + f.Check}
		}
	}
	c := p.Config
	for i := range c.Exemptions {
		x := &c.Exemptions[i]
		if x.Expired(p.Now) || !x.Matches(c, f.Check, f.Object, ns, f.Location.File) {
			continue
		}
		return &check.Suppression{Kind: "config", Reason: x.Reason, Source: c.File + ":" + strconv.Itoa(x.Line)}
	}
	return nil
}

// Counts reports whether f counts: it is neither suppressed nor exempted.
func (p *Policy) Counts(f *check.Finding, a *Annotations, ns string) bool {
	return p.Suppression(f, a, ns) == nil
}

// ExpiredExemptions are the expired-exemption findings of the config.
func (p *Policy) ExpiredExemptions() []check.Finding {
	c := p.Config
	if !p.Enabled(ExpiredExemption.ID) {
		return nil
	}
	var out []check.Finding
	for i := range c.Exemptions {
		x := &c.Exemptions[i]
		if !x.Expired(p.Now) {
			continue
		}
		out = append(out, check.Finding{
			Check:    ExpiredExemption.ID,
			Severity: p.Severity(ExpiredExemption.ID, ExpiredExemption.Severity),
			Message:  "exemption expired on " + x.Expires + " (reason was: " + x.Reason + ")",
			Location: check.Location{File: c.File, Line: x.Line, Column: 1},
			Path:     "exemptions[" + strconv.Itoa(i) + "]",
		})
	}
	for i := range c.Vulnerabilities.Ignore {
		x := &c.Vulnerabilities.Ignore[i]
		if !x.Expired(p.Now) {
			continue
		}
		out = append(out, check.Finding{
			Check:    ExpiredExemption.ID,
			Severity: p.Severity(ExpiredExemption.ID, ExpiredExemption.Severity),
			Message:  "ignore of " + x.ID + " expired on " + x.Expires + " (reason was: " + x.Reason + ")",
			Location: check.Location{File: c.File, Line: x.Line, Column: 1},
			Path:     "vulnerabilities.ignore[" + strconv.Itoa(i) + "]",
		})
	}
	return out
}

// VulnerabilitySuppression returns the live vulnerabilities.ignore entry
// of the config that covers a vulnerability known by ids (its ID and
// aliases) in package pkg, as a suppression, or nil.
func (p *Policy) VulnerabilitySuppression(ids []string, pkg string) *check.Suppression {
	c := p.Config
	for i := range c.Vulnerabilities.Ignore {
		x := &c.Vulnerabilities.Ignore[i]
		if x.Expired(p.Now) || (x.Package != "" && x.Package != pkg) {
			continue
		}
		for _, id := range ids {
			if strings.EqualFold(id, x.ID) {
				return &check.Suppression{Kind: "config", Reason: x.Reason, Source: c.File + ":" + strconv.Itoa(x.Line)}
			}
		}
	}
	return nil
}

// ReportsVulnerability reports whether a vulnerability of severity sev
// is reported at all: at or above vulnerabilities.severity.
func (p *Policy) ReportsVulnerability(sev check.Severity) bool {
	return sev >= p.Config.Vulnerabilities.Threshold()
}
