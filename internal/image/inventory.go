package image

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Inventory is what an attacker finds in the image once inside: tools to
// explore, download, install and tamper, and files that raise privileges.
// Each tool entry is a path in a PATH directory and what provides it:
// "/usr/bin/curl", "/bin/sh -> /bin/busybox" (symlink),
// "/bin/wget -> /bin/busybox (hardlink)", or a multi-call binary with the
// applets it provides by itself: "/bin/busybox (busybox applets: ash, sh)".
// EntryPath returns the path of an entry.
type Inventory struct {
	Shells          []string `json:"shells"`
	PackageManagers []string `json:"packageManagers"`
	NetworkTools    []string `json:"networkTools"`
	FSTools         []string `json:"fsTools"`
	// Setuid lists setuid and setgid files and files with capabilities:
	// "/usr/bin/passwd (setuid)", "/usr/bin/ping (capabilities)".
	Setuid []string `json:"setuid"`
	// Base is the classification of the base: scratch, distroless,
	// chainguard, alpine, slim, full distribution, or unknown.
	Base string `json:"base"`
	// BaseDetail says why: the os-release PRETTY_NAME, or the evidence.
	BaseDetail string `json:"baseDetail"`
}

// The classifications of Inventory.Base.
const (
	BaseScratch    = "scratch"
	BaseDistroless = "distroless"
	BaseChainguard = "chainguard"
	BaseAlpine     = "alpine"
	BaseSlim       = "slim"
	BaseFull       = "full distribution"
	BaseUnknown    = "unknown"
)

// PathDirs are the directories searched for tools: the standard PATH.
var PathDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// The tools of each category, by file name.
var (
	shellNames   = names("sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "hush", "csh", "tcsh", "fish")
	pmNames      = names("apk", "apt", "apt-get", "dpkg", "rpm", "yum", "dnf", "microdnf", "zypper", "pip", "pip3")
	networkNames = names("curl", "wget", "nc", "ncat", "netcat", "ssh", "scp", "sftp", "telnet", "socat")
	fsNames      = names("chmod", "chown", "chgrp", "setcap", "chattr", "mount")
	// pipVersioned matches pip3.12 and the like.
	pipVersioned = regexp.MustCompile(`^pip[0-9]+(\.[0-9]+)?$`)
)

// multiCall describes a multi-call binary. Assumption: a busybox or
// toybox binary (recognised by its file name, since contents are not
// read) provides the applets of its usual configuration even when no link
// names them, because `busybox wget URL` works. These are the applets of
// busybox's defconfig and of Alpine's and Debian's busybox builds, and of
// toybox's default build, restricted to the tools inventoried here;
// busybox's dpkg and rpm applets are left out because the distributions
// build without them.
type multiCall struct {
	kind                          string
	shells, network, fs, packages []string
}

var multiCalls = []multiCall{
	{kind: "busybox", shells: []string{"ash", "hush", "sh"}, network: []string{"nc", "telnet", "wget"}, fs: []string{"chattr", "chgrp", "chmod", "chown", "mount"}},
	{kind: "toybox", shells: []string{"sh"}, network: []string{"nc", "netcat", "wget"}, fs: []string{"chattr", "chgrp", "chmod", "chown", "mount"}},
}

func names(n ...string) map[string]bool {
	m := make(map[string]bool, len(n))
	for _, s := range n {
		m[s] = true
	}
	return m
}

// multiCallKind tells busybox and toybox binaries by name
// ("busybox", "busybox.static", "toybox").
func multiCallKind(p string) *multiCall {
	base := path.Base(p)
	for i := range multiCalls {
		if strings.HasPrefix(base, multiCalls[i].kind) {
			return &multiCalls[i]
		}
	}
	return nil
}

// EntryPath returns the path an Inventory entry is about, without what
// provides it.
func EntryPath(entry string) string {
	if i := strings.Index(entry, " -> "); i >= 0 {
		return entry[:i]
	}
	if strings.HasSuffix(entry, ")") {
		if i := strings.LastIndex(entry, " ("); i >= 0 {
			return entry[:i]
		}
	}
	return entry
}

// EntryPaths returns the paths of entries.
func EntryPaths(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = EntryPath(e)
	}
	return out
}

