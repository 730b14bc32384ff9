package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
)

// CMD and ENTRYPOINT should use the exec (JSON array) form: the shell
// form runs the process under /bin/sh -c, so the shell is PID 1, the app
// never receives SIGTERM and is killed after the grace period, and the
// image needs a shell (seed 003 turns CMD python3 app.py into
// CMD ["python3","app.py"]).
//
// Reads: the effective CMD and ENTRYPOINT of the final stage (its own,
// or inherited from the stage it builds on)
// Allowed: JSON array form
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-exec-form",
			Title:    "Dockerfile CMD or ENTRYPOINT in shell form",
			Severity: check.Low,
			Description: "In shell form, CMD and ENTRYPOINT run the command through /bin/sh -c: the shell is PID 1 and does not forward signals, " +
				"so the application is killed instead of shutting down cleanly, and the image must ship a shell, which an attacker can use too.",
			Remediation: `Write CMD and ENTRYPOINT as JSON arrays: CMD ["python3", "app.py"].`,
			References: []string{
				seed003 + "Results (CMD [\"python3\",\"app.py\"])",
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run:     dockerfileExecForm,
		Fixable: true,
	})
}

func dockerfileExecForm(p *dockerfilecheck.Pass) {
	f := p.Dockerfile
	if f == nil || f.Final == nil {
		return
	}
	for _, cmd := range []string{"entrypoint", "cmd"} {
		st, ins := f.Final.Effective(cmd)
		if ins == nil || ins.ExecForm {
			continue
		}
		p.ReportAt(ins.Line, dfPath(st, ins), "%s %s %q is in shell form, so /bin/sh is PID 1 and the process gets no signals",
			dfFinal(f.Final), strings.ToUpper(cmd), dfShort(strings.Join(ins.Args, " ")))
	}
}
