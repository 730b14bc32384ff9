package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Pods must not share the host's namespaces: with the host's network, PID
// or IPC namespace a container sees and reaches what belongs to the node
// and to every other pod on it.
//
// Fields: spec.hostNetwork, spec.hostPID, spec.hostIPC
// Allowed: false, unset
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "host-namespaces",
			Title:    "Host namespaces shared",
			Severity: check.Critical,
			Description: "hostNetwork puts the pod on the node's network stack: it can bind node ports, reach services listening on localhost " +
				"(the kubelet, cloud metadata endpoints) and sniff traffic, and network policies no longer apply to it. " +
				"hostPID lets it see every process of the node and, with enough privilege, read their memory and environment or signal them. " +
				"hostIPC lets it read and write the shared memory of host processes.",
			Remediation: "Remove hostNetwork, hostPID and hostIPC, or set them to false; expose ports through a Service instead of the host network.",
			References: []string{
				pssBaseline + " (Host Namespaces)",
				nsaCISA + "pod security (host namespaces)",
			},
		},
		Applies: check.PodSpecs,
		Run:     hostNamespaces,
	})
}

func hostNamespaces(p *check.Pass) {
	for _, f := range []struct {
		name string
		b    object.Bool
	}{
		{"hostNetwork", p.Pod.HostNetwork},
		{"hostPID", p.Pod.HostPID},
		{"hostIPC", p.Pod.HostIPC},
	} {
		if f.b.Set && f.b.V {
			p.Report(f.b.Ref, "pod must not set %s=true", f.name)
		}
	}
}
