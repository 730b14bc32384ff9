package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Every container should name its AppArmor profile: the confinement a
// container gets otherwise depends on the node and the runtime, and
// Unconfined lifts it entirely.
//
// Fields: securityContext.appArmorProfile of the pod and of init, regular
// and ephemeral containers, and the annotation
// container.apparmor.security.beta.kubernetes.io/<name>, which Kubernetes
// still honours: the API server copies it into the container's field and
// the kubelet falls back to it. Precedence is the kubelet's: the
// container's field, then its annotation, then the pod's field.
// Allowed: RuntimeDefault, Localhost with a localhostProfile (annotations
// runtime/default, localhost/<profile>)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "apparmor-profile",
			Title:    "Container without an AppArmor profile",
			Severity: check.Medium,
			Description: "AppArmor restricts what a process may do with files, mounts, signals and raw sockets even when it runs as root, " +
				"which contains an attacker who takes over the container. " +
				"A container that names no profile gets whatever the node and the runtime default to, and one set to Unconfined gets no confinement at all.",
			Remediation: "Set securityContext.appArmorProfile.type to RuntimeDefault in the pod, or to Localhost with a localhostProfile loaded on every node, " +
				"and never to Unconfined; the container.apparmor.security.beta.kubernetes.io annotations still work but are deprecated in favour of the field.",
			References: []string{
				pssBaseline + " (AppArmor)",
				seed000 + "take a look at AppArmor and Secure Computing (SecComp)",
				nsaCISA + "pod security (AppArmor)",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     appArmorProfile,
		Fix:     &check.Fix{Apply: fixAppArmorProfile, Order: orderProfiles + 1},
	})
}

const appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

func appArmorProfile(p *check.Pass) {
	podRef, podProblem := object.Ref{}, ""
	if pp := p.Pod.SecurityContext.AppArmor; pp.Set {
		podRef, podProblem = profileProblem("appArmorProfile", pp)
	}
	var inherit []string
	for _, c := range p.Pod.Containers {
		key := appArmorAnnotationPrefix + c.Name
		annotated := c.Name != "" && hasKey(p.Pod.Annotations, key)
		// On create the API server copies the annotation into the field:
		// when they agree, the annotation is what the person wrote.
		if own := c.SecurityContext.AppArmor; own.Set && (!annotated || !appArmorAgrees(own, p.Pod.Annotations[key])) {
			if ref, msg := profileProblem("appArmorProfile", own); msg != "" {
				p.Report(ref, "%s %s", c.Describe(), msg)
			}
			continue
		}
		if annotated {
			v := p.Pod.Annotations[key]
			switch {
			case v == "runtime/default", strings.HasPrefix(v, "localhost/") && len(v) > len("localhost/"):
			case v == "unconfined":
				p.Report(p.Pod.AnnotationRef(key), `%s must not set annotation %q to "unconfined"`, c.Describe(), key)
			default:
				p.Report(p.Pod.AnnotationRef(key), `%s must set annotation %q to "runtime/default" or "localhost/<profile>", not %q`, c.Describe(), key, v)
			}
			continue
		}
		if p.Pod.SecurityContext.AppArmor.Set {
			if podProblem != "" {
				inherit = append(inherit, c.Describe())
			}
			continue
		}
		p.Report(c.SecurityContext.Ref, `%s must set securityContext.appArmorProfile.type to "RuntimeDefault" or "Localhost", in the container or the pod`, c.Describe())
	}
	// Reported even when every container overrides it: Pod Security
	// baseline rejects an explicit Unconfined wherever it is written.
	if podProblem != "" {
		p.Report(podRef, "%s", "pod "+podProblem+affects(inherit))
	}
}

// appArmorAgrees tells whether the profile field says what the legacy
// annotation v says, as the API server writes it from the annotation.
func appArmorAgrees(pr object.Profile, v string) bool {
	switch t := pr.Type.V; {
	case v == "runtime/default":
		return t == "RuntimeDefault"
	case v == "unconfined":
		return t == "Unconfined"
	case strings.HasPrefix(v, "localhost/"):
		return t == "Localhost" && pr.LocalhostProfile.V == strings.TrimPrefix(v, "localhost/")
	}
	return false
}

// fixAppArmorProfile sets appArmorProfile RuntimeDefault (or the Localhost
// profile a legacy annotation names) and removes the legacy annotations.
func fixAppArmorProfile(p *check.FixPass) {
	fixProfile(p, "appArmorProfile", "", appArmorAnnotationPrefix)
}
