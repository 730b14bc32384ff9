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
	// Live is what a running cluster showed (package cluster's Inspect);
	// nil offline. The checks that read it stay silent on what is not
	// known: an unknown is not a finding.
	Live *Live `yaml:"live"`
}

// Live is what the inspection of a running cluster found. Each part says
// whether it is known: a part the credentials could not read is a coverage
// gap, reported by the inspection, and the checks that read it stay
// silent. The yaml tags are the form testdata describe a cluster in.
type Live struct {
	// Nodes are the cluster's nodes, when NodesKnown.
	Nodes      []Node `yaml:"nodes"`
	NodesKnown bool   `yaml:"nodesKnown"`
	// Updaters are the node updaters found running cluster-wide: a Kured
	// DaemonSet, system-upgrade-controller Plans ("DaemonSet
	// kube-system/kured"). UpdatersKnown says every place one is looked
	// for was read, so that none found means none deployed.
	Updaters      []string `yaml:"updaters"`
	UpdatersKnown bool     `yaml:"updatersKnown"`
	// RBAC is the answer of the authorizer probe.
	RBAC RBACProbe `yaml:"rbac"`
	// Anonymous is the answer of the anonymous request probe, which runs
	// only when asked for.
	Anonymous AnonymousProbe `yaml:"anonymous"`
}

// Node is what the checks read of one node.
type Node struct {
	Name string `yaml:"name"`
	// KubeletVersion, KernelVersion and OSImage are the node's
	// status.nodeInfo, as the kubelet reports them ("" when not reported).
	KubeletVersion string `yaml:"kubeletVersion"`
	KernelVersion  string `yaml:"kernelVersion"`
	OSImage        string `yaml:"osImage"`
	// Pool names the node pool the node belongs to, as the label that
	// says so ("cloud.google.com/gke-nodepool=default-pool"); "" when no
	// well-known label does. Nodes of one pool are meant to be alike.
	Pool string `yaml:"pool"`
	// ManagedUpdates names the label that shows the node's OS is updated
	// by its provider or by a node updater ("eks.amazonaws.com/compute-type=auto"),
	// "" when none does.
	ManagedUpdates string `yaml:"managedUpdates"`
	// RebootPending is the annotation, with its value, by which Kured says
	// the node needs a reboot to apply OS updates; "" when none.
	RebootPending string `yaml:"rebootPending"`
}

// RBACProbe is the answer to a SubjectAccessReview for a made-up user
// without groups who asks to list the Secrets of every namespace.
type RBACProbe struct {
	// Known is false when the review could not be made.
	Known bool `yaml:"known"`
	// User is the made-up user asked about.
	User string `yaml:"user"`
	// Allowed is the authorizer's answer, and Reason its reason.
	Allowed bool   `yaml:"allowed"`
	Reason  string `yaml:"reason"`
}

// AnonymousProbe is what the API server answered requests without
// credentials to, beyond its public health and discovery endpoints.
type AnonymousProbe struct {
	// Known is false when the probe did not run, or failed.
	Known bool `yaml:"known"`
	// Answered are the requests answered with a success status
	// ("GET /api/v1/namespaces"), in the order they were made.
	Answered []string `yaml:"answered"`
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
