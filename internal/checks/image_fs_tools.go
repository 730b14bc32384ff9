package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should ship no file system modification utilities: chmod makes a
// dropped payload executable, chown and setcap hand out rights.
//
// Looks at: chmod, chown, chgrp, setcap, chattr, mount in the PATH
// directories, and the applets of busybox and toybox binaries
// Allowed: none of them
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-fs-tools",
			Title:    "Image ships file system modification utilities",
			Severity: check.Low,
			Description: "Getting into a container is not enough: an attacker must also make a downloaded file executable and give it rights. " +
				"Without chmod, chown, chgrp, setcap, chattr and mount that step is much harder.",
			Remediation: "Set modes and owners at build time (COPY --chmod and --chown) and leave these utilities out of the final stage, " +
				"or use a distroless base.",
			References: []string{
				seed000 + "remove files system modification utilities (chmod, chown)",
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run: func(p *imagecheck.Pass) {
			reportTools(p, "file system modification tools", p.Image.Inventory().FSTools)
		},
	})
}
