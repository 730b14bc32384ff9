package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should hold no setuid or setgid files and no files with
// capabilities: each is a way from the application's user to more rights.
//
// Looks at: every regular file of the flattened image (setgid
// directories are not privileged and are left alone)
// Allowed: none
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-setuid",
			Title:    "Image holds setuid, setgid or capability-bearing files",
			Severity: check.High,
			Description: "A setuid or setgid file runs with its owner's or group's rights, and a file with capabilities runs with those capabilities, " +
				"whoever starts it: a non-root user becomes root through one bug in su, passwd or mount. " +
				"Unless allowPrivilegeEscalation is false, the container's user can use them.",
			Remediation: "Remove the files or clear the bits in the last layer (chmod a-s, setcap -r), " +
				"and set securityContext.allowPrivilegeEscalation to false.",
			References: []string{
				seed000 + "enforce user-mode containers",
				seed000 + "remove files system modification utilities",
				nsaCISA + "non-root containers",
			},
		},
		Run: func(p *imagecheck.Pass) {
			reportTools(p, "setuid, setgid or capability-bearing files", p.Image.Inventory().Setuid)
		},
	})
}
