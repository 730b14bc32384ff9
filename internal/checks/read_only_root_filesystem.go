package checks

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"go.yaml.in/yaml/v3"
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
	register(&check.ObjectCheck{
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
		},
		Applies: check.LinuxPodSpecs,
		Run:     readOnlyRootFilesystem,
		Fix:     &check.Fix{Apply: fixReadOnlyRootFilesystem, Order: orderContainerFields + 1},
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

// fixReadOnlyRootFilesystem writes readOnlyRootFilesystem: true and mounts
// an emptyDir at /tmp, where most programs write.
func fixReadOnlyRootFilesystem(p *check.FixPass) {
	for _, c := range foundContainers(p) {
		if v, ok := object.ParseBool(object.Get(c.SecurityContext.Node, "readOnlyRootFilesystem")); !ok || !v {
			if m := containerSC(c); m != nil {
				setBool(p, m, "readOnlyRootFilesystem", true, c.Ref.Path+".securityContext.readOnlyRootFilesystem", rorfRisk)
				tmpVolume(p, c)
			}
		}
	}
}

const rorfRisk = "read-only root filesystem"

// tmpVolume mounts an emptyDir at /tmp in c unless /tmp is mounted
// already, and records the volume and the mount it adds, by index.
func tmpVolume(p *check.FixPass, c *object.Container) {
	for _, vm := range yamledit.SeqItems(c.Ref.Node, "volumeMounts") {
		if mp := strings.TrimRight(object.GetStr(vm, "mountPath"), "/"); mp == "/tmp" {
			return
		}
	}
	// An emptyDir of either name is shared; a name another volume holds
	// is not reused.
	name, exists := "", false
names:
	for _, n := range []string{"tmp", "kubeharden-tmp"} {
		for _, v := range yamledit.SeqItems(p.Pod.Node, "volumes") {
			if object.GetStr(v, "name") == n {
				if object.Get(v, "emptyDir") == nil {
					continue names
				}
				exists = true
				break
			}
		}
		name = n
		break
	}
	if name == "" {
		return
	}
	if !exists {
		if !yamledit.AppendItem(p.Pod.Node, "volumes", map2("name", name, "emptyDir", "")) {
			return
		}
		p.Risky(p.Pod.Ref.Path+".volumes["+strconv.Itoa(len(yamledit.SeqItems(p.Pod.Node, "volumes"))-1)+"]", rorfRisk)
	}
	if yamledit.AppendItem(c.Ref.Node, "volumeMounts", map2("name", name, "mountPath", "/tmp")) {
		p.Risky(c.Ref.Path+".volumeMounts["+strconv.Itoa(len(yamledit.SeqItems(c.Ref.Node, "volumeMounts"))-1)+"]", rorfRisk)
	}
}

// map2 builds {k1: v1, k2: v2}; an empty v2 is an empty mapping.
func map2(k1, v1, k2, v2 string) *yaml.Node {
	m := yamledit.NewMap()
	m.Content = append(m.Content, yamledit.Scalar("!!str", k1), yamledit.Scalar("!!str", v1), yamledit.Scalar("!!str", k2))
	if v2 == "" {
		e := yamledit.NewMap()
		e.Style = yaml.FlowStyle
		m.Content = append(m.Content, e)
	} else {
		m.Content = append(m.Content, yamledit.Scalar("!!str", v2))
	}
	return m
}