// inventory is the state of one Inventory computation.
type inventory struct {
	img *Image
	// groups maps the regular file of a hardlink group to its links.
	groups map[string][]string
}

// Inventory lists the image's shells, package managers, network and
// filesystem tools, privileged files, and classifies its base.
func (img *Image) Inventory() Inventory {
	in := inventory{img: img, groups: map[string][]string{}}
	for p, f := range img.Files {
		if f.Hardlink {
			in.groups[f.Linkname] = append(in.groups[f.Linkname], p)
		}
	}
	var inv Inventory
	in.tools(&inv)
	in.multiCallBinaries(&inv)
	in.pythonPip(&inv)
	in.setuid(&inv)
	for _, l := range [][]string{inv.Shells, inv.PackageManagers, inv.NetworkTools, inv.FSTools, inv.Setuid} {
		sort.Strings(l)
	}
	inv.Base, inv.BaseDetail = in.classify(&inv)
	return inv
}

// provider names the multi-call binary behind a regular file, when it is
// one: the member of its hardlink group named busybox or toybox, since the
// tar writer may have stored any of the links as the file.
func (in *inventory) provider(regular string) (string, *multiCall) {
	if mc := multiCallKind(regular); mc != nil {
		return regular, mc
	}
	for _, l := range in.groups[regular] {
		if mc := multiCallKind(l); mc != nil {
			return l, mc
		}
	}
	return regular, nil
}

// tools looks up each PATH directory once (a merged-/usr /bin -> usr/bin
// is the same directory as /usr/bin) for tools by name.
func (in *inventory) tools(inv *Inventory) {
	dirs := map[string]bool{}
	for _, d := range PathDirs {
		n, missing, f, ok := in.img.resolve(d)
		if ok && !f.Mode.IsDir() {
			continue
		}
		if !ok && (n == nil || len(missing) > 0 || !n.live || n.parent == nil) {
			continue // a directory exists when an entry lies below it
		}
		dirs[n.path()] = true
	}
	for p, f := range in.img.Files {
		dir, base := path.Split(p)
		if !dirs[path.Clean(dir)] {
			continue
		}
		var list *[]string
		switch {
		case shellNames[base]:
			list = &inv.Shells
		case pmNames[base] || pipVersioned.MatchString(base):
			list = &inv.PackageManagers
		case networkNames[base]:
			list = &inv.NetworkTools
		case fsNames[base]:
			list = &inv.FSTools
		default:
			continue
		}
		if e := in.describe(p, f); e != "" {
			*list = append(*list, e)
		}
	}
}

// describe formats a tool entry, or returns "" when p provides nothing (a
// directory, a dangling or looping symlink).
func (in *inventory) describe(p string, f *File) string {
	switch {
	case f.Mode&fs.ModeSymlink != 0:
		final, t, ok := in.img.Resolve(p)
		if !ok || t.Mode.IsDir() {
			return ""
		}
		if t.Hardlink {
			if tt := in.img.Target(t); tt != t {
				final = tt.Path
			}
		}
		prov, _ := in.provider(final)
		return p + " -> " + prov
	case f.Hardlink:
		prov, _ := in.provider(in.img.Target(f).Path)
		if prov == p {
			return p
		}
		return p + " -> " + prov + " (hardlink)"
	case f.Mode.IsRegular():
		if prov, mc := in.provider(p); mc != nil && prov != p {
			return p + " -> " + prov + " (hardlink)"
		}
		return p
	}
	return ""
}

// multiCallBinaries adds every busybox or toybox binary, wherever it is,
// with the applets it provides by itself.
func (in *inventory) multiCallBinaries(inv *Inventory) {
	seen := map[string]bool{}
	for p, f := range in.img.Files {
		if !f.Mode.IsRegular() || f.Hardlink {
			continue
		}
		prov, mc := in.provider(p)
		if mc == nil || seen[prov] {
			continue
		}
		seen[prov] = true
		add := func(list *[]string, applets []string) {
			if len(applets) > 0 {
				*list = append(*list, fmt.Sprintf("%s (%s applets: %s)", prov, mc.kind, strings.Join(applets, ", ")))
			}
		}
		add(&inv.Shells, mc.shells)
		add(&inv.NetworkTools, mc.network)
		add(&inv.FSTools, mc.fs)
		add(&inv.PackageManagers, mc.packages)
	}
}

