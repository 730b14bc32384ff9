// Package imagetest builds real container images for tests, with
// go-containerregistry: layers from tar entries, and the same image
// written as an OCI layout, a docker-archive tarball, or pushed to an
// in-memory registry on loopback.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a layer.
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	Linkname string
	Body     string
	UID, GID int
	// PAX records, for xattrs: "SCHILY.xattr.security.capability".
	PAX map[string]string
}

// File is a regular file with mode 0755.
func File(name, body string) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: 0o755, Body: body}
}

// Dir is a directory.
func Dir(name string) Entry { return Entry{Name: name, Type: tar.TypeDir, Mode: 0o755} }

// Symlink is a symbolic link to target.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Linkname: target}
}

// Hardlink is a hardlink to target (a path of the same layer).
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Mode: 0o755, Linkname: target}
}

// Whiteout deletes name from the layers below.
func Whiteout(name string) Entry {
	dir, base := filepath.Split(name)
	return Entry{Name: dir + ".wh." + base, Type: tar.TypeReg, Mode: 0o644}
}

// Opaque makes dir opaque: the layers below contribute nothing to it.
func Opaque(dir string) Entry {
	return Entry{Name: strings.TrimSuffix(dir, "/") + "/.wh..wh..opq", Type: tar.TypeReg, Mode: 0o644}
}

// Tar returns the tar bytes of entries.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname,
			Uid: e.UID, Gid: e.GID, Size: int64(len(e.Body)), PAXRecords: e.PAX, Format: tar.FormatPAX,
		}
		if e.Type != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				panic(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Layer makes a gzip layer of entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	return LayerFromTar(t, Tar(entries...))
}

// LayerFromTar makes a gzip layer of tar bytes.
func LayerFromTar(t testing.TB, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image makes a linux/amd64 image of layers with cfg.
func Image(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", "amd64", cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// WriteLayout writes img as an OCI layout in a new temporary directory.
func WriteLayout(t testing.TB, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WriteTarball writes img as a docker-archive tarball (`docker save`
// format) and returns its path.
func WriteTarball(t testing.TB, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	tag, err := name.NewTag("example.com/test/image:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// Push serves an in-memory registry on loopback for the test's duration,
// pushes img to it and returns the reference.
func Push(t testing.TB, img v1.Image) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref := u.Host + "/test/image:v1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// Busybox is a busybox-style image: /bin/busybox, applets as symlinks (sh,
// wget, ...) and as hardlinks (chmod, nc, ...), run as root.
func Busybox(t testing.TB) v1.Image {
	t.Helper()
	return Image(t, v1.Config{Cmd: []string{"sh"}},
		Layer(t,
			Dir("bin"), Dir("etc"), Dir("usr"), Dir("usr/bin"),
			File("bin/busybox", "\x7fELF busybox"),
			Symlink("bin/sh", "/bin/busybox"),
			Symlink("bin/ash", "busybox"),
			Symlink("usr/bin/wget", "../../bin/busybox"),
			Hardlink("bin/chmod", "bin/busybox"),
			Hardlink("bin/nc", "bin/busybox"),
			Hardlink("bin/mount", "bin/busybox"),
			File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		))
}

// Distroless is a distroless-style image: no shell, a nonroot user 65532,
// os-release saying Distroless, running as 65532:65532.
func Distroless(t testing.TB) v1.Image {
	t.Helper()
	return Image(t, v1.Config{User: "65532:65532", Entrypoint: []string{"/app"}},
		Layer(t,
			Dir("etc"), Dir("usr"), Dir("usr/lib"), Dir("var"), Dir("var/lib"), Dir("var/lib/dpkg"), Dir("var/lib/dpkg/status.d"),
			File("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
			File("etc/group", "root:x:0:\nnonroot:x:65532:\n"),
			File("usr/lib/os-release", "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\n"),
			Symlink("etc/os-release", "../usr/lib/os-release"),
			File("var/lib/dpkg/status.d/base-files", "Package: base-files\n"),
		),
		Layer(t, File("app", "\x7fELF app")),
	)
}

// Source is one place an image is read from.
type Source struct {
	Kind string // layout, tarball, registry
	Ref  string
}

// Sources writes img as an OCI layout and a docker-archive tarball and
// pushes it to a loopback registry.
func Sources(t testing.TB, img v1.Image) []Source {
	t.Helper()
	return []Source{
		{"layout", WriteLayout(t, img)},
		{"tarball", WriteTarball(t, img)},
		{"registry", Push(t, img)},
	}
}
