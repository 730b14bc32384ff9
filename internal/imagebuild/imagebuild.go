// Package imagebuild builds kubeharden's own container image without a
// daemon: the command is cross-compiled static (CGO_ENABLED=0), and
// go-containerregistry assembles an image FROM scratch holding only what
// the binary needs at run time.
//
// The image has one layer:
//
//	/kubeharden                         the binary, 0555, owned by root
//	/etc/passwd, /etc/group             the nonroot user and group 65532
//	/etc/ssl/certs/ca-certificates.crt  the Mozilla roots, for registries and API servers
//
// and runs as "65532:65532", numeric so the kubelet can verify
// runAsNonRoot, above the default minimum UID (10000) of the image checks.
// Nothing in it is writable or needs to be: it runs with a read-only root
// file system. There is no shell, package manager or other tool.
//
// The CA bundle comes from the Go module golang.org/x/crypto/x509roots/fallback
// (the NSS trust store, pinned in go.mod), not from the build machine, so
// that the image is the same wherever it is built. Roots NSS constrains
// (distrusted after a date) are left out: a PEM file cannot carry the
// constraint.
//
// Builds are reproducible: -trimpath, no VCS stamp, file times and the
// image's creation time from SOURCE_DATE_EPOCH (0 when unset), entries
// in a fixed order. The same commit built with the same Go toolchain
// gives the same digest.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The user the image runs as: distroless's nonroot, a numeric ID at or
// above the image checks' minimum.
const (
	UID = 65532
	GID = 65532
)

// Paths in the image.
const (
	Binary  = "/kubeharden"
	CAFile  = "/etc/ssl/certs/ca-certificates.crt"
	Package = "./cmd/kubeharden"
)

// Options say what to build.
type Options struct {
	// ModuleDir is the root of the kubeharden module.
	ModuleDir string
	// Arch is the GOARCH (amd64, arm64); the OS is always linux.
	Arch string
	// Version is written into the binary (kubeharden version) and the
	// image's version label; "" means "dev".
	Version string
	// Revision is the source commit, for the revision label; may be "".
	Revision string
	// Created is the time of every file and of the image; the zero time
	// means the Unix epoch. SourceDateEpoch reads it the usual way.
	Created time.Time
	// GoBin is the go command; "" means "go" on the PATH.
	GoBin string
	// Stderr receives the compiler's output; nil discards it.
	Stderr io.Writer
}

// SourceDateEpoch returns the time $SOURCE_DATE_EPOCH names, or the
// epoch when it is unset.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build compiles the binary and assembles the image.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	bin, err := Compile(ctx, opts)
	if err != nil {
		return nil, err
	}
	return Assemble(bin, opts)
}

// Compile cross-compiles the static binary and returns it.
func Compile(ctx context.Context, opts Options) ([]byte, error) {
	dir, err := os.MkdirTemp("", "kubeharden-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "kubeharden")
	goBin := opts.GoBin
	if goBin == "" {
		goBin = "go"
	}
	ldflags := "-s -w -X github.com/kubeharden/kubeharden/internal/cli.Version=" + version(opts)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags="+ldflags, "-o", out, Package)
	cmd.Dir = opts.ModuleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+opts.Arch, "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, opts.Stderr)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building %s for linux/%s: %w: %s", Package, opts.Arch, err, strings.TrimSpace(stderr.String()))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	return data, nil
}

func version(opts Options) string {
	if opts.Version == "" {
		return "dev"
	}
	return opts.Version
}

// Assemble makes the image of a linux binary built for opts.Arch.
func Assemble(binary []byte, opts Options) (v1.Image, error) {
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	ca, err := CABundle()
	if err != nil {
		return nil, err
	}
	layerTar, err := rootFS(binary, ca, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making the layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "kubeharden imagebuild: " + Package + " static, CA bundle, nonroot user", Comment: "one layer, FROM scratch"},
	})
	if err != nil {
		return nil, fmt.Errorf("appending the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", opts.Arch
	cf.Created = v1.Time{Time: created}
	cf.Author = "kubeharden"
	cf.Config = v1.Config{
		User:       strconv.Itoa(UID) + ":" + strconv.Itoa(GID),
		Entrypoint: []string{Binary},
		WorkingDir: "/",
		Env:        []string{"SSL_CERT_FILE=" + CAFile},
		Labels:     Labels(opts, created),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	return img, nil
}

// Labels are the image's org.opencontainers.image annotations, as
// config labels.
func Labels(opts Options, created time.Time) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "kubeharden",
		"org.opencontainers.image.description": "Finds and fixes the security weaknesses of Kubernetes workloads",
		"org.opencontainers.image.source":      "https://github.com/kubeharden/kubeharden",
		"org.opencontainers.image.url":         "https://github.com/kubeharden/kubeharden",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     version(opts),
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.base.name":   "scratch",
	}
	if opts.Revision != "" {
		l["org.opencontainers.image.revision"] = opts.Revision
	}
	return l
}

// CABundle returns the unconstrained roots of the NSS trust store as PEM,
// in the module's order.
func CABundle() ([]byte, error) {
	var b bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("the CA bundle module holds no roots")
	}
	return b.Bytes(), nil
}

// entry is a file of the root file system.
type entry struct {
	name     string
	mode     int64
	dir      bool
	body     []byte
	uid, gid int
}

// rootFS is the tar of the only layer, parents before children.
func rootFS(binary, ca []byte, mtime time.Time) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o444, body: []byte(group)},
		{name: "etc/passwd", mode: 0o444, body: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o444, body: ca},
		// The home directory exists for tools that look it up; it is not
		// written to (the root file system is read-only).
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, dir: true, uid: UID, gid: GID},
		{name: "kubeharden", mode: 0o555, body: binary},
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		// USTAR has room for these names and sizes; PAX would add access
		// and change times.
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Uid: e.uid, Gid: e.gid, Format: tar.FormatUSTAR}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("writing %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteLayout writes img as an OCI image layout into dir, which must not
// exist or be empty, and names it ref in index.json
// (org.opencontainers.image.ref.name).
func WriteLayout(dir string, img v1.Image, ref string, arch string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the layout: %w", err)
	}
	opts := []layout.Option{layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch})}
	if ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("writing the layout: %w", err)
	}
	return nil
}

// WriteTarball writes img as a docker-archive tarball (docker load, kind
// load image-archive) tagged ref.
func WriteTarball(path string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Size is what a registry stores of img: its manifest, config and
// compressed layers.
func Size(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}
