package checks

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

// Containers must not run as root: by default a container runs as the
// image's user, which is root unless the Dockerfile says otherwise, and root
// in a container ignores file permissions and lands on the node as UID 0 when
// it escapes.
//
// Fields: securityContext.runAsNonRoot and securityContext.runAsUser of the
// pod and of init, regular and ephemeral containers (the container's win)
// Allowed: runAsNonRoot true or runAsUser > 0; never runAsUser 0, never
// runAsNonRoot false (which the restricted Pod Security Standard rejects even
// with a non-zero runAsUser)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "run-as-non-root",
			Title:    "Container may run as root",
			Severity: check.High,
			Description: "Unless runAsNonRoot is true or runAsUser is a non-zero UID, a container runs as whatever user its image names, " +
				"and most images name root. Root inside the container bypasses file permissions, can rewrite the container's files " +
				"and open reverse shells, and is root on the node if it escapes. " +
				"runAsUser=0 together with runAsNonRoot=true is a contradiction the kubelet refuses to start.",
			Remediation: "Set securityContext.runAsNonRoot to true in the pod (or every container) and give the container a non-zero runAsUser, " +
				"or a numeric non-root USER in its Dockerfile; remove runAsUser: 0 and runAsNonRoot: false.",
			References: []string{
				pssRestricted + " (Running as Non-root, Running as Non-root user)",
				seed000 + "enforce user-mode containers",
				seed003 + "non root user",
				nsaCISA + "non-root containers",
			},
		},
		Applies: check.PodSpecs,
		Run:     runAsNonRoot,
		Fix:     &check.Fix{Apply: fixRunAsNonRoot, Order: orderIdentity},
	})
}

func runAsNonRoot(p *check.Pass) {
	pod := &p.Pod.SecurityContext
	for _, c := range p.Pod.Containers {
		own := &c.SecurityContext
		e := p.Pod.Effective(c)
		user, nonRoot := e.RunAsUser, e.RunAsNonRoot
		switch {
		case user.Set && user.V == 0:
			what := "must not set securityContext.runAsUser=0"
			if !own.RunAsUser.Set {
				what = "must not run with runAsUser=0 inherited from the pod"
			}
			why := "UID 0 is root"
			if nonRoot.Set && nonRoot.V {
				why = "runAsNonRoot=true" + inheritedNote(own.RunAsNonRoot.Set) +
					" forbids UID 0, so the pod fails to start"
			}
			p.Report(user.Ref, "%s %s: %s", c.Describe(), what, why)
		case nonRoot.Set && !nonRoot.V:
			switch {
			case !own.RunAsNonRoot.Set:
				p.Report(nonRoot.Ref, "%s must not run with runAsNonRoot=false inherited from the pod", c.Describe())
			case pod.RunAsNonRoot.Set && pod.RunAsNonRoot.V:
				p.Report(nonRoot.Ref, "%s must not set securityContext.runAsNonRoot=false, which overrides runAsNonRoot=true of the pod", c.Describe())
			default:
				p.Report(nonRoot.Ref, "%s must not set securityContext.runAsNonRoot=false", c.Describe())
			}
		case nonRoot.Set && nonRoot.V, user.Set && user.V > 0:
			// Runs as non-root, or the kubelet refuses to start it as root.
		default:
			p.Report(own.Ref, "%s must set securityContext.runAsNonRoot=true or runAsUser > 0", c.Describe())
		}
	}
}

// inheritedNote says where a merged security context value came from when
// the container does not set it itself, so that a finding pointing at the
// pod-level line reads right from the container's point of view.
func inheritedNote(containerSets bool) string {
	if containerSets {
		return ""
	}
	return " inherited from the pod"
}

// fixRunAsNonRoot sets runAsNonRoot: true at pod level, and corrects the
// container values that undo it: runAsNonRoot other than true, and
// runAsUser 0, which becomes the fix UID.
func fixRunAsNonRoot(p *check.FixPass) {
	risk := ""
	if !runsAsNonZeroUID(p.Pod) {
		risk = "a non-root user: the image must not need root, or the pod will not start"
	}
	if notTrue(object.Get(p.Pod.SecurityContext.Node, "runAsNonRoot")) {
		if m := podSC(p); m != nil {
			setBool(p, m, "runAsNonRoot", true, p.Pod.Ref.Path+".securityContext.runAsNonRoot", risk)
		}
	}
	if n := object.Get(p.Pod.SecurityContext.Node, "runAsUser"); n != nil {
		if v, ok := object.ParseInt(n); ok && v == 0 {
			if m := podSC(p); m != nil {
				yamledit.SetScalar(m, "runAsUser", "!!int", strconv.FormatInt(p.Values.UID, 10))
				p.Risky(p.Pod.Ref.Path+".securityContext.runAsUser", uidChange(n, p.Values.UID))
			}
		}
	}
	for _, c := range p.Pod.Containers {
		sc := c.SecurityContext.Node
		if n := object.Get(sc, "runAsNonRoot"); n != nil && notTrue(n) {
			if m := containerSC(c); m != nil {
				setBool(p, m, "runAsNonRoot", true, c.Ref.Path+".securityContext.runAsNonRoot", risk)
			}
		}
		if n := object.Get(sc, "runAsUser"); n != nil {
			if v, ok := object.ParseInt(n); ok && v == 0 {
				if m := containerSC(c); m != nil {
					yamledit.SetScalar(m, "runAsUser", "!!int", strconv.FormatInt(p.Values.UID, 10))
					p.Risky(c.Ref.Path+".securityContext.runAsUser", uidChange(n, p.Values.UID))
				}
			}
		}
	}
}

// runsAsNonZeroUID reports whether every container of the pod has a
// non-zero runAsUser, its own or the pod's: then demanding a non-root user
// changes nothing at run time.
func runsAsNonZeroUID(pod *object.PodSpec) bool {
	for _, c := range pod.Containers {
		u := pod.Effective(c).RunAsUser
		if !u.Set || u.V == 0 {
			return false
		}
	}
	return true
}
