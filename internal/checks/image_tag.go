package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/imageref"
)

// Images must name a version: an image without a tag, or tagged latest,
// is whatever the registry holds at pull time, so two nodes can run
// different code and a pushed malicious image rolls out by itself.
//
// Fields: image of init, regular and ephemeral containers
// Allowed: a tag other than latest, or any digest (a digest pins the image
// whatever the tag says)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "image-tag",
			Title:    "Image without a version tag",
			Severity: check.High,
			Description: "An image reference without a tag means :latest, and :latest is just the last image someone pushed. " +
				"Which code runs then depends on when each node pulled it: rollbacks do not roll back, " +
				"and anyone who can push to the repository, including an attacker with stolen credentials, ships code to production with the next restart.",
			Remediation: "Reference a specific version tag, ideally with the image digest: registry/api:v1.0.3@sha256:<digest>.",
			References:  []string{seed003 + "SHA tagging", nsaCISA + "image security (trusted, immutable images)"},
		},
		Applies: check.PodSpecs,
		Run:     imageTag,
	})
}

func imageTag(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		img := c.Image
		if img.V == "" {
			continue // the loader reports a missing image
		}
		r, err := imageref.Parse(img.V)
		switch {
		case err != nil:
			p.Report(img.Ref, "%s image %q is not a valid image reference: %v", c.Describe(), img.V, err)
		case r.Digest != "":
		case r.Tag == "":
			p.Report(img.Ref, "%s image %q has no tag, which means :latest", c.Describe(), img.V)
		case r.Tag == "latest":
			p.Report(img.Ref, "%s image %q uses the :latest tag", c.Describe(), img.V)
		}
	}
}
