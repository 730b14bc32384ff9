package checks

import (
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// The final image should not carry shells, package managers or network
// tools: after a compromise they let an attacker explore, download a
// toolkit and exfiltrate (seed 000: remove package managers and network
// utilities). Build stages may install anything; only what the final
// stage installs, or inherits, ships.
//
// Reads: the RUN instructions (heredocs included) of the final stage and
// of the stages it builds on, in order; the final stage's base image
// Reported: apk add, apt-get/apt install, yum/dnf/microdnf install, zypper
// install and pip install of shells (bash, zsh...), network tools (curl,
// wget, nc, socat, telnet, ssh...), package managers (yum, pip...) and
// sudo, unless a later RUN removes them (apk del, apt-get purge, yum
// remove, also of an apk --virtual group); a full-distribution base,
// which ships a shell and a package manager already
func init() {
	registerDockerfile(&dockerfilecheck.Check{
		Meta: check.Meta{
			ID:       "dockerfile-tools-in-final-stage",
			Title:    "Dockerfile final stage keeps shells, package managers or network tools",
			Severity: check.Medium,
			Description: "Whoever gets code execution in a container uses what the image ships: a shell to explore, curl or wget to download a toolkit, " +
				"nc or ssh to open a channel out, a package manager to install the rest. " +
				"Tools the build needs belong in a build stage whose artifacts are copied into a minimal final stage.",
			Remediation: "Install build tools in a build stage and COPY --from only the artifacts into a distroless, Chainguard or scratch final stage; " +
				"if the final stage must install packages, leave out shells and network tools, or remove them in the same stage.",
			References: []string{
				seed000 + "remove package managers and network utilities",
				seed000 + "remove files system modification utilities",
				seed000 + "use Distroless or use lightweight images",
			},
		},
		Run: dockerfileToolsInFinalStage,
	})
}

// dfInstalled is a tool installed by a RUN.
type dfInstalled struct {
	stage *dockerfile.Stage
	ins   *dockerfile.Instruction
	order int
	group string
}

func dockerfileToolsInFinalStage(p *dockerfilecheck.Pass) {
	f := p.Dockerfile
	if f == nil || f.Final == nil {
		return
	}
	chain := f.Final.Chain()
	root := chain[len(chain)-1]
	if root.FromImage() {
		if kind, ships := dfClassifyBase(root.Base); kind == dfBaseFull {
			p.ReportAt(root.From.Line, dfPath(root, root.From), "%s keeps what its base %q ships: %s",
				dfFinal(f.Final), root.Base, strings.Join(ships, ", "))
		}
	}
	installed := map[string]dfInstalled{}
	n := 0
	for i := len(chain) - 1; i >= 0; i-- {
		st := chain[i]
		for _, ins := range st.Instructions {
			if ins.Cmd != "run" {
				continue
			}
			for _, op := range dfRunPackageOps(ins) {
				for _, pkg := range op.pkgs {
					if op.remove {
						delete(installed, pkg)
						for name, in := range installed {
							if in.group != "" && in.group == pkg {
								delete(installed, name)
							}
						}
						continue
					}
					if _, tool := dfTools[pkg]; tool {
						n++
						installed[pkg] = dfInstalled{stage: st, ins: ins, order: n, group: op.group}
					}
				}
			}
		}
	}
	// One finding per RUN, naming its tools in the order written.
	byIns := map[*dockerfile.Instruction][]string{}
	var order []dfInstalled
	names := make([]string, 0, len(installed))
	for name := range installed {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return installed[names[i]].order < installed[names[j]].order })
	for _, name := range names {
		in := installed[name]
		if byIns[in.ins] == nil {
			order = append(order, in)
		}
		byIns[in.ins] = append(byIns[in.ins], name+" ("+dfTools[name]+")")
	}
	for _, in := range order {
		tools := strings.Join(byIns[in.ins], ", ")
		if in.stage == f.Final {
			p.ReportAt(in.ins.Line, dfPath(in.stage, in.ins), "%s installs %s, which stay in the final image", dfFinal(f.Final), tools)
		} else {
			p.ReportAt(in.ins.Line, dfPath(in.stage, in.ins), "%s installs %s, which the final stage inherits", in.stage.Ref(), tools)
		}
	}
}
