package scan

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

// scanDockerfile parses one Dockerfile and runs the Dockerfile checks on
// it. A `# kubeharden:ignore=<check-id> <reason>` comment on the line before
// an instruction suppresses that check's findings on it.
func (e *Engine) scanDockerfile(d source.Document, lim limits.Limits, r *docResult) {
	df, errs := dockerfile.Parse(d.File, d.Data, dockerfile.Options{Target: e.opts.DockerfileTarget, ExpansionSize: lim.ExpansionSize})
	for _, pe := range errs {
		r.errors = append(r.errors, source.Error{File: d.File, Line: pe.Line, Message: pe.Message, Err: pe.Err})
	}
	if df == nil {
		return
	}
	r.objects++
	inline := func(f check.Finding) *check.Suppression {
		if reason, ok := df.Ignores[f.Location.Line][f.Check]; ok {
			return &check.Suppression{Kind: "comment", Reason: reason, Source: "# kubeharden:ignore=" + f.Check}
		}
		return nil
	}
	dockerfilecheck.Run(e.dfChecks, df, d.File, e.pol.Params(), e.fileEmit(inline, r))
}
