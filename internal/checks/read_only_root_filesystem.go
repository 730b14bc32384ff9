package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Containers should have a read-only root filesystem: an attacker who gets a
// shell then cannot install tools, drop binaries or rewrite configuration in
// /etc, and the container stays what the image says it is. Scratch space
// goes to emptyDir mounts such as /tmp.
//
// Fields: securityContext.readOnlyRootFilesystem of init, regular and
// ephemeral containers (a container-only field: at pod level it is ignored)
// Allowed: true
func init() {
	register(check.Check{
		Meta: check.Meta{
			ID:       "read-only-root-filesystem",
			Title:    "Writable root filesystem",
			Severity: check.High,
			Description: "A container's root filesystem is writable unless readOnlyRootFilesystem is true. " +
				"Anyone who gets code execution can then install packages and tools, drop and run binaries, " +
				"and change the application's configuration, and the change survives until the container is replaced.",
			Remediation: "Set securityContext.readOnlyRootFilesystem to true on every container, " +
				"and mount an emptyDir volume where the application needs to write (/tmp, caches).",
			References: []string{
				seed000 + "enforce the filesystem to be in read-only mode",
				seed003 + "readOnlyRootFilesystem",
				nsaCISA + "immutable container file systems",
			},
			Fixable: true,
		},
		Applies: check.LinuxPodSpecs,
		Run:     readOnlyRootFilesystem,
	})
}

func readOnlyRootFilesystem(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		ro := c.SecurityContext.ReadOnlyRootFilesystem
		switch {
		case ro.Set && ro.V:
		case ro.Set:
			p.Report(ro.Ref, "%s must set securityContext.readOnlyRootFilesystem=true", c.Describe())
		default:
			p.Report(c.SecurityContext.Ref, "%s must set securityContext.readOnlyRootFilesystem=true%s",
				c.Describe(), ignoredAtPodLevel(p, "readOnlyRootFilesystem"))
		}
	}
}

// ignoredAtPodLevel explains, when the pod-level securityContext holds the
// container-only field key, that it has no effect there: the API server
// drops the unknown field, a common slip that leaves every container
// unprotected while the manifest looks hardened.
func ignoredAtPodLevel(p *check.Pass, key string) string {
	if object.IsNull(object.Get(p.Pod.SecurityContext.Node, key)) {
		return ""
	}
	return " (the pod's securityContext." + key + " is ignored: it is a container field)"
}
