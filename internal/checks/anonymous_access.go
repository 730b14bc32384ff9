package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
)

// The API server must answer requests without credentials with its public
// health and discovery endpoints only: anything more is open to whoever
// reaches the server's port, with no token to steal first.
//
// Fields: the API server's answers to requests without credentials (with
// `kubeharden cluster --probe-anonymous` only): discovery (/api, /apis),
// lists of namespaces, nodes, pods, secrets, configmaps, service accounts
// and cluster role bindings, /metrics, /logs/ and /debug/pprof/
// Allowed: a refusal (401 or 403) or not found; the public endpoints
// (/healthz, /livez, /readyz, /version, /.well-known/openid-configuration,
// /openid/v1/jwks) are not asked
func init() {
	registerCluster(&clustercheck.Check{
		Meta: check.Meta{
			ID:       "anonymous-access",
			Title:    "API server answers anonymous requests",
			Severity: check.High,
			Description: "A request without credentials reaches kube-apiserver as the user system:anonymous in the group system:unauthenticated, unless anonymous authentication is off. " +
				"By default these may read only the health endpoints, /version and the service account issuer's discovery documents; " +
				"a binding to system:anonymous or system:unauthenticated, or an authorizer that allows everything, opens more to anyone who can reach the API server's port, " +
				"which on many clusters is the internet. Discovery documents alone tell an attacker the exact version and every installed extension. " +
				"The probe sends requests without credentials, so it runs only when asked for, with --probe-anonymous.",
			Remediation: "Remove the RoleBindings and ClusterRoleBindings whose subjects include system:anonymous or system:unauthenticated (rbac-anonymous-binding lists them); " +
				"run kube-apiserver with --anonymous-auth=false, or an AuthenticationConfiguration whose anonymous section allows only the health endpoints; " +
				"and restrict who can reach the API server's address.",
			References: []string{
				seed000 + "enable RBAC and give permissions as strictly as possible",
				nsaCISA + "authentication and authorization",
			},
		},
		Run: anonymousAccess,
	})
}

func anonymousAccess(p *clustercheck.Pass) {
	live := p.Target.Live
	if live == nil || !live.Anonymous.Known || len(live.Anonymous.Answered) == 0 {
		return
	}
	p.Report("anonymous", "the API server answers requests without credentials beyond its public endpoints: %s", strings.Join(live.Anonymous.Answered, ", "))
}