// pythonPip adds pip installed as a Python module (python -m pip works
// without the pip script): a pip package in a site-packages or
// dist-packages directory.
func (in *inventory) pythonPip(inv *Inventory) {
	for p, f := range in.img.Files {
		if path.Base(p) != "pip" || !f.Mode.IsDir() {
			continue
		}
		switch path.Base(path.Dir(p)) {
		case "site-packages", "dist-packages":
			inv.PackageManagers = append(inv.PackageManagers, p+" (python module)")
		}
	}
}

// setuid lists regular files with the setuid or setgid bit or file
// capabilities. Hardlinks share their target's inode and are listed
// through it; setgid directories only make new files inherit a group.
func (in *inventory) setuid(inv *Inventory) {
	for p, f := range in.img.Files {
		if !f.Mode.IsRegular() || f.Hardlink {
			continue
		}
		var why []string
		if f.Mode&fs.ModeSetuid != 0 {
			why = append(why, "setuid")
		}
		if f.Mode&fs.ModeSetgid != 0 {
			why = append(why, "setgid")
		}
		if f.Capabilities {
			why = append(why, "capabilities")
		}
		if len(why) > 0 {
			inv.Setuid = append(inv.Setuid, p+" ("+strings.Join(why, ", ")+")")
		}
	}
}

// classify names the base from os-release and from what the filesystem
// holds.
func (in *inventory) classify(inv *Inventory) (base, detail string) {
	img := in.img
	osr := img.OSRelease
	pretty := osr["PRETTY_NAME"]
	if pretty == "" {
		pretty = strings.TrimSpace(osr["NAME"] + " " + osr["VERSION_ID"])
	}
	id := strings.ToLower(osr["ID"])
	exists := func(p string) bool { _, _, ok := img.Resolve(p); return ok }
	noShell := len(inv.Shells) == 0
	switch {
	case id == "wolfi" || id == "chainguard" || strings.Contains(strings.ToLower(pretty), "chainguard"):
		return BaseChainguard, pretty
	case strings.Contains(strings.ToLower(pretty), "distroless"):
		return BaseDistroless, pretty
	case exists("/var/lib/dpkg/status.d"):
		return BaseDistroless, orDefault(pretty, "per-package dpkg status in /var/lib/dpkg/status.d")
	case id == "alpine":
		return BaseAlpine, pretty
	case len(osr) == 0:
		if noShell && len(inv.PackageManagers) == 0 && !exists("/var/lib/dpkg/status") && !exists("/lib/apk/db/installed") && !exists("/var/lib/rpm") {
			return BaseScratch, fmt.Sprintf("no os-release, no shell, no package database, %d files", len(img.Files))
		}
		return BaseUnknown, fmt.Sprintf("no os-release, %d files", len(img.Files))
	case noShell && len(inv.PackageManagers) == 0:
		// A distribution's files without its shell and package manager:
		// built the distroless way.
		return BaseDistroless, pretty + ", without shell or package manager"
	case in.slim(id):
		return BaseSlim, pretty
	}
	return BaseFull, pretty
}

// slim recognises trimmed variants: Debian and Ubuntu images without
// manual pages (debian:*-slim and the minimized Ubuntu images exclude
// them through dpkg path-exclude), and UBI minimal, which ships microdnf
// instead of dnf.
func (in *inventory) slim(id string) bool {
	switch {
	case id == "debian" || id == "ubuntu" || strings.Contains(in.img.OSRelease["ID_LIKE"], "debian"):
		prefix := "/usr/share/man/"
		for p, f := range in.img.Files {
			if strings.HasPrefix(p, prefix) && !f.Mode.IsDir() {
				return false
			}
		}
		return true
	case id == "rhel" || id == "centos" || id == "fedora" || id == "rocky" || id == "almalinux":
		_, _, dnf := in.img.Resolve("/usr/bin/dnf")
		_, _, yum := in.img.Resolve("/usr/bin/yum")
		_, _, micro := in.img.Resolve("/usr/bin/microdnf")
		return micro && !dnf && !yum
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
