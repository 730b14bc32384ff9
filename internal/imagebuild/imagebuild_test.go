package imagebuild_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/cli"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/imagebuild"
)

var (
	buildOnce sync.Once
	built     v1.Image
	buildErr  error
)

// image builds the image once for the package's tests, for the machine's
// architecture so that its binary can run here.
func image(t *testing.T) v1.Image {
	t.Helper()
	buildOnce.Do(func() {
		built, buildErr = imagebuild.Build(context.Background(), imagebuild.Options{
			ModuleDir: filepath.Join("..", ".."), Arch: runtime.GOARCH, Version: "v0.0.0-test",
			Created: time.Unix(1700000000, 0).UTC(),
		})
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// files returns the layer's entries by name, with their bodies.
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	hdrs, bodies := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name], bodies[h.Name] = h, b
	}
	return hdrs, bodies
}

// TestImageInspectsClean: `kubeharden image` on the OCI layout of the
// image reports nothing but the base classification (info, always
// reported): no shell, package manager, network or file system tools,
// setuid files, and a numeric user at or above the minimum UID.
func TestImageInspectsClean(t *testing.T) {
	img := image(t)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := imagebuild.WriteLayout(dir, img, "ghcr.io/kubeharden/kubeharden:test", runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"image", "-o", "json", "--fail-on", "low", "--platform", "linux/" + runtime.GOARCH, dir}, strings.NewReader(""), &stdout, &stderr)
	if code != cli.ExitOK {
		t.Fatalf("kubeharden image: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var doc struct {
		Findings []struct{ Check, Severity, Message string }
		Images   []struct {
			User      string
			Inventory struct {
				Base                                                   string
				Shells, PackageManagers, NetworkTools, FSTools, Setuid []string
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Findings {
		if f.Check != "image-minimal-base" || f.Severity != "info" || !strings.HasPrefix(f.Message, "base is scratch") {
			t.Errorf("unexpected finding %+v", f)
		}
	}
	if len(doc.Images) != 1 {
		t.Fatalf("images: %+v", doc.Images)
	}
	im := doc.Images[0]
	inv := im.Inventory
	if inv.Base != "scratch" || len(inv.Shells)+len(inv.PackageManagers)+len(inv.NetworkTools)+len(inv.FSTools)+len(inv.Setuid) > 0 {
		t.Errorf("inventory: %+v", inv)
	}
	uid, err := strconv.ParseInt(strings.Split(im.User, ":")[0], 10, 64)
	if err != nil {
		t.Fatalf("user %q is not numeric", im.User)
	}
	minUID := int64(10000)
	if p := config.Default().Parameters.MinUID; p != nil {
		minUID = *p
	}
	if uid < minUID || uid == 0 {
		t.Errorf("user %q below the minimum UID %d", im.User, minUID)
	}
}

// TestImageContents: exactly the binary, the passwd and group files and
// the CA bundle; the binary static (no ELF interpreter, no dynamic
// section), read-only and runnable; the config runs it as the numeric
// nonroot user.
func TestImageContents(t *testing.T) {
	img := image(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/kubeharden" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config: user %q entrypoint %q platform %s/%s", cf.Config.User, cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	if cf.Config.Labels["org.opencontainers.image.version"] != "v0.0.0-test" || cf.Config.Labels["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
		t.Errorf("labels: %v", cf.Config.Labels)
	}
	hdrs, bodies := files(t, img)
	var names []string
	for n, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			names = append(names, n)
		}
		if !h.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: time %v, want SOURCE_DATE_EPOCH", n, h.ModTime)
		}
		if h.Mode&0o6000 != 0 || (h.Typeflag == tar.TypeReg && h.Mode&0o222 != 0) {
			t.Errorf("%s: mode %o: a file is writable, setuid or setgid", n, h.Mode)
		}
	}
	if got := strings.Join(slices.Sorted(slices.Values(names)), " "); got != "etc/group etc/passwd etc/ssl/certs/ca-certificates.crt kubeharden" {
		t.Errorf("files: %s", got)
	}
	if h := hdrs["kubeharden"]; h.Mode != 0o555 || h.Uid != 0 {
		t.Errorf("binary: mode %o uid %d", h.Mode, h.Uid)
	}
	if !strings.Contains(string(bodies["etc/passwd"]), "nonroot:x:65532:65532:") || !strings.Contains(string(bodies["etc/group"]), "nonroot:x:65532:") {
		t.Errorf("passwd/group:\n%s%s", bodies["etc/passwd"], bodies["etc/group"])
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bodies["etc/ssl/certs/ca-certificates.crt"]) || len(pool.Subjects()) < 100 { //nolint:staticcheck // counting, not trusting
		t.Errorf("CA bundle holds %d roots", len(pool.Subjects())) //nolint:staticcheck // counting
	}

	bin := bodies["kubeharden"]
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary is not static: it has a %v program header", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary links %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("binary is not stripped (-s -w)")
	}

	// The binary from the layer runs, with an empty environment and a
	// read-only file: it needs nothing of the image but itself.
	path := filepath.Join(t.TempDir(), "kubeharden")
	if err := os.WriteFile(path, bin, 0o555); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "version")
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "kubeharden v0.0.0-test (go") {
		t.Errorf("kubeharden version: %v: %s", err, out)
	}
}

// TestImageReproducible: the same inputs give the same digest: the layer
// and config depend on nothing but the binary and the options.
func TestImageReproducible(t *testing.T) {
	img := image(t)
	_, bodies := files(t, img)
	opts := imagebuild.Options{Arch: runtime.GOARCH, Version: "v0.0.0-test", Created: time.Unix(1700000000, 0).UTC()}
	again, err := imagebuild.Assemble(bodies["kubeharden"], opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s, %s", d1, d2)
	}
	opts.Created = time.Unix(1700000001, 0)
	other, err := imagebuild.Assemble(bodies["kubeharden"], opts)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := other.Digest(); d3 == d1 {
		t.Errorf("another creation time gives the same digest")
	}
	// The tarball is loadable by docker load and kind: one image, tagged.
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := imagebuild.WriteTarball(tarPath, img, "ghcr.io/kubeharden/kubeharden:test"); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main(context.Background(), []string{"image", "--fail-on", "low", "--platform", "linux/" + runtime.GOARCH, tarPath}, strings.NewReader(""), &stdout, &stderr); code != cli.ExitOK {
		t.Errorf("kubeharden image on the tarball: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
