package checks

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// imageFindings loads img from src and runs every image check on it,
// returning findings by check ID.
func imageFindings(t *testing.T, src imagetest.Source, cfg *config.Config) map[string][]check.Finding {
	t.Helper()
	img, err := image.Load(context.Background(), src.Ref, image.LoadOptions{Insecure: true})
	if err != nil {
		t.Fatalf("%s: %v", src.Kind, err)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	res := scan.RunImages(context.Background(), []*image.Image{img}, scan.Options{Registry: Registry(), Policy: policy.New(cfg, Registry(), time.Time{})})
	out := map[string][]check.Finding{}
	for _, f := range res.Findings {
		if f.Location.File != src.Ref {
			t.Errorf("%s: finding located at %q, want the reference", f.Check, f.Location.File)
		}
		if f.Message != strings.ToLower(f.Message[:1])+f.Message[1:] || strings.HasSuffix(f.Message, ".") {
			t.Errorf("%s: message %q must start lowercase and not end with a period", f.Check, f.Message)
		}
		out[f.Check] = append(out[f.Check], f)
	}
	return out
}

func imageCheckIDs() []string {
	var ids []string
	for _, c := range Registry().All() {
		if c.Target == check.Images {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func TestImageChecksRegistered(t *testing.T) {
	want := []string{"image-fs-tools", "image-minimal-base", "image-network-tools", "image-package-manager", "image-setuid", "image-shell", "image-user", "image-user-high-uid", "image-vulnerability"}
	got := imageCheckIDs()
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("image checks: %v, want %v", got, want)
	}
}

// TestImageChecksDistroless: a distroless image passes every image check;
// only the base classification is reported, as info.
func TestImageChecksDistroless(t *testing.T) {
	for _, src := range imagetest.Sources(t, imagetest.Distroless(t)) {
		t.Run(src.Kind, func(t *testing.T) {
			got := imageFindings(t, src, nil)
			for id, fs := range got {
				if id != "image-minimal-base" {
					for _, f := range fs {
						t.Errorf("%s: unexpected finding: %s", id, f.Message)
					}
				}
			}
			base := got["image-minimal-base"]
			if len(base) != 1 || base[0].Message != "base is distroless (Distroless)" || base[0].Severity != check.Info || base[0].Path != "/etc/os-release" {
				t.Errorf("image-minimal-base: %+v", base)
			}
		})
	}
}

// TestImageChecksBusybox: busybox applets, as symlinks, as hardlinks and
// in the binary itself, are shells, network and file system tools.
func TestImageChecksBusybox(t *testing.T) {
	for _, src := range imagetest.Sources(t, imagetest.Busybox(t)) {
		t.Run(src.Kind, func(t *testing.T) {
			got := imageFindings(t, src, nil)
			for id, want := range map[string]struct{ path, msg string }{
				"image-shell": {
					"/bin/ash, /bin/busybox, /bin/sh",
					"image contains a shell: /bin/ash -> /bin/busybox; /bin/busybox (busybox applets: ash, hush, sh); /bin/sh -> /bin/busybox",
				},
				"image-network-tools": {
					"/bin/busybox, /bin/nc, /usr/bin/wget",
					"image contains network tools: /bin/busybox (busybox applets: nc, telnet, wget); /bin/nc -> /bin/busybox (hardlink); /usr/bin/wget -> /bin/busybox",
				},
				"image-fs-tools": {
					"/bin/busybox, /bin/chmod, /bin/mount",
					"image contains file system modification tools: /bin/busybox (busybox applets: chattr, chgrp, chmod, chown, mount); /bin/chmod -> /bin/busybox (hardlink); /bin/mount -> /bin/busybox (hardlink)",
				},
				"image-user":          {"config.User", "image runs as root: no user is configured"},
				"image-user-high-uid": {"config.User", "no user is configured, so the image runs as uid 0, below 10000"},
				"image-minimal-base":  {"/", "base is unknown (no os-release, 12 files)"},
			} {
				fs := got[id]
				if len(fs) != 1 || fs[0].Path != want.path || fs[0].Message != want.msg {
					t.Errorf("%s:\n got %+v\nwant path %q message %q", id, fs, want.path, want.msg)
				}
			}
			for _, id := range []string{"image-package-manager", "image-setuid"} {
				if len(got[id]) > 0 {
					t.Errorf("%s: unexpected %+v", id, got[id])
				}
			}
		})
	}
}

func TestImageChecksTools(t *testing.T) {
	suid := imagetest.File("bin/su", "x")
	suid.Mode = 0o4755
	capf := imagetest.File("usr/bin/arping", "x")
	capf.PAX = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00"}
	alpine := imagetest.Image(t, v1.Config{User: "app"},
		imagetest.Layer(t,
			imagetest.File("bin/busybox", "x"), imagetest.Symlink("bin/sh", "/bin/busybox"),
			imagetest.File("sbin/apk", "x"), imagetest.File("usr/bin/curl", "x"), imagetest.File("usr/bin/pip3", "x"),
			imagetest.File("usr/sbin/setcap", "x"),
			suid, capf,
			imagetest.File("etc/os-release", "ID=alpine\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"),
			imagetest.File("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:100:101::/:/sbin/nologin\n"),
		),
		// The hardened layer: removes the package manager and curl again.
		imagetest.Layer(t, imagetest.Whiteout("sbin/apk"), imagetest.Whiteout("usr/bin/curl")),
	)
	got := imageFindings(t, imagetest.Source{Kind: "layout", Ref: imagetest.WriteLayout(t, alpine)}, nil)
	for id, want := range map[string]string{
		"image-package-manager": "image contains a package manager: /usr/bin/pip3",
		"image-network-tools":   "image contains network tools: /bin/busybox (busybox applets: nc, telnet, wget)",
		"image-fs-tools":        "image contains file system modification tools: /bin/busybox (busybox applets: chattr, chgrp, chmod, chown, mount); /usr/sbin/setcap",
		"image-setuid":          "image contains setuid, setgid or capability-bearing files: /bin/su (setuid); /usr/bin/arping (capabilities)",
		"image-user-high-uid":   `image user "app" is not numeric, so the kubelet cannot verify runAsNonRoot (it is uid 100 in /etc/passwd)`,
		"image-minimal-base":    "base is alpine (Alpine Linux v3.20)",
	} {
		if fs := got[id]; len(fs) != 1 || fs[0].Message != want {
			t.Errorf("%s:\n got %+v\nwant %q", id, fs, want)
		}
	}
	if fs := got["image-setuid"]; len(fs) == 1 && fs[0].Path != "/bin/su, /usr/bin/arping" {
		t.Errorf("image-setuid path %q", fs[0].Path)
	}
	if len(got["image-user"]) != 0 {
		t.Errorf("image-user: %+v", got["image-user"])
	}
}

func TestImageChecksUser(t *testing.T) {
	passwd := imagetest.File("etc/passwd", "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\napp:x:101:101::/:/bin/false\n")
	maxCfg := config.Default()
	maxUID := int64(60000)
	maxCfg.Parameters.MaxUID = &maxUID
	for _, tc := range []struct {
		user    string
		cfg     *config.Config
		root    string // image-user message, "" for none
		highUID string // image-user-high-uid message, "" for none
	}{
		{"", nil, "image runs as root: no user is configured", "no user is configured, so the image runs as uid 0, below 10000"},
		{"root", nil, `image runs as root: user "root" is uid 0`, `image user "root" is not numeric, so the kubelet cannot verify runAsNonRoot (it is uid 0 in /etc/passwd)`},
		{"0:0", nil, `image runs as root: user "0:0" is uid 0 (root in /etc/passwd)`, `image user "0:0" is uid 0, below 10000`},
		{"toor", nil, `image runs as root: user "toor" is uid 0`, `image user "toor" is not numeric, so the kubelet cannot verify runAsNonRoot (it is uid 0 in /etc/passwd)`},
		{"app", nil, "", `image user "app" is not numeric, so the kubelet cannot verify runAsNonRoot (it is uid 101 in /etc/passwd)`},
		{"ghost", nil, "", `image user "ghost" is not numeric, so the kubelet cannot verify runAsNonRoot (and /etc/passwd does not define it)`},
		{"101", nil, "", `image user "101" is uid 101, below 10000`},
		{"1000:1000", nil, "", `image user "1000:1000" is uid 1000, below 10000`},
		{"60096:60096", nil, "", ""},
		{"60096", maxCfg, "", `image user "60096" is uid 60096, above 60000`},
	} {
		img := imagetest.Image(t, v1.Config{User: tc.user}, imagetest.Layer(t, passwd))
		got := imageFindings(t, imagetest.Source{Kind: "layout", Ref: imagetest.WriteLayout(t, img)}, tc.cfg)
		for id, want := range map[string]string{"image-user": tc.root, "image-user-high-uid": tc.highUID} {
			fs := got[id]
			switch {
			case want == "" && len(fs) > 0:
				t.Errorf("user %q: %s: unexpected %q", tc.user, id, fs[0].Message)
			case want != "" && (len(fs) != 1 || fs[0].Message != want || fs[0].Path != "config.User"):
				t.Errorf("user %q: %s:\n got %+v\nwant %q", tc.user, id, fs, want)
			}
		}
	}
}
