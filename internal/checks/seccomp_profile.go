package checks

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"go.yaml.in/yaml/v3"
)

// Every container must run under a seccomp profile: without one it runs
// Unconfined and may make every system call the kernel offers, which is
// the way out of most container escapes.
//
// Fields: securityContext.seccompProfile of the pod and of init, regular and
// ephemeral containers (the container's wins). The legacy annotations
// seccomp.security.alpha.kubernetes.io/pod and
// container.seccomp.security.alpha.kubernetes.io/<name> are read only to say
// that Kubernetes 1.27+ ignores them.
// Allowed: RuntimeDefault, Localhost with a localhostProfile
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "seccomp-profile",
			Title:    "Container without a seccomp profile",
			Severity: check.High,
			Description: "Unless a pod asks for one, Kubernetes runs its containers Unconfined: every system call the kernel offers is available, " +
				"including the rarely needed ones (unshare, keyctl, bpf, ptrace...) through which most kernel exploits and container escapes go. " +
				"The RuntimeDefault profile blocks them at no cost for almost every application. " +
				"The seccomp annotations of older Kubernetes versions are ignored since 1.27, so a pod that relies on them runs Unconfined.",
			Remediation: "Set securityContext.seccompProfile.type to RuntimeDefault in the pod, or to Localhost with a localhostProfile for a tailored profile, " +
				"and replace the seccomp.security.alpha.kubernetes.io annotations with that field.",
			References: []string{
				pssBaseline + " (Seccomp: not Unconfined)",
				pssRestricted + " (Seccomp: RuntimeDefault or Localhost)",
				seed000 + "take a look at AppArmor and Secure Computing (SecComp)",
				nsaCISA + "pod security (seccomp)",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     seccompProfile,
		Fix:     &check.Fix{Apply: fixSeccompProfile, Order: orderProfiles},
	})
}

const (
	seccompPodAnnotation             = "seccomp.security.alpha.kubernetes.io/pod"
	seccompContainerAnnotationPrefix = "container.seccomp.security.alpha.kubernetes.io/"
)

func seccompProfile(p *check.Pass) {
	podRef, podProblem := object.Ref{}, ""
	if pp := p.Pod.SecurityContext.Seccomp; pp.Set {
		podRef, podProblem = profileProblem("seccompProfile", pp)
	}
	var inherit, byAnnotation []string
	for _, c := range p.Pod.Containers {
		if own := c.SecurityContext.Seccomp; own.Set {
			if ref, msg := profileProblem("seccompProfile", own); msg != "" {
				p.Report(ref, "%s %s", c.Describe(), msg)
			}
			continue
		}
		if p.Pod.SecurityContext.Seccomp.Set {
			if podProblem != "" {
				inherit = append(inherit, c.Describe())
			}
			continue
		}
		if key := seccompContainerAnnotationPrefix + c.Name; c.Name != "" && hasKey(p.Pod.Annotations, key) {
			p.Report(p.Pod.AnnotationRef(key), "%s must set securityContext.seccompProfile: annotation %q is ignored since Kubernetes 1.27", c.Describe(), key)
			continue
		}
		if hasKey(p.Pod.Annotations, seccompPodAnnotation) {
			byAnnotation = append(byAnnotation, c.Describe())
			continue
		}
		p.Report(c.SecurityContext.Ref, `%s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost", in the container or the pod`, c.Describe())
	}
	// A pod-level problem is one finding naming the containers it affects.
	// It is reported even when every container overrides it: Pod Security
	// baseline rejects an explicit Unconfined wherever it is written.
	if podProblem != "" {
		p.Report(podRef, "%s", "pod "+podProblem+affects(inherit))
	}
	if len(byAnnotation) > 0 {
		p.Report(p.Pod.AnnotationRef(seccompPodAnnotation), "%s",
			fmt.Sprintf("pod must set securityContext.seccompProfile: annotation %q is ignored since Kubernetes 1.27", seccompPodAnnotation)+affects(byAnnotation))
	}
}

// profileProblem tells what is wrong with a seccompProfile or
// appArmorProfile field that is set, as a message to follow "pod" or a
// container's name, and where; the message is "" when the profile confines
// the container.
func profileProblem(field string, pr object.Profile) (object.Ref, string) {
	t := pr.Type
	switch {
	case !t.Set:
		return pr.Ref, fmt.Sprintf("must set securityContext.%s.type", field)
	case t.V == "RuntimeDefault":
		return t.Ref, ""
	case t.V == "Localhost":
		if pr.LocalhostProfile.V == "" {
			return t.Ref, fmt.Sprintf(`must set securityContext.%s.localhostProfile for type "Localhost"`, field)
		}
		return t.Ref, ""
	case t.V == "Unconfined":
		return t.Ref, fmt.Sprintf(`must not set securityContext.%s.type to "Unconfined"`, field)
	}
	return t.Ref, fmt.Sprintf(`must set securityContext.%s.type to "RuntimeDefault" or "Localhost", not %q`, field, t.V)
}

