package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
	"github.com/kubeharden/kubeharden/internal/image"
)

// Images should ship no shell: with one, any code execution bug becomes
// an interactive foothold, scripts run, reverse shells open. Busybox and
// toybox count, both through their applet links and by themselves.
//
// Looks at: sh, bash, ash, dash, zsh, ksh, mksh, hush, csh, tcsh, fish in
// the PATH directories, and every busybox or toybox binary
// Allowed: none of them
func init() {
	registerImage(&imagecheck.Check{
		Meta: check.Meta{
			ID:       "image-shell",
			Title:    "Image ships a shell",
			Severity: check.Medium,
			Description: "A shell turns any code execution in the application into an interactive foothold: " +
				"an attacker runs scripts, chains the other tools of the image, and opens reverse shells. " +
				"Distroless and scratch images have none, and ephemeral debug containers bring one only when someone needs it.",
			Remediation: "Build the final stage FROM a distroless or scratch image, or delete the shells and the busybox binary in the last layer; " +
				"debug with kubectl debug and an ephemeral container instead.",
			References: []string{
				seed000 + "use Distroless or use lightweight images",
				seed000 + "remove package managers and network utilities (and shell access)",
			},
		},
		Run: func(p *imagecheck.Pass) { reportTools(p, "a shell", p.Image.Inventory().Shells) },
	})
}

// reportTools reports the inventory entries of one kind of tool as one
// finding: the message names each path and what provides it, the path
// lists the paths.
func reportTools(p *imagecheck.Pass, what string, entries []string) {
	if len(entries) == 0 {
		return
	}
	var paths []string
	seen := map[string]bool{}
	for _, e := range image.EntryPaths(entries) {
		if !seen[e] {
			seen[e] = true
			paths = append(paths, e)
		}
	}
	// Entries may hold ", " (busybox applet lists): "; " separates them.
	p.ReportAt(0, strings.Join(paths, ", "), "image contains %s: %s", what, strings.Join(entries, "; "))
}
