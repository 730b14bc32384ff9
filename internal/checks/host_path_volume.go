package checks

import (
	"path"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Pods should not mount directories of the node: a hostPath volume breaks
// the container's filesystem isolation, and some host paths (the runtime
// socket, /etc, the kubelet's directory) hand over the node outright.
//
// Fields: spec.volumes[*].hostPath
// Allowed: no hostPath volumes
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "host-path-volume",
			Title:    "hostPath volume",
			Severity: check.High,
			Description: "A hostPath volume mounts a file or directory of the node into the pod. " +
				"Writable, it lets the container change the node: plant binaries or cron jobs, rewrite /etc, or read other pods' secrets under /var/lib/kubelet. " +
				"Some paths are a full node takeover even read-only: the container runtime socket (/var/run/docker.sock, /var/run/containerd) starts privileged containers on request, " +
				"and /proc, /sys and / expose the kernel and every file. The pod also becomes tied to whatever the node happens to have at that path.",
			Remediation: "Use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim instead. " +
				"If a node agent truly needs a host path, mount the narrowest path read-only and run it in a namespace that is exempt on purpose.",
			References: []string{
				pssBaseline + " (HostPath Volumes)",
				nsaCISA + "pod security (hostPath mounts)",
			},
		},
		Applies: check.PodSpecs,
		Run:     hostPathVolume,
	})
}

func hostPathVolume(p *check.Pass) {
	for _, v := range p.Pod.Volumes {
		if v.Source != "hostPath" {
			continue
		}
		users, readOnly := volumeUsers(p.Pod.Containers, v.Name)
		what := "host path"
		if criticalHostPath(v.HostPath) {
			what = "critical host path"
		}
		switch {
		case len(users) == 0:
			p.Report(v.SourceRef, "hostPath volume %q uses %s %q but no container mounts it", v.Name, what, v.HostPath)
		case readOnly:
			p.Report(v.SourceRef, "hostPath volume %q exposes %s %q to %s (read-only)", v.Name, what, v.HostPath, strings.Join(users, ", "))
		default:
			p.Report(v.SourceRef, "hostPath volume %q exposes %s %q to %s", v.Name, what, v.HostPath, strings.Join(users, ", "))
		}
	}
}

// volumeUsers names the containers that mount a volume, and tells whether
// every one of their mounts is read-only.
func volumeUsers(containers []*object.Container, volume string) (users []string, readOnly bool) {
	readOnly = true
	for _, c := range containers {
		mounted := false
		for _, m := range c.VolumeMounts {
			if m.Name != volume {
				continue
			}
			mounted = true
			readOnly = readOnly && m.ReadOnly
		}
		if mounted {
			users = append(users, c.Describe())
		}
	}
	return users, readOnly
}

// criticalHostPaths give whoever mounts them (or a directory above them)
// control of the node: runtime sockets, host configuration and
// credentials, the kernel's interfaces, the kubelet's and the runtimes'
// state with every pod's secrets and filesystems.
var criticalHostPaths = []string{
	"/etc", "/root", "/proc", "/sys", "/dev", "/boot",
	"/var/lib/kubelet", "/var/lib/docker", "/var/lib/containerd",
	"/var/run/docker.sock", "/var/run/containerd", "/var/run/crio",
}

// criticalHostPath reports whether p is, lies below, or contains one of
// criticalHostPaths. /run is /var/run on every current distribution.
func criticalHostPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false // relative or Windows paths: nothing to judge by
	}
	p = path.Clean(p)
	if p == "/" {
		return true
	}
	if p == "/run" || strings.HasPrefix(p, "/run/") {
		p = "/var" + p
	}
	for _, c := range criticalHostPaths {
		if p == c || strings.HasPrefix(p, c+"/") || strings.HasPrefix(c, p+"/") {
			return true
		}
	}
	return false
}
