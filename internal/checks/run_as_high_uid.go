package checks

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"go.yaml.in/yaml/v3"
)

// Containers should run as a high UID that no host user has: container UIDs
// are host UIDs (without user namespaces), so an image's `adduser` UID such
// as 101 is the host's syslog user, and an escaped process gets that user's
// files. Seed 003 saw exactly that and recommends the 40000-60000 range.
//
// Fields: securityContext.runAsUser of the pod and of init, regular and
// ephemeral containers (the container's wins)
// Allowed: Params.MinUID (default 10000) and above, up to Params.MaxUID when
// it is not 0; unset is not allowed, since the image then decides
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "run-as-high-uid",
			Title:    "Container runs as a low or unset UID",
			Severity: check.Medium,
			Description: "Without user namespaces a container's UID is the same number on the host. " +
				"Images create their users with low UIDs that collide with host users: a UID 101 app user is the host's syslog user, " +
				"so a process that escapes, or reaches a hostPath or a shared volume, acts with that host user's files and rights. " +
				"When runAsUser is unset the image's USER decides, often root or such a low UID.",
			Remediation: "Set securityContext.runAsUser to a UID no host user has, at or above the configured minimum (10000 by default), " +
				"for example 60096, at pod level or per container.",
			References: []string{
				seed003 + "runAsUser (use a high UID, e.g. in the 40000-60000 range, so as not to clash with host users)",
				nsaCISA + "non-root containers",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     runAsHighUID,
		Fix:     &check.Fix{Apply: fixRunAsHighUID, Order: orderIdentity + 1},
	})
}

func runAsHighUID(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		e := p.Pod.Effective(c)
		reportIDRange(p, idField{
			who:       c.Describe(),
			field:     "runAsUser",
			value:     e.RunAsUser,
			inherited: !c.SecurityContext.RunAsUser.Set,
			missing:   c.SecurityContext.Ref,
			min:       p.Params.MinUID,
			max:       p.Params.MaxUID,
			why:       lowUIDReason,
		})
	}
}

func lowUIDReason(id int64) string {
	if id == 0 {
		return "UID 0 is root"
	}
	return "a low UID collides with host users (101 is syslog on many hosts)"
}

// idField is a UID or GID field checked against a configured range.
type idField struct {
	who   string // `container "api"` or "pod"
	field string // runAsUser, runAsGroup, fsGroup
	value object.Int
	// inherited is true when a container takes the value from the pod.
	inherited bool
	// missing is where an unset value is reported.
	missing  object.Ref
	min, max int64
	// why explains a value below min.
	why func(int64) string
}

// reportIDRange reports f when it is unset, below min, or above max (max 0:
// no maximum).
func reportIDRange(p *check.Pass, f idField) {
	want := "securityContext." + f.field + check.RangeText(f.min, f.max)
	v := f.value
	from := inheritedNote(!f.inherited)
	switch {
	case !v.Set:
		p.Report(f.missing, "%s must set %s", f.who, want)
	case v.V < f.min:
		p.Report(v.Ref, "%s must set %s, not %d%s: %s", f.who, want, v.V, from, f.why(v.V))
	case f.max != 0 && v.V > f.max:
		p.Report(v.Ref, "%s must set %s, not %d%s", f.who, want, v.V, from)
	}
}

// fixRunAsHighUID sets runAsUser at pod level to the fix UID where it is
// missing or outside the accepted range, and corrects container values
// outside it.
func fixRunAsHighUID(p *check.FixPass) {
	fixID(p, "runAsUser", p.Values.UID, outside(p.Params.MinUID, p.Params.MaxUID), true)
}

// fixID sets an ID field at pod level, and corrects container values
// (runAsUser, runAsGroup), when bad; a new user is risky.
func fixID(p *check.FixPass, key string, id int64, bad func(*yaml.Node) bool, risky bool) {
	val := strconv.FormatInt(id, 10)
	risk := func(old *yaml.Node) string {
		if risky {
			return uidChange(old, id)
		}
		return ""
	}
	if old := object.Get(p.Pod.SecurityContext.Node, key); bad(old) {
		if m := podSC(p); m != nil {
			yamledit.SetScalar(m, key, "!!int", val)
			p.Risky(p.Pod.Ref.Path+".securityContext."+key, risk(old))
		}
	}
	if key == "fsGroup" {
		return
	}
	for _, c := range p.Pod.Containers {
		if n := object.Get(c.SecurityContext.Node, key); n != nil && bad(n) {
			if m := containerSC(c); m != nil {
				yamledit.SetScalar(m, key, "!!int", val)
				p.Risky(c.Ref.Path+".securityContext."+key, risk(n))
			}
		}
	}
}
