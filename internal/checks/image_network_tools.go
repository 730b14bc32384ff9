package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

// Images should ship no network utilities: they download the next stage
// of an attack and carry data out.
//
// Looks at: curl, wget, nc, ncat, netcat, ssh, scp, sftp, telnet, socat in
// the PATH directories, and the applets of busybox and toybox binaries
// Allowed: none of them
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-network-tools",
			Title:    "Image ships network utilities",
			Severity: check.Medium,
			Description: "Network utilities are what an intruder reaches for first: curl and wget fetch the next payload, " +
				"nc, socat and telnet open reverse shells and tunnels, ssh and scp move data out. " +
				"An application that needs HTTP has it in its own code.",
			Remediation: "Do not install curl, wget, netcat, socat, telnet or ssh clients in the final stage; " +
				"use a distroless base, and write health checks in the application or as Kubernetes probes.",
			References: []string{
				seed000 + "remove package managers and network utilities",
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run: func(p *imagecheck.Pass) { reportTools(p, "network tools", p.Image.Inventory().NetworkTools) },
	})
}
