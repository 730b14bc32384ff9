package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/imageref"
)

// Every base image should name a version: without a tag, or with latest,
// a build takes whatever was pushed last.
//
// Reads: the FROM of every stage
// Allowed: a tag other than latest (python:3-alpine is a tag), or a
// digest; FROM scratch and FROM <earlier stage>; a reference decided by a
// build argument (FROM $BASE_IMAGE), which the build sets
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-base-tag",
			Title:    "Dockerfile base image without a version tag",
			Severity: check.High,
			Description: "A FROM without a tag means :latest, and :latest is whatever someone pushed last: " +
				"a rebuild silently moves to a new major version or a different distribution, and nobody can tell which base an image was built on.",
			Remediation: "Name a version in every FROM, such as python:3.12-alpine3.20, and pin it by digest as well.",
			References: []string{
				seed003 + "SHA tagging",
				nsaCISA + "image security (trusted, immutable images)",
			},
		},
		Run: dockerfileBaseTag,
	})
}

func dockerfileBaseTag(p *dockerfilecheck.Pass) {
	if p.Dockerfile == nil {
		return
	}
	for _, s := range p.Dockerfile.Stages {
		if !s.FromImage() {
			continue
		}
		r, ok := imageref.ParseBase(s.Base)
		switch {
		case !ok, r.Digest != "":
		case r.Tag == "":
			if dfUnresolved(r.Name) {
				continue // $IMAGE may carry its tag
			}
			p.ReportAt(s.From.Line, dfPath(s, s.From), "%s base image %q has no tag, which means :latest", s.Ref(), s.Base)
		case strings.EqualFold(r.Tag, "latest"):
			p.ReportAt(s.From.Line, dfPath(s, s.From), "%s base image %q uses the :latest tag", s.Ref(), s.Base)
		}
	}
}
