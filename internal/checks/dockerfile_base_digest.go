package checks

import (
	"regexp"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
)

// Every base image should be pinned by digest: a tag moves, so the same
// Dockerfile builds different images over time, and a tampered image
// pushed under the tag goes into the next build (seed 003, SHA tagging).
//
// Reads: the FROM of every stage (build stages too: their output is
// copied into the final image)
// Allowed: @sha256:<64 hex>; FROM scratch and FROM <earlier stage> need
// none
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-base-digest",
			Title:    "Dockerfile base image not pinned by digest",
			Severity: check.Medium,
			Description: "A tag is a pointer the registry can move: the same Dockerfile then builds on different bases from one day to the next, " +
				"so builds are not reproducible, and an attacker who pushes to the base image's repository gets into every image built after. " +
				"A sha256 digest names exactly one image.",
			Remediation: "Add the digest of the image you tested to every FROM, keeping the tag for readers: " +
				"FROM python:3.12-alpine3.20@sha256:<digest>. Let a bot such as Renovate or Dependabot update both.",
			References: []string{
				seed003 + "SHA tagging",
				nsaCISA + "image security (trusted, immutable images)",
			},
		},
		Run:     dockerfileBaseDigest,
		Fixable: true,
		Needs:   check.NeedsDigests,
	})
}

var dfSHA256RE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

func dockerfileBaseDigest(p *dockerfilecheck.Pass) {
	if p.Dockerfile == nil {
		return
	}
	for _, s := range p.Dockerfile.Stages {
		if !s.FromImage() || dfSHA256RE.MatchString(s.Base) {
			continue
		}
		p.ReportAt(s.From.Line, dfPath(s, s.From), "%s base image %q is not pinned by a sha256 digest", s.Ref(), s.Base)
	}
}
