package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Containers must set allowPrivilegeEscalation to false: only then does the
// runtime set no_new_privs, which stops a process from gaining privileges
// through setuid and setgid binaries or file capabilities. Unset means true,
// and privileged: true or an added SYS_ADMIN force it to true whatever is
// written.
//
// Fields: securityContext.allowPrivilegeEscalation, securityContext.privileged
// and securityContext.capabilities.add of init, regular and ephemeral
// containers (container-only fields: at pod level they are ignored)
// Allowed: false, with neither privileged: true nor SYS_ADMIN (or ALL) added
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "allow-privilege-escalation",
			Title:    "Privilege escalation allowed",
			Severity: check.High,
			Description: "allowPrivilegeEscalation is true unless it is set to false, and then the kernel lets a process gain privileges " +
				"through setuid and setgid binaries and file capabilities: a non-root attacker becomes root with a single sudo, su or exploited helper. " +
				"A privileged container or one with CAP_SYS_ADMIN always allows escalation, whatever allowPrivilegeEscalation says, " +
				"and the API server rejects allowPrivilegeEscalation=false written next to privileged=true or CAP_SYS_ADMIN.",
			Remediation: "Set securityContext.allowPrivilegeEscalation to false on every container, " +
				"and remove privileged: true and SYS_ADMIN from it.",
			References: []string{
				pssRestricted + " (Privilege Escalation)",
				seed000 + "enforce user-mode containers",
				nsaCISA + "non-root containers (prevent privilege escalation)",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     allowPrivilegeEscalation,
		Fix:     &check.Fix{Apply: fixAllowPrivilegeEscalation, Order: orderContainerFields},
	})
}

func allowPrivilegeEscalation(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		sc := &c.SecurityContext
		ape := sc.AllowPrivilegeEscalation
		writtenFalse := ape.Set && !ape.V
		if sc.Privileged.Set && sc.Privileged.V {
			note := ""
			if writtenFalse {
				note = ", and the API server rejects it next to allowPrivilegeEscalation=false"
			}
			p.Report(sc.Privileged.Ref, "%s must not set securityContext.privileged=true: it forces allowPrivilegeEscalation=true%s",
				c.Describe(), note)
			continue
		}
		if add, ok := sysAdminCapability(sc.CapAdd); ok {
			note := ""
			switch {
			case writtenFalse && add.V == "CAP_SYS_ADMIN":
				// The API server compares this exact spelling.
				note = ", and the API server rejects it next to allowPrivilegeEscalation=false"
			case writtenFalse:
				note = ", overriding allowPrivilegeEscalation=false"
			}
			what := "it forces"
			if normCapability(add.V) == "ALL" {
				what = "it includes SYS_ADMIN, which forces"
			}
			p.Report(add.Ref, "%s must not add capability %q: %s allowPrivilegeEscalation=true%s",
				c.Describe(), normCapability(add.V), what, note)
			continue
		}
		switch {
		case writtenFalse:
		case ape.Set:
			p.Report(ape.Ref, "%s must set securityContext.allowPrivilegeEscalation=false", c.Describe())
		default:
			p.Report(sc.Ref, "%s must set securityContext.allowPrivilegeEscalation=false: it is true when unset%s",
				c.Describe(), ignoredAtPodLevel(p, "allowPrivilegeEscalation"))
		}
	}
}

// sysAdminCapability returns the first added capability that grants
// SYS_ADMIN, which makes privilege escalation always allowed.
func sysAdminCapability(add []object.Str) (object.Str, bool) {
	for _, a := range add {
		if n := normCapability(a.V); n == "SYS_ADMIN" || n == "ALL" {
			return a, true
		}
	}
	return object.Str{}, false
}

// fixAllowPrivilegeEscalation writes allowPrivilegeEscalation: false. A
// privileged container or one that adds SYS_ADMIN still escalates: the
// check finds it again, and the fix engine refuses the fix.
func fixAllowPrivilegeEscalation(p *check.FixPass) {
	for _, c := range foundContainers(p) {
		if v, ok := object.ParseBool(object.Get(c.SecurityContext.Node, "allowPrivilegeEscalation")); !ok || v {
			if m := containerSC(c); m != nil {
				setBool(p, m, "allowPrivilegeEscalation", false, c.Ref.Path+".securityContext.allowPrivilegeEscalation", "")
			}
		}
	}
}
