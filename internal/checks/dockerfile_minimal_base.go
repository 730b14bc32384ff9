package checks

import (
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
)

// The final image should build on a minimal base: a full distribution
// or a language image brings a shell, a package manager and often
// network tools, which the application does not need and an attacker
// does (seed 000: use Distroless or lightweight images).
//
// Reads: the base of the final stage, following FROM <stage> to the image
// Allowed: scratch, distroless, Chainguard/Wolfi, alpine, busybox, -slim
// and -alpine variants; bases the check does not know, and references
// decided by a build argument, are not reported
// Reported: ubuntu, debian (not -slim), centos, fedora, rockylinux,
// almalinux, amazonlinux, oraclelinux, UBI, opensuse, archlinux, and the
// language images python, node, golang, openjdk, ruby, php (and the like)
// without -slim or -alpine
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-minimal-base",
			Title:    "Dockerfile final stage builds on a full distribution",
			Severity: check.Low,
			Description: "A full distribution or language image ships a shell, a package manager and many libraries the application never uses: " +
				"each is attack surface, a source of CVEs to patch, and a tool for whoever gets code execution in the container.",
			Remediation: "Build in a full image if you must, then copy the artifacts into a minimal final stage: " +
				"FROM gcr.io/distroless/static-debian12:nonroot, a Chainguard image, scratch for static binaries, or an -alpine or -slim variant.",
			References: []string{
				seed000 + "use Distroless or use lightweight images",
				seed000 + "remove package managers and network utilities",
			},
		},
		Run: dockerfileMinimalBase,
	})
}

func dockerfileMinimalBase(p *dockerfilecheck.Pass) {
	f := p.Dockerfile
	if f == nil || f.Final == nil {
		return
	}
	root := f.Final.Root()
	if !root.FromImage() {
		return
	}
	kind, ships := dfClassifyBase(root.Base)
	if kind != dfBaseFull {
		return
	}
	via := ""
	if root != f.Final {
		via = " (through " + root.Ref() + ")"
	}
	p.ReportAt(root.From.Line, dfPath(root, root.From), "%s builds on %q%s, a full distribution image with %s: use distroless, Chainguard, scratch, alpine or a -slim variant",
		dfFinal(f.Final), root.Base, via, strings.Join(ships, ", "))
}
