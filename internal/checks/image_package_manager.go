package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should ship no package manager: with one, an intruder installs
// whatever tool the image lacks.
//
// Looks at: apk, apt, apt-get, dpkg, rpm, yum, dnf, microdnf, zypper,
// pip, pip3 (and pip3.N) in the PATH directories, and pip as a Python
// module in site-packages or dist-packages
// Allowed: none of them
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-package-manager",
			Title:    "Image ships a package manager",
			Severity: check.Medium,
			Description: "A package manager lets anyone who gets code execution in the container install the tools the image lacks: " +
				"compilers, scanners, network utilities. It is only needed at build time.",
			Remediation: "Install packages in a build stage and copy only the application into a distroless or scratch final stage, " +
				"or remove the package manager and its database in the last layer.",
			References: []string{
				seed000 + "remove package managers and network utilities",
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run: func(p *imagecheck.Pass) { reportTools(p, "a package manager", p.Image.Inventory().PackageManagers) },
	})
}
