package checks

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/imageref"
)

// What the Dockerfile checks share: the effective USER of a stage, what a
// base image is known to be, and the packages a RUN installs.

// dfFinal names the final stage in messages: `final stage "run"`, or
// "final stage" when it has no name.
func dfFinal(s *dockerfile.Stage) string {
	if s.Name != "" {
		return `final stage "` + s.Name + `"`
	}
	return "final stage"
}

// dfPath is the finding path of an instruction: stage[1].FROM,
// stage "build".USER.
func dfPath(s *dockerfile.Stage, ins *dockerfile.Instruction) string {
	return s.Ref() + "." + strings.ToUpper(ins.Cmd)
}

// dfUser takes the user of a USER value (the group does not decide who
// runs), and tells whether it is a number.
func dfUser(v string) (user string, uid int64, numeric bool) {
	user, _, _ = strings.Cut(v, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	return user, uid, err == nil && uid >= 0
}

// dfRootUser reports whether a USER value runs as root: the name root or
// UID 0, whatever the group.
func dfRootUser(v string) bool {
	user, uid, numeric := dfUser(v)
	return user == "root" || numeric && uid == 0
}

// dfUnresolved reports whether a value still holds a variable the
// Dockerfile gives no value (an ARG without default): it is decided at
// build time, and the checks do not guess it.
func dfUnresolved(v string) bool { return strings.Contains(v, "$") }

// dfChainguardRootImages are the Chainguard images that, like every -dev
// variant, run as root by default: bases meant to be built on.
var dfChainguardRootImages = map[string]bool{"wolfi-base": true, "chainguard-base": true, "busybox": true}

// dfNonRootBase reports whether an image is known to run as a non-root
// numeric UID (65532) when no USER is set:
//   - gcr.io/distroless/* tags with a nonroot part: nonroot, nonroot-amd64,
//     debug-nonroot (the default tags, latest and debug, run as root);
//   - cgr.dev/chainguard/* images, except -dev variants (any tag with a dev
//     part: latest-dev, 3.12-dev) and the root bases wolfi-base,
//     chainguard-base and busybox. A digest without a tag is taken as the
//     non-dev image.
//
// Any other base is unknown: the checks do not pull images to read their
// config, which `kubeharden image` does.
func dfNonRootBase(base string) bool {
	if dfUnresolved(base) {
		return false
	}
	r, ok := imageref.ParseBase(base)
	switch {
	case !ok:
		return false
	case r.Distroless():
		return r.TagHas("nonroot", false)
	case r.Chainguard():
		return !r.TagHas("dev", false) && !dfChainguardRootImages[r.Name]
	}
	return false
}

// dfBaseKind classifies a base image.
type dfBaseKind int

const (
	dfBaseUnknown dfBaseKind = iota
	// dfBaseMinimal: scratch, distroless, Chainguard/Wolfi, alpine,
	// busybox, -slim and -alpine variants.
	dfBaseMinimal
	// dfBaseFull: a full distribution or a language image built on one.
	dfBaseFull
)

// dfFullBases maps full-distribution and language images (by repository
// path on Docker Hub, e.g. opensuse/leap; UBI and Amazon Linux also by
// their vendor paths) to what they ship that a
// runtime image does not need.
var dfFullBases = func() map[string][]string {
	apt := []string{"a shell (bash)", "a package manager (apt, dpkg)"}
	rpm := []string{"a shell (bash)", "a package manager (yum or dnf, rpm)"}
	// The language images build on buildpack-deps, which adds the tools
	// that fetch sources.
	deps := []string{"a shell (bash)", "a package manager (apt, dpkg)", "network tools (curl, wget, git, ssh client)"}
	m := map[string][]string{
		"ubuntu": apt, "debian": apt, "eclipse-temurin": apt,
		"centos": rpm, "fedora": rpm, "rockylinux": rpm, "almalinux": rpm, "amazonlinux": rpm, "oraclelinux": rpm,
		"amazoncorretto": rpm, "openjdk": {"a shell (bash)", "a package manager"},
		"ubi": rpm, "ubi8": rpm, "ubi9": rpm, "ubi10": rpm,
		"opensuse/leap":       {"a shell (bash)", "a package manager (zypper, rpm)"},
		"opensuse/tumbleweed": {"a shell (bash)", "a package manager (zypper, rpm)"},
		"archlinux":           {"a shell (bash)", "a package manager (pacman)"},
		"php":                 {"a shell (bash)", "a package manager (apt, dpkg)", "network tools (curl)"},
	}
	for _, n := range []string{"python", "node", "golang", "ruby", "buildpack-deps", "rust", "perl"} {
		m[n] = deps
	}
	return m
}()

// dfClassifyBase says whether a base image is minimal, a full
// distribution (with what it ships), or unknown (an image the checks know
// nothing about, or one whose reference is decided by a build argument).
func dfClassifyBase(base string) (dfBaseKind, []string) {
	if strings.EqualFold(base, "scratch") {
		return dfBaseMinimal, nil
	}
	r, ok := imageref.ParseBase(base)
	switch {
	case !ok:
		return dfBaseUnknown, nil
	case r.Distroless(), r.Chainguard():
		return dfBaseMinimal, nil
	case r.Name == "alpine" || r.Name == "busybox" || r.Name == "wolfi-base" || r.Name == "ubi-micro" || r.Name == "static":
		return dfBaseMinimal, nil
	case r.TagHas("slim", false) || r.TagHas("alpine", true):
		return dfBaseMinimal, nil
	case dfUnresolved(r.Tag) || dfUnresolved(r.Path):
		return dfBaseUnknown, nil
	case r.TagHas("nanoserver", true) || r.TagHas("windowsservercore", true):
		return dfBaseUnknown, nil
	}
	ships, ok := dfFullBases[r.Path]
	if !ok && (dfUBI(r) || r.Repo == "amazonlinux/amazonlinux") {
		ships, ok = dfFullBases[r.Name]
	}
	if ok {
		return dfBaseFull, ships
	}
	return dfBaseUnknown, nil
}

// dfUBI matches Red Hat's Universal Base Images by their last path
// component: ubi9/ubi, redhat/ubi9, registry.access.redhat.com/ubi9.
func dfUBI(r imageref.Base) bool {
	return r.Name == "ubi" || r.Name == "ubi8" || r.Name == "ubi9" || r.Name == "ubi10"
}

// dfPackageOp is one package-manager command of a RUN: packages added or
// removed, with the virtual group they are added to (apk add --virtual).
type dfPackageOp struct {
	remove bool
	pkgs   []string
	group  string
}

// dfValueFlags are the package-manager options that take a separate value,
// which is not a package name.
var dfValueFlags = map[string]bool{
	"--repository": true, "-X": true, "--virtual": true, "-t": true, "--root": true, "-p": true, "--arch": true,
	"--cache-dir": true, "--keys-dir": true, "--repositories-file": true,
	"-o": true, "--option": true, "--target-release": true, "-c": true, "--config": true,
	"--setopt": true, "--enablerepo": true, "--disablerepo": true, "--releasever": true, "--installroot": true,
	"-r": true, "--requirement": true, "--constraint": true, "-i": true, "--index-url": true,
	"--extra-index-url": true, "--target": true, "--prefix": true, "-f": true, "--find-links": true,
	"--trusted-host": true, "--platform": true, "--python-version": true, "-e": true, "--editable": true,
	"--src": true, "--only-binary": true, "--no-binary": true, "--progress-bar": true, "--upgrade-strategy": true,
}

// dfRunPackageOps finds the package installs and removals of a RUN: in
// the simple commands of its script and its heredocs
// (dockerfile.RunCommands). A part that does not parse gives none: the
// shell would not run it either.
func dfRunPackageOps(ins *dockerfile.Instruction) []dfPackageOp {
	cmds, _ := dockerfile.RunCommands(ins)
	return dfCommandsPackageOps(cmds)
}

// dfPackageOps finds the package installs and removals of a shell script;
// see dfCommandsPackageOps.
func dfPackageOps(script string) []dfPackageOp {
	s, err := dockerfile.ParseShell(script)
	if err != nil {
		return nil
	}
	return dfCommandsPackageOps(s.Commands)
}

// dfCommandsPackageOps finds the package installs and removals of simple
// commands: apk add/del, apt-get/apt install/remove/purge,
// yum/dnf/microdnf/tdnf install/remove, zypper install/remove, pip
// install/uninstall.
func dfCommandsPackageOps(cmds []dockerfile.Command) []dfPackageOp {
	var ops []dfPackageOp
	for _, c := range cmds {
		words := make([]string, len(c.Args))
		for i, w := range c.Args {
			words[i] = w.Value
		}
		// Skip what may run a command: sudo, exec, VAR=value (after sudo).
		for len(words) > 0 {
			w := words[0]
			if w == "sudo" || w == "exec" || w == "" || strings.Contains(w, "=") && !strings.HasPrefix(w, "-") {
				words = words[1:]
				continue
			}
			break
		}
		if len(words) < 2 {
			continue
		}
		mgr := words[0]
		if i := strings.LastIndexByte(mgr, '/'); i >= 0 {
			mgr = mgr[i+1:] // /sbin/apk
		}
		rest := words[1:]
		if strings.HasPrefix(mgr, "python") && len(rest) > 2 && rest[0] == "-m" && strings.HasPrefix(rest[1], "pip") {
			mgr, rest = "pip", rest[2:] // python3 -m pip install
		}
		if op, ok := dfPackageOp0(mgr, rest); ok {
			ops = append(ops, op)
		}
	}
	return ops
}

// dfPackageOp0 reads one package-manager command, after the manager name.
func dfPackageOp0(mgr string, args []string) (dfPackageOp, bool) {
	var install, remove []string
	switch {
	case mgr == "apk":
		install, remove = []string{"add"}, []string{"del"}
	case mgr == "apt-get" || mgr == "apt" || mgr == "aptitude":
		install, remove = []string{"install"}, []string{"remove", "purge"}
	case mgr == "yum" || mgr == "dnf" || mgr == "microdnf" || mgr == "tdnf":
		install, remove = []string{"install"}, []string{"remove", "erase"}
	case mgr == "zypper":
		install, remove = []string{"install", "in"}, []string{"remove", "rm"}
	case mgr == "pip" || strings.HasPrefix(mgr, "pip3") || strings.HasPrefix(mgr, "pip2"):
		install, remove = []string{"install"}, []string{"uninstall"}
	default:
		return dfPackageOp{}, false
	}
	// The verb is the first word that is not an option (or an option's
	// value): apt-get -y install, apk --no-cache add.
	var op dfPackageOp
	verb := -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if dfValueFlags[a] {
				i++
			}
			continue
		}
		verb = i
		break
	}
	if verb < 0 {
		return op, false
	}
	switch {
	case dfContains(install, args[verb]):
	case dfContains(remove, args[verb]):
		op.remove = true
	default:
		return op, false
	}
	for i := verb + 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			name, val, hasVal := strings.Cut(a, "=")
			if name == "--virtual" || name == "-t" && mgr == "apk" {
				if hasVal {
					op.group = val
				} else if i+1 < len(args) {
					op.group = args[i+1]
				}
			}
			if dfValueFlags[a] {
				i++
			}
			continue
		}
		if p := dfPackageName(a); p != "" {
			op.pkgs = append(op.pkgs, p)
		}
	}
	return op, true
}

func dfContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dfPackageName drops versions, repositories, architectures and extras:
// git=1:2.47 → git, cfssl@testing → cfssl, requests[socks]==2 → requests.
func dfPackageName(s string) string {
	if i := strings.IndexAny(s, "=<>~!@[;:"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// dfTools are the packages that leave an attacker a shell, a way to fetch
// or send data, a way to install more, or to become root.
var dfTools = map[string]string{
	"bash": "shell", "zsh": "shell", "fish": "shell", "ksh": "shell", "mksh": "shell", "tcsh": "shell", "csh": "shell",
	"dash": "shell", "busybox": "shell",
	"curl": "network tool", "wget": "network tool", "wget2": "network tool", "nc": "network tool", "netcat": "network tool",
	"netcat-openbsd": "network tool", "netcat-traditional": "network tool", "ncat": "network tool", "nmap-ncat": "network tool",
	"nmap": "network tool", "socat": "network tool", "telnet": "network tool", "inetutils-telnet": "network tool",
	"busybox-extras": "network tool", "ssh": "network tool", "openssh": "network tool", "openssh-client": "network tool",
	"openssh-clients": "network tool", "openssh-server": "network tool", "dropbear": "network tool", "ftp": "network tool",
	"lftp": "network tool", "tftp": "network tool", "tcpdump": "network tool",
	"yum": "package manager", "dnf": "package manager", "microdnf": "package manager", "apk-tools": "package manager",
	"zypper": "package manager", "pip": "package manager", "py3-pip": "package manager", "python3-pip": "package manager",
	"python-pip": "package manager",
	"sudo":       "privilege escalation tool",
}

// dfShort shortens a command for a message.
func dfShort(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
