package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Every image gets its base classified, for the record: scratch,
// distroless, chainguard, alpine, slim, full distribution or unknown.
// The tool checks judge what the base brings; this one says what it is.
//
// Looks at: os-release, the dpkg status.d of distroless, the shells and
// package managers present, the number of files
// Reports: always, at info severity
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-minimal-base",
			Title:    "Image base classification",
			Severity: check.Info,
			Description: "The base decides most of an image's attack surface: a full distribution brings a shell, a package manager, " +
				"network utilities and hundreds of packages with their vulnerabilities, distroless and scratch bring almost nothing. " +
				"This check always reports the classification so that it shows in every report.",
			Remediation: "Prefer scratch for static binaries and distroless or Chainguard images for the rest; " +
				"when a distribution is needed, use alpine or a slim variant and remove what the application does not use.",
			References: []string{
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run: func(p *imagecheck.Pass) {
			inv := p.Image.Inventory()
			at := "/"
			if p.Image.OSRelease != nil {
				at = "/etc/os-release"
			}
			p.ReportAt(0, at, "base is %s (%s)", inv.Base, inv.BaseDetail)
		},
	})
}
