package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/imageref"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"go.yaml.in/yaml/v3"
)

// Images should be pinned by digest: a tag can be moved to other content
// at any time, a sha256 digest cannot.
//
// Fields: image of init, regular and ephemeral containers
// Allowed: a reference ending in @sha256:<64 lowercase hex digits>
func init() {
	register(&check.ObjectCheck{
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
		},
		Applies: check.PodSpecs,
		Run:     imageDigest,
		Fix:     &check.Fix{Apply: fixImageDigest, Order: orderImage, Needs: check.NeedsDigests},
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

// fixImageDigest pins every container image that has no digest to the
// digest the resolver gives for it, keeping the tag for people to read:
// nginx:1.27 becomes nginx:1.27@sha256:... (seed 003's
// registry/api:v1.0.3@sha256:...). An image that cannot be resolved is
// skipped with the reason.
func fixImageDigest(p *check.FixPass) {
	for _, c := range foundContainers(p) {
		i := yamledit.KeyIndex(c.Ref.Node, "image")
		if i < 0 {
			continue // merged from an anchor, or missing: left as written
		}
		n := c.Ref.Node.Content[i+1]
		if n.Kind != yaml.ScalarNode || n.Value == "" || strings.Contains(n.Value, "@") {
			continue
		}
		ref := n.Value
		d, err := p.Values.Resolve(ref)
		if err != nil {
			p.Skip(n.Line, err.Error())
			continue
		}
		v := yamledit.Scalar("!!str", ref+"@"+d)
		v.Style = n.Style &^ yaml.FlowStyle
		v.HeadComment, v.LineComment, v.FootComment = n.HeadComment, n.LineComment, n.FootComment
		c.Ref.Node.Content[i+1] = v
		p.Changed(c.Ref.Path + ".image")
	}
}
