package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// The final stage's USER should be a high numeric UID: the kubelet can
// only enforce runAsNonRoot for a number (it refuses to start an image
// whose USER is a name, or starts it unchecked when runAsNonRoot is
// unset), and a low UID is a host user's UID (seed 003's UID 101 was the
// host's syslog).
//
// Reads: the effective USER of the final stage (its own, or that of the
// stage it builds on)
// Allowed: a numeric UID from Params.MinUID (default 10000) up to
// Params.MaxUID when set; no USER on a base known to run as UID 65532
// (distroless :nonroot, Chainguard). Not reported here: no USER or a
// root USER (dockerfile-user reports them), a USER decided by a build
// argument.
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-user-high-uid",
			Title:    "Dockerfile USER is a name or a low UID",
			Severity: check.Medium,
			Description: "The kubelet checks runAsNonRoot against the image's USER only when it is a number: with a user name it cannot tell, " +
				"and refuses to start the pod. A low UID such as 101 is also a user on the host, so an escaped process, " +
				"or one that shares a volume, acts with that user's files and rights.",
			Remediation: "Create the user with a high UID that no host user has and set it by number, for example " +
				"RUN adduser -D -u 60096 app and USER 60096:60096.",
			References: []string{
				seed003 + "non root user (use a higher uid, in the 40000-60000 range)",
				seed003 + "runAsUser",
				nsaCISA + "non-root containers",
			},
		},
		Run:     dockerfileUserHighUID,
		Fixable: true,
	})
}

func dockerfileUserHighUID(p *dockerfilecheck.Pass) {
	f := p.Dockerfile
	if f == nil || f.Final == nil {
		return
	}
	final := f.Final
	min, max := p.Params.MinUID, p.Params.MaxUID
	st, ins := final.Effective("user")
	if ins == nil {
		if root := final.Root(); dfNonRootBase(root.Base) && !p.Params.UIDAllowed(dockerfile.NonrootID) {
			p.ReportAt(final.From.Line, dfPath(final, final.From), "%s runs as the base image's UID %d, outside the allowed range %s",
				dfFinal(final), dockerfile.NonrootID, p.Params.UIDRange())
		}
		return
	}
	if len(ins.Args) == 0 || dfUnresolved(ins.Args[0]) || dfRootUser(ins.Args[0]) {
		return
	}
	v := ins.Args[0]
	user, uid, numeric := dfUser(v)
	path := dfPath(st, ins)
	switch {
	case !numeric:
		p.ReportAt(ins.Line, path, "%s runs as USER %q, a name rather than a numeric UID, so the kubelet cannot verify runAsNonRoot", dfFinal(final), user)
	case uid < min:
		p.ReportAt(ins.Line, path, "%s runs as UID %d, below the minimum %d: a low UID collides with host users (101 is syslog on many hosts)", dfFinal(final), uid, min)
	case max > 0 && uid > max:
		p.ReportAt(ins.Line, path, "%s runs as UID %d, above the maximum %d", dfFinal(final), uid, max)
	}
}
