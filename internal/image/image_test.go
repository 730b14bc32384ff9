package image_test

import (
	"archive/tar"
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
)

func load(t *testing.T, src Source) *image.Image {
	t.Helper()
	img, err := image.Load(context.Background(), src.Ref, image.LoadOptions{Insecure: true})
	if err != nil {
		t.Fatalf("%s: %v", src.Kind, err)
	}
	return img
}

// forEachSource loads img from an OCI layout, a docker-archive tarball and
// a loopback registry, and runs f on each.
func forEachSource(t *testing.T, img v1.Image, f func(t *testing.T, got *image.Image)) {
	t.Helper()
	for _, src := range Sources(t, img) {
		t.Run(src.Kind, func(t *testing.T) { f(t, load(t, src)) })
	}
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestBusybox(t *testing.T) {
	forEachSource(t, Busybox(t), func(t *testing.T, img *image.Image) {
		if img.Digest == "" || img.Layers != 1 || img.OS != "linux" || img.Arch != "amd64" {
			t.Errorf("config: digest %q layers %d %s/%s", img.Digest, img.Layers, img.OS, img.Arch)
		}
		inv := img.Inventory()
		wantList(t, "shells", inv.Shells, []string{
			"/bin/ash -> /bin/busybox",
			"/bin/busybox (busybox applets: ash, hush, sh)",
			"/bin/sh -> /bin/busybox",
		})
		wantList(t, "network", inv.NetworkTools, []string{
			"/bin/busybox (busybox applets: nc, telnet, wget)",
			"/bin/nc -> /bin/busybox (hardlink)",
			"/usr/bin/wget -> /bin/busybox",
		})
		wantList(t, "fs", inv.FSTools, []string{
			"/bin/busybox (busybox applets: chattr, chgrp, chmod, chown, mount)",
			"/bin/chmod -> /bin/busybox (hardlink)",
			"/bin/mount -> /bin/busybox (hardlink)",
		})
		wantList(t, "package managers", inv.PackageManagers, nil)
		wantList(t, "setuid", inv.Setuid, nil)
		if inv.Base != image.BaseUnknown {
			t.Errorf("base %q (%s), want unknown", inv.Base, inv.BaseDetail)
		}
		if uid, name, ok := img.ResolveUser(); uid != 0 || name != "root" || !ok {
			t.Errorf("user: %d %q %v", uid, name, ok)
		}
	})
}

// TestBusyboxHardlinkOrder: the tar writer may store any applet as the
// file and busybox as a link to it.
func TestBusyboxHardlinkOrder(t *testing.T) {
	img := Image(t, v1.Config{}, Layer(t,
		File("bin/[", "elf"),
		Hardlink("bin/busybox", "bin/["),
		Hardlink("bin/sh", "bin/["),
		Symlink("bin/wget", "busybox"),
	))
	forEachSource(t, img, func(t *testing.T, got *image.Image) {
		inv := got.Inventory()
		wantList(t, "shells", inv.Shells, []string{"/bin/busybox (busybox applets: ash, hush, sh)", "/bin/sh -> /bin/busybox (hardlink)"})
		wantList(t, "network", inv.NetworkTools, []string{"/bin/busybox (busybox applets: nc, telnet, wget)", "/bin/wget -> /bin/busybox"})
	})
}

func TestDistroless(t *testing.T) {
	forEachSource(t, Distroless(t), func(t *testing.T, img *image.Image) {
		inv := img.Inventory()
		for name, l := range map[string][]string{"shells": inv.Shells, "pm": inv.PackageManagers, "net": inv.NetworkTools, "fs": inv.FSTools, "setuid": inv.Setuid} {
			if len(l) > 0 {
				t.Errorf("%s: %q", name, l)
			}
		}
		if inv.Base != image.BaseDistroless || inv.BaseDetail != "Distroless" {
			t.Errorf("base %q (%s)", inv.Base, inv.BaseDetail)
		}
		if uid, name, ok := img.ResolveUser(); uid != 65532 || name != "nonroot" || !ok {
			t.Errorf("user: %d %q %v", uid, name, ok)
		}
		if img.OSRelease["VERSION_ID"] != "12" || img.Layers != 2 {
			t.Errorf("os-release %v, layers %d", img.OSRelease, img.Layers)
		}
	})
}

func TestWhiteouts(t *testing.T) {
	img := Image(t, v1.Config{},
		Layer(t,
			File("usr/bin/curl", "x"), File("usr/bin/wget", "x"), File("bin/bash", "x"),
			File("usr/local/bin/nc", "x"), File("usr/local/bin/socat", "x"),
			File("opt/tools/ssh", "x"), File("opt/x/telnet", "x"),
			File("sbin/mount", "x"),
		),
		Layer(t,
			Whiteout("usr/bin/curl"),
			Opaque("usr/local/bin"), File("usr/local/bin/app", "x"),
			Whiteout("opt/tools"),
			File("opt/x", "now a file"),
			Whiteout("sbin/mount"),
		),
		// A whiteout only hides what is below: the top layer brings mount back.
		Layer(t, File("sbin/mount", "y")),
	)
	forEachSource(t, img, func(t *testing.T, got *image.Image) {
		for _, p := range []string{"/usr/bin/curl", "/usr/local/bin/nc", "/usr/local/bin/socat", "/opt/tools/ssh", "/opt/tools", "/opt/x/telnet", "/usr/bin/.wh.curl", "/usr/local/bin/.wh..wh..opq"} {
			if got.Files[p] != nil {
				t.Errorf("%s survived", p)
			}
		}
		for p, layer := range map[string]int{"/usr/bin/wget": 0, "/bin/bash": 0, "/usr/local/bin/app": 1, "/opt/x": 1, "/sbin/mount": 2} {
			if f := got.Files[p]; f == nil || f.Layer != layer {
				t.Errorf("%s: %+v, want layer %d", p, f, layer)
			}
		}
		inv := got.Inventory()
		wantList(t, "network", inv.NetworkTools, []string{"/usr/bin/wget"})
		wantList(t, "fs", inv.FSTools, []string{"/sbin/mount"})
	})
}

func TestSetuidAndCapabilities(t *testing.T) {
	suid := File("usr/bin/passwd", "x")
	suid.Mode = 0o4755
	sgid := File("usr/bin/wall", "x")
	sgid.Mode = 0o2755
	both := File("usr/bin/both", "x")
	both.Mode = 0o6755
	capf := File("usr/bin/ping", "x")
	capf.PAX = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00"}
	sgidDir := Dir("var/mail")
	sgidDir.Mode = 0o2775
	img := Image(t, v1.Config{User: "app"},
		Layer(t, suid, sgid, both, capf, sgidDir, File("usr/bin/ls", "x"), Hardlink("usr/bin/passwd2", "usr/bin/passwd"),
			File("etc/passwd", "root:x:0:0::/:/bin/false\napp:x:10001:10001::/:/bin/false\n")))
	forEachSource(t, img, func(t *testing.T, got *image.Image) {
		wantList(t, "setuid", got.Inventory().Setuid, []string{
			"/usr/bin/both (setuid, setgid)",
			"/usr/bin/passwd (setuid)",
			"/usr/bin/ping (capabilities)",
			"/usr/bin/wall (setgid)",
		})
		if f := got.Files["/usr/bin/ping"]; !f.Capabilities || f.Size != 1 {
			t.Errorf("ping: %+v", f)
		}
		if f := got.Files["/usr/bin/passwd2"]; !f.Hardlink || f.Linkname != "/usr/bin/passwd" || got.Target(f).Path != "/usr/bin/passwd" {
			t.Errorf("hardlink: %+v", f)
		}
		if uid, name, ok := got.ResolveUser(); uid != 10001 || name != "app" || !ok {
			t.Errorf("user: %d %q %v", uid, name, ok)
		}
	})
}

func TestResolve(t *testing.T) {
	img := Image(t, v1.Config{}, Layer(t,
		Symlink("bin", "usr/bin"), Dir("usr"), Dir("usr/bin"),
		File("usr/bin/bash", "x"), Symlink("usr/bin/sh", "bash"),
		Symlink("usr/bin/rbash", "/bin/sh"),
		Symlink("loop1", "loop2"), Symlink("loop2", "/loop1"),
		Symlink("dangling", "/nowhere"),
		Symlink("etc/os-release", "../usr/lib/os-release"),
		File("usr/lib/os-release", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		File("usr/share/man/man1/bash.1.gz", "x"),
		File("usr/bin/apt-get", "x"), File("usr/bin/pip3.12", "x"),
		Dir("usr/lib/python3/dist-packages/pip"),
	))
	got := load(t, Sources(t, img)[0])
	for p, want := range map[string]string{
		"/bin/sh": "/usr/bin/bash", "/bin/rbash": "/usr/bin/bash", "/usr/bin/../bin/sh": "/usr/bin/bash", "/etc/os-release": "/usr/lib/os-release",
	} {
		if final, _, ok := got.Resolve(p); !ok || final != want {
			t.Errorf("Resolve(%s) = %q %v, want %q", p, final, ok, want)
		}
	}
	for _, p := range []string{"/loop1", "/dangling", "/usr/bin/bash/x"} {
		if final, _, ok := got.Resolve(p); ok {
			t.Errorf("Resolve(%s) = %q, want failure", p, final)
		}
	}
	inv := got.Inventory()
	wantList(t, "shells", inv.Shells, []string{"/usr/bin/bash", "/usr/bin/sh -> /usr/bin/bash"})
	wantList(t, "package managers", inv.PackageManagers, []string{"/usr/bin/apt-get", "/usr/bin/pip3.12", "/usr/lib/python3/dist-packages/pip (python module)"})
	if inv.Base != image.BaseFull || inv.BaseDetail != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("base %q (%s)", inv.Base, inv.BaseDetail)
	}
}

func TestResolveUser(t *testing.T) {
	passwd := File("etc/passwd", "root:x:0:0::/root:/bin/sh\n# comment\nbroken\ntoor:x:0:0::/:/bin/sh\napp:x:101:101::/:/bin/false\nhigh:x:60000:60000::/:/bin/false\n")
	for _, tc := range []struct {
		user string
		uid  int
		name string
		ok   bool
	}{
		{"", 0, "root", true},
		{"root", 0, "root", true},
		{"0", 0, "root", true},
		{"0:0", 0, "root", true},
		{"toor", 0, "toor", true},
		{"app", 101, "app", true},
		{"app:app", 101, "app", true},
		{"60000:60000", 60000, "high", true},
		{"1000:1000", 1000, "", true},
		{"ghost", 0, "ghost", false},
	} {
		img := Image(t, v1.Config{User: tc.user}, Layer(t, passwd))
		got := load(t, Source{Kind: "layout", Ref: WriteLayout(t, img)})
		uid, name, ok := got.ResolveUser()
		if uid != tc.uid || name != tc.name || ok != tc.ok {
			t.Errorf("user %q: got %d %q %v, want %d %q %v", tc.user, uid, name, ok, tc.uid, tc.name, tc.ok)
		}
	}
	// Without /etc/passwd, "root" still means 0.
	if uid, _, ok := (&image.Image{User: "root"}).ResolveUser(); uid != 0 || !ok {
		t.Errorf("root without passwd: %d %v", uid, ok)
	}
}

func TestClassify(t *testing.T) {
	reg := func(paths ...string) map[string]*image.File {
		m := map[string]*image.File{}
		for _, p := range paths {
			mode := fs.FileMode(0o755)
			if strings.HasSuffix(p, "/") {
				p, mode = strings.TrimSuffix(p, "/"), fs.ModeDir|0o755
			}
			m[p] = &image.File{Path: p, Mode: mode}
		}
		return m
	}
	osr := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		img    *image.Image
		base   string
		detail string
	}{
		{"scratch", &image.Image{Files: reg("/app", "/etc/ssl/certs/ca-certificates.crt")}, image.BaseScratch, "no os-release, no shell, no package database, 2 files"},
		{"empty", &image.Image{}, image.BaseScratch, "no os-release, no shell, no package database, 0 files"},
		{"unknown", &image.Image{Files: reg("/bin/sh", "/app")}, image.BaseUnknown, "no os-release, 2 files"},
		{"alpine", &image.Image{Files: reg("/bin/busybox", "/sbin/apk"), OSRelease: osr("ID", "alpine", "PRETTY_NAME", "Alpine Linux v3.20")}, image.BaseAlpine, "Alpine Linux v3.20"},
		{"wolfi", &image.Image{Files: reg("/bin/sh"), OSRelease: osr("ID", "wolfi", "PRETTY_NAME", "Wolfi")}, image.BaseChainguard, "Wolfi"},
		{"chainguard static", &image.Image{Files: reg("/etc/passwd"), OSRelease: osr("ID", "chainguard", "NAME", "Chainguard", "VERSION_ID", "20230214")}, image.BaseChainguard, "Chainguard 20230214"},
		{"distroless by status.d", &image.Image{Files: reg("/var/lib/dpkg/status.d/", "/app")}, image.BaseDistroless, "per-package dpkg status in /var/lib/dpkg/status.d"},
		{"distroless by content", &image.Image{Files: reg("/app", "/var/lib/dpkg/status"), OSRelease: osr("ID", "debian", "PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)")}, image.BaseDistroless, "Debian GNU/Linux 12 (bookworm), without shell or package manager"},
		{"debian slim", &image.Image{Files: reg("/bin/bash", "/usr/bin/apt-get", "/usr/share/man/"), OSRelease: osr("ID", "debian", "PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)")}, image.BaseSlim, "Debian GNU/Linux 12 (bookworm)"},
		{"debian full", &image.Image{Files: reg("/bin/bash", "/usr/bin/apt-get", "/usr/share/man/man1/ls.1.gz"), OSRelease: osr("ID", "debian", "PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)")}, image.BaseFull, "Debian GNU/Linux 12 (bookworm)"},
		{"ubi minimal", &image.Image{Files: reg("/bin/bash", "/usr/bin/microdnf"), OSRelease: osr("ID", "rhel", "PRETTY_NAME", "Red Hat Enterprise Linux 9.4 (Plow)")}, image.BaseSlim, "Red Hat Enterprise Linux 9.4 (Plow)"},
		{"ubi", &image.Image{Files: reg("/bin/bash", "/usr/bin/microdnf", "/usr/bin/dnf"), OSRelease: osr("ID", "rhel", "PRETTY_NAME", "Red Hat Enterprise Linux 9.4 (Plow)")}, image.BaseFull, "Red Hat Enterprise Linux 9.4 (Plow)"},
	} {
		inv := tc.img.Inventory()
		if inv.Base != tc.base || inv.BaseDetail != tc.detail {
			t.Errorf("%s: got %q (%s), want %q (%s)", tc.name, inv.Base, inv.BaseDetail, tc.base, tc.detail)
		}
	}
}

