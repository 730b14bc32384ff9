package scan

import (
	"context"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/source"
)

// scanDockerfile parses one Dockerfile and runs the Dockerfile checks on
// it. A `# kubeharden:ignore=<check-id> <reason>` comment on the line before
// an instruction suppresses that check's findings on it.
func (e *engine) scanDockerfile(d source.Document, r *docResult) {
	df, errs := dockerfile.Parse(d.File, d.Data, dockerfile.Options{Target: e.opts.DockerfileTarget})
	for _, pe := range errs {
		r.errors = append(r.errors, source.Error{File: d.File, Line: pe.Line, Message: pe.Message})
	}
	if df == nil {
		return
	}
	r.objects++
	e.runFileChecks(e.dfChecks, df, nil, d.File, func(f check.Finding) *check.Suppression {
		if reason, ok := df.Ignores[f.Location.Line][f.Check]; ok {
			return &check.Suppression{Kind: "comment", Reason: reason, Source: "# kubeharden:ignore=" + f.Check}
		}
		return nil
	}, r)
}

// runFileChecks runs Dockerfile or image checks, applying inline
// suppressions and config exemptions.
func (e *engine) runFileChecks(checks []*check.Check, df *dockerfile.File, img *image.Image, file string, inline func(check.Finding) *check.Suppression, r *docResult) {
	emit := func(f check.Finding, _ check.Deferral) {
		f.Suppression = inline(f)
		if f.Suppression == nil {
			f.Suppression = e.suppression(f, nil, "")
		}
		if f.Suppression != nil {
			r.suppressed = append(r.suppressed, f)
		} else {
			r.findings = append(r.findings, f)
		}
	}
	pass := check.NewFilePass(df, img, file, &e.params, emit)
	for _, c := range checks {
		pass.Run(c)
	}
}

// RunImages runs the image checks on flattened images. Findings are
// located at the image reference, with the offending paths in the message
// and the field path.
func RunImages(ctx context.Context, images []*image.Image, opts Options) *Result {
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	e := &engine{opts: opts, params: opts.Config.Params(), now: opts.Now}
	if e.now.IsZero() {
		e.now = time.Now()
	}
	res := &Result{Files: len(images), Images: images}
	for _, c := range opts.Registry.All() {
		if c.Target != check.Images || !opts.Config.Enabled(c.ID) {
			continue
		}
		cc := *c
		cc.Severity = opts.Config.Severity(c.ID, c.Severity)
		e.imgChecks = append(e.imgChecks, &cc)
		res.Checks = append(res.Checks, cc.Meta)
	}
	for _, img := range images {
		if ctx.Err() != nil {
			break
		}
		var r docResult
		e.runFileChecks(e.imgChecks, nil, img, img.Ref, func(check.Finding) *check.Suppression { return nil }, &r)
		res.Findings = append(res.Findings, r.findings...)
		res.Suppressed = append(res.Suppressed, r.suppressed...)
		res.Objects++
	}
	res.Findings = append(res.Findings, e.expiredExemptions()...)
	e.fileIdx = map[string]int{}
	for i, img := range images {
		e.fileIdx[img.Ref] = i
	}
	e.sortFindings(res.Findings)
	e.sortFindings(res.Suppressed)
	return res
}
