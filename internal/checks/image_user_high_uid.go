package checks

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should run as a numeric, high UID: a named user cannot be
// verified by the kubelet's runAsNonRoot, and a low UID is a host user's
// (seed 003 landed on the host's syslog user with UID 101).
//
// Looks at: the image configuration's User
// Allowed: a numeric UID from Params.MinUID (default 10000), up to
// Params.MaxUID when it is not 0
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-user-high-uid",
			Title:    "Image user is not a high numeric UID",
			Severity: check.Medium,
			Description: "Without user namespaces the container's UID is the same number on the host, and images create users with low UIDs " +
				"that belong to host users: UID 101 is syslog on many hosts. " +
				"A named user is worse: the kubelet cannot tell whether it is root, so runAsNonRoot rejects the pod.",
			Remediation: "End the Dockerfile with a numeric USER at or above the configured minimum (10000 by default), " +
				"for example USER 60096:60096, after creating that user.",
			References: []string{
				seed003 + "non root user (use a high UID, e.g. in the 40000-60000 range, so as not to clash with host users)",
				nsaCISA + "non-root containers",
			},
		},
		Run: imageUserHighUID,
	})
}

func imageUserHighUID(p *imagecheck.Pass) {
	user, _, _ := strings.Cut(p.Image.User, ":")
	minUID, maxUID := p.Params.MinUID, p.Params.MaxUID
	if user == "" {
		p.ReportAt(0, "config.User", "no user is configured, so the image runs as uid 0, below %d", minUID)
		return
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	switch {
	case err != nil:
		msg := "image user %q is not numeric, so the kubelet cannot verify runAsNonRoot"
		if resolved, _, ok := p.Image.ResolveUser(); ok {
			p.ReportAt(0, "config.User", msg+" (it is uid %d in /etc/passwd)", p.Image.User, resolved)
		} else {
			p.ReportAt(0, "config.User", msg+" (and /etc/passwd does not define it)", p.Image.User)
		}
	case uid < minUID:
		p.ReportAt(0, "config.User", "image user %q is uid %d, below %d", p.Image.User, uid, minUID)
	case maxUID > 0 && uid > maxUID:
		p.ReportAt(0, "config.User", "image user %q is uid %d, above %d", p.Image.User, uid, maxUID)
	}
}
