package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should name a non-root user: without one the container runs as
// root unless every workload sets runAsUser.
//
// Looks at: the image configuration's User, resolved through the image's
// own /etc/passwd as the runtime resolves it
// Allowed: a user whose UID is not 0
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-user",
			Title:    "Image runs as root",
			Severity: check.High,
			Description: "An image without USER, or with a user that is UID 0, runs as root unless the pod says otherwise. " +
				"Root in a container ignores file permissions inside it, and one escape lands on the host as root.",
			Remediation: "Create an unprivileged user with a high UID and end the Dockerfile with USER <uid>:<gid> (numeric), " +
				"for example USER 60096:60096.",
			References: []string{
				seed003 + "non root user",
				seed000 + "enforce user-mode containers",
				nsaCISA + "non-root containers",
			},
		},
		Run: imageUser,
	})
}

func imageUser(p *imagecheck.Pass) {
	img := p.Image
	if img.User == "" {
		p.ReportAt(0, "config.User", "image runs as root: no user is configured")
		return
	}
	uid, name, ok := img.ResolveUser()
	if !ok || uid != 0 {
		return
	}
	if user, _, _ := strings.Cut(img.User, ":"); name != "" && name != user {
		p.ReportAt(0, "config.User", "image runs as root: user %q is uid 0 (%s in /etc/passwd)", img.User, name)
		return
	}
	p.ReportAt(0, "config.User", "image runs as root: user %q is uid 0", img.User)
}