func TestPlatform(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		img := Image(t, v1.Config{User: arch}, Layer(t, File("arch", arch)))
		if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch})); err != nil {
			t.Fatal(err)
		}
	}
	for plat, want := range map[string]string{"": "amd64", "linux/amd64": "amd64", "linux/arm64": "arm64"} {
		got, err := image.Load(context.Background(), dir, image.LoadOptions{Platform: plat})
		if err != nil {
			t.Fatal(err)
		}
		if got.User != want {
			t.Errorf("platform %q: got %s", plat, got.User)
		}
	}
	_, err = image.Load(context.Background(), dir, image.LoadOptions{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("want an error naming the layout and its platforms, got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, ref := range []string{"./missing.tar", "/nonexistent/layout", "UPPER/case:bad tag"} {
		_, err := image.Load(context.Background(), ref, image.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), ref) {
			t.Errorf("Load(%q): want an error naming it, got %v", ref, err)
		}
	}
	// A directory that is not a layout.
	dir := t.TempDir()
	if _, err := image.Load(context.Background(), dir, image.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("plain directory: %v", err)
	}
}

func TestCorruptLayer(t *testing.T) {
	img := Image(t, v1.Config{}, LayerFromTar(t, []byte("this is not a tar archive, not at all, and longer than a block? no")))
	_, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("want a layer error, got %v", err)
	}
}

// FuzzFlatten feeds arbitrary bytes as a layer: loading, resolving and
// inventorying must never panic.
func FuzzFlatten(f *testing.F) {
	f.Add(Tar(File("bin/busybox", "x"), Symlink("bin/sh", "busybox"), Hardlink("bin/nc", "bin/busybox")))
	f.Add(Tar(Symlink("a", "b"), Symlink("b", "../a"), Opaque("x"), Whiteout("y"), File("etc/passwd", "root:x:0:0")))
	f.Add(Tar(Entry{Name: "../../etc/os-release", Type: tar.TypeReg, Body: "ID=\"\n"}, Entry{Name: "/", Type: tar.TypeDir}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := image.FlattenTar(data)
		if err != nil {
			return
		}
		img.User = "app:1"
		img.Inventory()
		img.ResolveUser()
		for p := range img.Files {
			img.Resolve(p)
			img.Content(p)
		}
	})
}
