// Package clustercheck is the kind of check that judges a cluster as a
// whole (its Kubernetes version, later its nodes and its authorizer)
// rather than one object. It runs once per cluster: on the live cluster
// for `kubeharden cluster`, and on the target that `kubeharden scan
// --kubernetes-version` describes offline.
package clustercheck

import (
	"fmt"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
)

// Check is a rule over a cluster. Run is called once per cluster.
type Check struct {
	check.Meta
	Run func(*Pass)
}

// Kind is check.Cluster.
func (*Check) Kind() check.Target { return check.Cluster }

// Target is what is known of the cluster: offline, only the version the
// user gives.
type Target struct {
	// Version is the API server's minor version.
	Version k8sversion.Version
	// Name locates the findings (Finding.Location.File): the kubeconfig
	// context of a live cluster, "" offline. Cluster findings have no
	// object (Finding.Object nil) and no line.
	Name string
}

// Pass is the state of the cluster checks running on one cluster.
type Pass struct {
	Target Target
	Params *check.Params
	// Now is the policy's clock: the day support calendars are read at.
	Now   time.Time
	check *check.Meta
	emit  func(check.Finding)
}

// Report records a finding at the check's severity; path names the field
// or fact it is about (such as "version").
func (p *Pass) Report(path, format string, args ...any) {
	p.report(p.check.Severity, path, format, args)
}

// ReportLower records a finding one severity below the check's (but at
// least Info): the warning that comes before the real thing, such as
// maintenance mode before end of life.
func (p *Pass) ReportLower(path, format string, args ...any) {
	sev := p.check.Severity
	if sev > check.Info {
		sev--
	}
	p.report(sev, path, format, args)
}

func (p *Pass) report(sev check.Severity, path, format string, args []any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	p.emit(check.Finding{
		Check:    p.check.ID,
		Severity: sev,
		Message:  msg,
		Location: check.Location{File: p.Target.Name},
		Path:     path,
	})
}

// Of returns the cluster checks of r, sorted by ID.
func Of(r *check.Registry) []*Check { return check.Of[*Check](r) }

// Run runs checks on the cluster t on day now, reporting to emit.
func Run(checks []*Check, t Target, params *check.Params, now time.Time, emit func(check.Finding)) {
	p := &Pass{Target: t, Params: params, Now: now, emit: emit}
	for _, c := range checks {
		p.check = &c.Meta
		c.Run(p)
	}
}