// affects names the containers a pod-level finding applies to.
func affects(containers []string) string {
	if len(containers) == 0 {
		return ""
	}
	return " (affects " + strings.Join(containers, ", ") + ")"
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// fixSeccompProfile sets seccompProfile RuntimeDefault (or the Localhost
// profile a legacy annotation names) and removes the legacy annotations.
func fixSeccompProfile(p *check.FixPass) {
	fixProfile(p, "seccompProfile", seccompPodAnnotation, seccompContainerAnnotationPrefix)
}

// profileOK reports whether a profile mapping is RuntimeDefault, or
// Localhost with a profile name.
func profileOK(n *yaml.Node) bool {
	switch object.GetStr(n, "type") {
	case "RuntimeDefault":
		return true
	case "Localhost":
		return object.GetStr(n, "localhostProfile") != ""
	}
	return false
}

// setProfile writes key: {type: t[, localhostProfile: lp]} into m.
func setProfile(m *yaml.Node, key, t, lp string) {
	pm := yamledit.EnsureMap(m, key)
	if pm == nil {
		yamledit.DeleteKey(m, key)
		pm = yamledit.EnsureMap(m, key)
	}
	yamledit.SetScalar(pm, "type", "!!str", t)
	if lp != "" {
		yamledit.SetScalar(pm, "localhostProfile", "!!str", lp)
	} else {
		yamledit.DeleteKey(pm, "localhostProfile")
	}
}

// annotationProfile maps a legacy annotation value to a profile field.
func annotationProfile(v string) (t, lp string) {
	if rest, ok := strings.CutPrefix(v, "localhost/"); ok && rest != "" {
		return "Localhost", rest
	}
	return "RuntimeDefault", ""
}

// fixProfile sets the profile field key (seccompProfile, appArmorProfile)
// at pod level and on containers whose own profile is bad, carrying over
// what the legacy annotations said, and removes those annotations.
func fixProfile(p *check.FixPass, key, podAnn, cPrefix string) {
	annotations := object.StringMap(object.Get(p.Pod.MetaNode, "annotations"))
	if !profileOK(object.Get(p.Pod.SecurityContext.Node, key)) {
		t, lp := "RuntimeDefault", ""
		if v, ok := annotations[podAnn]; ok && podAnn != "" {
			t, lp = annotationProfile(v)
		}
		if m := podSC(p); m != nil {
			setProfile(m, key, t, lp)
			p.Changed(p.Pod.Ref.Path + ".securityContext." + key)
		}
	}
	// Containers: a bad own profile, or a legacy annotation to carry over
	// as a field.
	for _, c := range p.Pod.Containers {
		own := object.Get(c.SecurityContext.Node, key)
		v, hasAnn := annotations[cPrefix+c.Name]
		hasAnn = hasAnn && c.Name != ""
		switch {
		case own != nil && !profileOK(own):
			if m := containerSC(c); m != nil {
				setProfile(m, key, "RuntimeDefault", "")
				p.Changed(c.Ref.Path + ".securityContext." + key)
			}
		case own == nil && hasAnn:
			if t, lp := annotationProfile(v); t == "Localhost" {
				if m := containerSC(c); m != nil {
					setProfile(m, key, t, lp)
					p.Changed(c.Ref.Path + ".securityContext." + key)
				}
			}
		}
	}
	removeProfileAnnotations(p, podAnn, cPrefix)
}

// removeProfileAnnotations removes the legacy annotations: the fields now
// say what they said.
func removeProfileAnnotations(p *check.FixPass, podAnn, cPrefix string) {
	md := p.Pod.MetaNode
	if md == nil || yamledit.KeyIndex(md, "annotations") < 0 || object.Get(md, "annotations") == nil {
		return
	}
	am := yamledit.EnsureMap(md, "annotations")
	if am == nil {
		return
	}
	var keys []string
	for i := 0; i+1 < len(am.Content); i += 2 {
		key := am.Content[i].Value
		if (podAnn != "" && key == podAnn) || strings.HasPrefix(key, cPrefix) {
			keys = append(keys, key)
		}
	}
	for _, key := range keys {
		yamledit.DeleteKey(am, key)
		p.Changed(p.Pod.Meta.Path + ".annotations." + key)
	}
	if len(am.Content) == 0 && len(keys) > 0 {
		yamledit.DeleteKey(md, "annotations")
	}
}
