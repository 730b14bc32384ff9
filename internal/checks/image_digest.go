package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/imageref"
)

// Images should be pinned by digest: a tag can be moved to other content
// at any time, a sha256 digest cannot.
//
// Fields: image of init, regular and ephemeral containers
// Allowed: a reference ending in @sha256:<64 lowercase hex digits>
func init() {
	register(check.Check{
		Meta: check.Meta{
			ID:       "image-digest",
			Title:    "Image not pinned by digest",
			Severity: check.Medium,
			Description: "Tags are mutable: whoever can push to the repository can point v1.0.3 at a different image, " +
				"and the next pod start runs it. A sha256 digest names exactly one image, which makes deployments reproducible " +
				"and stops a compromised registry or upstream from swapping the code that runs.",
			Remediation: "Append the image digest to the reference (registry/api:v1.0.3@sha256:<digest>), " +
				"for example with `crane digest` or your CI's build output, and let a bot such as Renovate update it.",
			References: []string{seed003 + "SHA tagging"},
			Fixable:    true,
			FixFlag:    "--resolve-digests",
		},
		Applies: check.PodSpecs,
		Run:     imageDigest,
	})
}

func imageDigest(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		img := c.Image
		if img.V == "" {
			continue // the loader reports a missing image
		}
		if r, err := imageref.Parse(img.V); err == nil && r.PinnedSHA256() {
			continue
		}
		p.Report(img.Ref, "%s image %q is not pinned by a sha256 digest", c.Describe(), img.V)
	}
}
