package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
)

// The API server's authorizer must enforce RBAC: a user nothing grants
// anything must be refused. With --authorization-mode=AlwaysAllow, or an
// authorizer that lets everyone through, every authenticated client (any
// pod's service account token) can read every Secret.
//
// Fields: the answer to a SubjectAccessReview asking whether a made-up
// user, without groups, may list Secrets in every namespace (a live
// cluster only; a review the credentials may not create is a coverage
// gap, and the check stays silent)
// Allowed: denied
func init() {
	registerCluster(&clustercheck.Check{
		Meta: check.Meta{
			ID:       "rbac-authorization",
			Title:    "Authorizer does not enforce RBAC",
			Severity: check.Critical,
			Description: "Role-based access control only protects a cluster whose API server consults it: with --authorization-mode=AlwaysAllow, " +
				"or a webhook or custom authorizer that approves everything, every authenticated client may do anything, " +
				"so a stolen service account token or kubeconfig of the least trusted workload is cluster-admin. " +
				"kubeharden asks the API server, through a SubjectAccessReview, whether a user it makes up for the purpose, who belongs to no group and is granted nothing, " +
				"may list the Secrets of every namespace; an authorizer that enforces RBAC says no.",
			Remediation: "Run kube-apiserver with --authorization-mode=Node,RBAC (or an authorization configuration with the Node and RBAC authorizers) and without AlwaysAllow; " +
				"on a managed cluster, turn RBAC on, which may mean recreating the cluster; then grant each user and service account only the roles it needs.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Run: rbacAuthorization,
	})
}

func rbacAuthorization(p *clustercheck.Pass) {
	live := p.Target.Live
	if live == nil || !live.RBAC.Known || !live.RBAC.Allowed {
		return
	}
	reason := ""
	if live.RBAC.Reason != "" {
		reason = " (" + live.RBAC.Reason + ")"
	}
	p.Report("authorization", "the authorizer lets user %q, whom nothing grants anything, list the secrets of every namespace%s: it does not enforce RBAC",
		live.RBAC.User, reason)
}
