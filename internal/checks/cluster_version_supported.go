package checks

import (
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
)

// A cluster must run a Kubernetes minor that upstream still patches: past
// its end of life, a vulnerability in the API server or the kubelet is
// fixed in newer releases only, and published for attackers to read.
//
// Fields: the cluster's version (the API server's, or
// --kubernetes-version / parameters.kubernetesVersion offline), read
// against the release calendar of package k8sversion on the policy's
// clock.
// Allowed: a minor in full support, or one the calendar does not know yet
// (newer than its newest release: kubeharden warns that its calendar may
// be out of date instead). A minor in maintenance mode (the last two
// months before end of life, when only critical fixes land) is reported
// one severity lower than the check's; one past end of life at the
// check's severity.
func init() {
	registerCluster(&clustercheck.Check{
		Meta: check.Meta{
			ID:       "cluster-version-supported",
			Title:    "Unsupported Kubernetes version",
			Severity: check.High,
			Description: "Upstream Kubernetes patches each minor release for about fourteen months: twelve in full support, then two in maintenance mode, " +
				"when only critical security and dependency fixes land, until its end of life, after which nothing is patched. " +
				"A cluster on an end-of-life minor keeps every vulnerability found since, in the API server, the kubelet and the components around them, " +
				"and its upgrade gets harder with every release it falls behind. " +
				"kubeharden reads an embedded, dated release calendar rather than a rule such as \"the last three minors\", reports a minor in maintenance mode one severity lower " +
				"with the days left, and warns on stderr when its own calendar is more than six months old. " +
				"Offline, `kubeharden scan --kubernetes-version` (or parameters.kubernetesVersion) names the version the manifests are for; the finding then has no object and no file.",
			Remediation: "Upgrade the cluster one minor at a time to a release in full support, after fixing the objects deprecated-api reports for each step; " +
				"keep a schedule that upgrades at least once a year.",
			References: []string{
				seed000 + "keep your Kubernetes cluster as updated as possible",
				nsaCISA + "upgrading and application security practices",
			},
		},
		Run: clusterVersionSupported,
	})
}

func clusterVersionSupported(p *clustercheck.Pass) {
	v, now := p.Target.Version, p.Now
	upgrade := "a release in full support"
	if s, ok := k8sversion.OldestSupported(now); ok {
		upgrade = s.String() + " or newer"
	}
	r, ok := k8sversion.Lookup(v)
	if !ok {
		if oldest := k8sversion.Oldest(); v.Less(oldest.Version) {
			p.Report("version", "Kubernetes %s reached end of life before %s (when %s did), over %d days ago, and gets no security fixes: upgrade to %s",
				v, date(oldest.EndOfLife), oldest.Version, k8sversion.Days(oldest.EndOfLife, now), upgrade)
		}
		return
	}
	switch r.Phase(now) {
	case k8sversion.MaintenanceMode:
		p.ReportLower("version", "Kubernetes %s is in maintenance mode since %s and reaches end of life on %s, in %d days: upgrade to %s",
			v, date(r.Maintenance), date(r.EndOfLife), k8sversion.Days(now, r.EndOfLife), upgrade)
	case k8sversion.EndOfLife:
		p.Report("version", "Kubernetes %s reached end of life on %s, %d days ago, and gets no security fixes: upgrade to %s",
			v, date(r.EndOfLife), k8sversion.Days(r.EndOfLife, now), upgrade)
	}
}

func date(t time.Time) string { return t.Format(time.DateOnly) }
