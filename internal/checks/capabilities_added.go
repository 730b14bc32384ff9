package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Containers should add no Linux capability beyond the few a team allows:
// each one hands a piece of root's power back to the container, and several
// (SYS_ADMIN, SYS_MODULE, SYS_PTRACE, DAC_READ_SEARCH) are known ways out of
// it.
//
// Fields: securityContext.capabilities.add of init, regular and ephemeral
// containers
// Allowed: the names in Params.AllowedCapabilities (default NET_BIND_SERVICE),
// compared without case and without the CAP_ prefix the runtimes accept
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "capabilities-added",
			Title:    "Dangerous capability added",
			Severity: check.High,
			Description: "Capabilities split root's power into pieces; adding one gives that piece back to the container, " +
				"whatever user it runs as. SYS_ADMIN is close to full root and the usual way out of a container, " +
				"SYS_MODULE loads kernel code, SYS_PTRACE reads and injects into other processes, " +
				"DAC_READ_SEARCH bypasses file permissions and enables the Shocker escape, " +
				"NET_ADMIN and NET_RAW let a container reconfigure, spoof or intercept network traffic, and ALL grants them all. " +
				"The restricted Pod Security Standard allows only NET_BIND_SERVICE.",
			Remediation: "Remove the capability from securityContext.capabilities.add, keep capabilities.drop: [ALL], " +
				"and give the process only what it needs (binding a port below 1024 needs NET_BIND_SERVICE, which is allowed). " +
				"If a capability is truly needed, list it in allowedCapabilities in .kubeharden.yaml or suppress the finding with a reason.",
			References: []string{
				pssBaseline + " (Capabilities)",
				pssRestricted + " (Capabilities)",
				seed000 + "enforce user-mode containers",
				nsaCISA + "non-root containers and least privilege",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     capabilitiesAdded,
	})
}

// capabilityRisk says why the most dangerous capabilities are dangerous.
var capabilityRisk = map[string]string{
	"ALL":             "it grants every capability, which is all but privileged",
	"SYS_ADMIN":       "it allows mount, namespaces, BPF and much of kernel administration, close to full root and the usual way out of a container",
	"NET_RAW":         "it lets the container forge raw packets, spoofing ARP and DNS on the node's network",
	"SYS_PTRACE":      "it lets the container trace the processes it can see, read their memory and inject code into them",
	"SYS_MODULE":      "it lets the container load kernel modules, which is full control of the node",
	"NET_ADMIN":       "it lets the container change interfaces, routes and firewall rules and intercept traffic",
	"DAC_READ_SEARCH": "it bypasses file read permissions and allows open_by_handle_at, the Shocker container escape",
}

func capabilitiesAdded(p *check.Pass) {
	allowed := map[string]bool{}
	var names []string
	for _, a := range p.Params.AllowedCapabilities {
		n := normCapability(a)
		if !allowed[n] {
			allowed[n] = true
			names = append(names, n)
		}
	}
	only := "no capability may be added"
	if len(names) > 0 {
		only = "only " + strings.Join(names, ", ") + " may be added"
	}
	for _, c := range p.Pod.Containers {
		for _, add := range c.SecurityContext.CapAdd {
			name := normCapability(add.V)
			if allowed[name] {
				continue
			}
			why := capabilityRisk[name]
			if why == "" {
				why = only
			}
			p.Report(add.Ref, "%s must not add capability %q: %s", c.Describe(), name, why)
		}
	}
}

// normCapability spells a capability the way the runtimes compare it:
// upper case, without the CAP_ prefix (containerd and CRI-O add it).
func normCapability(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "CAP_")
}
