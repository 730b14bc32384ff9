package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
)

// The image must not run as root: the final stage (or a stage it builds
// FROM) sets a non-root USER, or builds on a base known to run as
// non-root. Without user namespaces the container's root is the host's
// root, which is what an escaped process gets (seed 003 saw a Flask app
// mapped to root on the worker).
//
// Reads: USER of the final stage and of the stages it builds on, the
// root stage's base image
// Allowed: a USER other than root or UID 0 (a name or a number, whatever
// the group); no USER on a base known to be non-root (distroless :nonroot
// tags, Chainguard images but their -dev variants and root bases; see
// dfNonRootBase); a USER decided by a build argument (not guessed)
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-user",
			Title:    "Dockerfile final stage runs as root",
			Severity: check.High,
			Description: "A container runs as the image's USER unless the pod says otherwise, and without USER that is root. " +
				"Without user namespaces, root in the container is root on the node: a process that escapes through a kernel bug, " +
				"a hostPath or a runtime flaw lands on the host as root.",
			Remediation: "Create an unprivileged user with a high numeric UID in the image and end the final stage with USER <uid>:<gid>, " +
				"for example USER 60096:60096, or build on a non-root base such as gcr.io/distroless/static-debian12:nonroot.",
			References: []string{
				seed003 + "non root user",
				seed000 + "enforce user-mode containers",
				nsaCISA + "non-root containers",
			},
		},
		Run:     dockerfileUser,
		Fixable: true,
	})
}

func dockerfileUser(p *dockerfilecheck.Pass) {
	f := p.Dockerfile
	if f == nil || f.Final == nil {
		return
	}
	final := f.Final
	if st, ins := final.Effective("user"); ins != nil {
		if len(ins.Args) == 0 || dfUnresolved(ins.Args[0]) || !dfRootUser(ins.Args[0]) {
			return
		}
		who := "it"
		if st != final {
			who = st.Ref() + ", which it builds on,"
		}
		p.ReportAt(ins.Line, dfPath(st, ins), "%s runs as root: %s sets USER %s", dfFinal(final), who, ins.Args[0])
		return
	}
	root := final.Root()
	switch {
	case root.Base == "scratch":
		p.ReportAt(final.From.Line, dfPath(final, final.From), "%s builds on scratch and sets no USER, so the container runs as root", dfFinal(final))
	case dfNonRootBase(root.Base):
		// The base sets a non-root USER.
	default:
		p.ReportAt(final.From.Line, dfPath(final, final.From), "%s sets no USER, so the container runs as root unless the base image sets one", dfFinal(final))
	}
}
