package vuln_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// A dpkg status as dpkg writes it: an epoch, a tilde, a binNMU source
// version, a package removed but whose configuration is kept, and
// multi-line fields.
const dpkgStatus = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Conffiles:
 /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: openssl
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1
Description: Secure Sockets Layer toolkit - cryptographic utility

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+deb12u1
Description: basic utilities from 4.4BSD-Lite

Package: tzdata
Status: deinstall ok config-files
Architecture: all
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
`

// An apk installed database as apk writes it (per-file F:/R:/Z: lines
// included).
const apkInstalled = `C:Q1Fp2Ok/MVy1J/bEsbSQHq4iVdBDg=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705312398
c:ca7f2ab5e88794e4e654b40776f8a92256f1bd38
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1Dbd3+Y5b7a6t7w4JdTy3xkT2+7w=
R:libc.musl-x86_64.so.1

C:Q1tkp3OVZiyPTvy6vDeRTqD6S1ZUM=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
F:lib
R:libcrypto.so.3

C:Q1abc=
P:busybox
V:1.36.1-r15
A:x86_64
L:GPL-2.0-only
o:busybox
`

const pythonMetadata = `Metadata-Version: 2.1
Name: requests
Version: 2.31.0
Summary: Python HTTP for Humans.
License: Apache 2.0
Classifier: License :: OSI Approved :: Apache Software License
Requires-Dist: urllib3 (<3,>=1.21.1)

# Requests

License: this line is in the description and must not be read
`

const pythonMetadataExpression = "Metadata-Version: 2.4\nName: Jinja2\nVersion: 3.1.3rc1\nLicense-Expression: BSD-3-Clause\n"

// jar makes a zip with members.
func jar(t testing.TB, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goBinary builds a real Go program that uses github.com/spf13/pflag
// (from the module cache: no network) for linux/amd64 unless goarch says
// otherwise, with the extra build flags, and returns its bytes.
func goBinary(t testing.TB, goarch string, flags ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(l, "github.com/spf13/pflag v1.0.10 ") || strings.HasPrefix(l, "github.com/spf13/pflag v1.0.10/") {
			lines = append(lines, l)
		}
	}
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n\nrequire github.com/spf13/pflag v1.0.10\n",
		"go.sum":  strings.Join(lines, "\n") + "\n",
		"main.go": "package main\n\nimport \"github.com/spf13/pflag\"\n\nfunc main() { pflag.Parse() }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	if goarch == "" {
		goarch = "amd64"
	}
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath"}, flags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func exe(name string, body []byte) Entry {
	return Entry{Name: name, Type: 0x30, Mode: 0o755, Body: string(body)}
}

func reg(name string, body []byte) Entry {
	return Entry{Name: name, Type: 0x30, Mode: 0o644, Body: string(body)}
}

// stdlib is the stdlib package of a binary built by this toolchain.
func stdlib(path string) vuln.Package {
	v := "v" + strings.TrimPrefix(runtime.Version(), "go")
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	return vuln.Package{Name: "stdlib", Version: v, Ecosystem: vuln.Go, Path: path, PURL: "pkg:golang/stdlib@" + v}
}

// TestInventoryDebian: a Debian image with a dpkg database replaced by an
// upper layer, a distroless status.d, Python, npm and Maven packages (one
// npm package deleted by a whiteout), and a real Go binary, read from every
// source kind.
func TestInventoryDebian(t *testing.T) {
	bin := goBinary(t, "")
	stripped := goBinary(t, "", "-ldflags=-s -w")
	// A position-independent executable keeps .go.buildinfo in its
	// second writable segment. (32-bit and big-endian ELF layouts are
	// covered by the image package's TestReadGoBuildInfo.)
	pie := goBinary(t, "", "-buildmode=pie")
	appJAR := jar(t, map[string][]byte{
		"META-INF/MANIFEST.MF":                          []byte("Manifest-Version: 1.0\n"),
		"META-INF/maven/org.example/app/pom.properties": []byte("#Generated by Maven\nartifactId=app\ngroupId=org.example\nversion=1.4.2\n"),
		"META-INF/maven/org.example/app/pom.xml":        []byte("<project/>"),
		"BOOT-INF/lib/log4j-core-2.14.1.jar": jar(t, map[string][]byte{
			"META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties": []byte("version=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n"),
		}),
		"BOOT-INF/classes/application.properties": []byte("x=y\n"),
	})
	img := Image(t, v1.Config{},
		Layer(t,
			File("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n"),
			reg("var/lib/dpkg/status", []byte("Package: old\nStatus: install ok installed\nVersion: 1\n")),
			reg("var/lib/dpkg/status.d/base-files", []byte("Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n")),
			reg("var/lib/dpkg/status.d/base-files.md5sums", []byte("d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n")),
			reg("app/node_modules/left-pad/package.json", []byte(`{"name":"left-pad","version":"1.3.0","license":"WTFPL"}`)),
		),
		Layer(t,
			reg("var/lib/dpkg/status", []byte(dpkgStatus)),
			reg("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", []byte(pythonMetadata)),
			reg("usr/local/lib/python3.12/site-packages/Jinja2-3.1.3rc1.dist-info/METADATA", []byte(pythonMetadataExpression)),
			reg("usr/lib/python3/dist-packages/PyYAML-6.0.1.egg-info", []byte("Metadata-Version: 1.2\nName: PyYAML\nVersion: 6.0.1\nLicense: MIT\n")),
			reg("usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", []byte("Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n")),
			reg("app/node_modules/lodash/package.json", []byte(`{"name":"lodash","version":"4.17.20","license":{"type":"MIT"}}`)),
			reg("app/node_modules/lodash/test/package.json", []byte(`{"name":"fixture","version":"0.0.0"}`)),
			reg("app/node_modules/@types/node/package.json", []byte(`{"name":"@types/node","version":"20.11.5","licenses":[{"type":"MIT"}]}`)),
			reg("app/node_modules/a/node_modules/minimist/package.json", []byte(`{"name":"minimist","version":"0.0.8"}`)),
			reg("app/node_modules/esm/package.json", []byte(`{"type":"module"}`)),
			reg("app/package.json", []byte(`{"name":"the-app","version":"1.0.0"}`)),
			Whiteout("app/node_modules/left-pad"),
			reg("app/app.jar", appJAR),
			exe("usr/local/bin/hello", bin),
			exe("usr/local/bin/hello-stripped", stripped),
			exe("usr/local/bin/hello-pie", pie),
			exe("usr/local/bin/script", []byte("#!/bin/sh\necho \xff Go buildinf:\n")),
		),
	)
	deb := func(name, version, arch, srcName, srcVersion, path string) vuln.Package {
		up := ""
		if srcName != "" {
			up = "&upstream=" + srcName
		}
		return vuln.Package{
			Name: name, Version: version, Ecosystem: vuln.Debian, Release: "12", SourceName: srcName, SourceVersion: srcVersion, Path: path,
			PURL: "pkg:deb/debian/" + name + "@" + strings.ReplaceAll(strings.ReplaceAll(version, ":", "%3A"), "+", "%2B") + "?arch=" + arch + "&distro=debian-12" + up,
		}
	}
	const status = "/var/lib/dpkg/status"
	gomod := func(path string) []vuln.Package {
		return []vuln.Package{
			{Name: "github.com/spf13/pflag", Version: "v1.0.10", Ecosystem: vuln.Go, Path: path, PURL: "pkg:golang/github.com/spf13/pflag@v1.0.10"},
			stdlib(path),
		}
	}
	var want []vuln.Package
	want = append(want,
		deb("base-files", "12.4+deb12u5", "amd64", "", "", "/var/lib/dpkg/status.d/base-files"),
		deb("bsdutils", "1:2.38.1-5+deb12u1", "amd64", "util-linux", "2.38.1-5", status),
		deb("libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4", status),
		deb("openssl", "3.0.11-1~deb12u2+b1", "amd64", "openssl", "3.0.11-1~deb12u2", status),
		deb("zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib", "1:1.2.13.dfsg-1", status),
	)
	// By name, then path: pflag of each binary, then stdlib of each.
	bins := []string{"/usr/local/bin/hello", "/usr/local/bin/hello-pie", "/usr/local/bin/hello-stripped"}
	for i := range 2 {
		for _, b := range bins {
			want = append(want, gomod(b)[i])
		}
	}
	want = append(want,
		vuln.Package{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: vuln.Maven, Path: "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		vuln.Package{Name: "org.example:app", Version: "1.4.2", Ecosystem: vuln.Maven, Path: "/app/app.jar", PURL: "pkg:maven/org.example/app@1.4.2"},
		vuln.Package{Name: "Jinja2", Version: "3.1.3rc1", Ecosystem: vuln.PyPI, Path: "/usr/local/lib/python3.12/site-packages/Jinja2-3.1.3rc1.dist-info", PURL: "pkg:pypi/jinja2@3.1.3rc1", Licenses: []string{"BSD-3-Clause"}},
		vuln.Package{Name: "PyYAML", Version: "6.0.1", Ecosystem: vuln.PyPI, Path: "/usr/lib/python3/dist-packages/PyYAML-6.0.1.egg-info", PURL: "pkg:pypi/pyyaml@6.0.1", Licenses: []string{"MIT"}},
		vuln.Package{Name: "requests", Version: "2.31.0", Ecosystem: vuln.PyPI, Path: "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info", PURL: "pkg:pypi/requests@2.31.0", Licenses: []string{"Apache 2.0"}},
		vuln.Package{Name: "six", Version: "1.16.0", Ecosystem: vuln.PyPI, Path: "/usr/lib/python3/dist-packages/six-1.16.0.egg-info", PURL: "pkg:pypi/six@1.16.0"},
		vuln.Package{Name: "@types/node", Version: "20.11.5", Ecosystem: vuln.Npm, Path: "/app/node_modules/@types/node/package.json", PURL: "pkg:npm/%40types/node@20.11.5", Licenses: []string{"MIT"}},
		vuln.Package{Name: "lodash", Version: "4.17.20", Ecosystem: vuln.Npm, Path: "/app/node_modules/lodash/package.json", PURL: "pkg:npm/lodash@4.17.20", Licenses: []string{"MIT"}},
		vuln.Package{Name: "minimist", Version: "0.0.8", Ecosystem: vuln.Npm, Path: "/app/node_modules/a/node_modules/minimist/package.json", PURL: "pkg:npm/minimist@0.0.8"},
	)
	forEachSource(t, img, func(t *testing.T, got []vuln.Package, err error) {
		if err != nil {
			t.Fatal(err)
		}
		diffPackages(t, got, want)
	})
}

// TestInventoryAlpine: apk's installed database, the release as OSV
// spells Alpine's (v3.19).
func TestInventoryAlpine(t *testing.T) {
	img := Image(t, v1.Config{},
		Layer(t,
			File("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n"),
			reg("lib/apk/db/installed", []byte(apkInstalled)),
		))
	apk := func(name, version, origin, license string) vuln.Package {
		p := vuln.Package{Name: name, Version: version, Ecosystem: vuln.Alpine, Release: "v3.19", Path: "/lib/apk/db/installed", Licenses: []string{license}}
		up := ""
		if origin != name {
			p.SourceName, p.SourceVersion = origin, version
			up = "&upstream=" + origin
		}
		p.PURL = "pkg:apk/alpine/" + name + "@" + version + "?arch=x86_64&distro=alpine-3.19.1" + up
		return p
	}
	want := []vuln.Package{
		apk("busybox", "1.36.1-r15", "busybox", "GPL-2.0-only"),
		apk("libcrypto3", "3.1.4-r5", "openssl", "Apache-2.0"),
		apk("musl", "1.2.4_git20230717-r4", "musl", "MIT"),
	}
	forEachSource(t, img, func(t *testing.T, got []vuln.Package, err error) {
		if err != nil {
			t.Fatal(err)
		}
		diffPackages(t, got, want)
	})
}

// TestInventoryLimit: package files past --max-inventory-size are an
// error naming the file and the limit; the others are still listed.
func TestInventoryLimit(t *testing.T) {
	img := Image(t, v1.Config{},
		Layer(t,
			reg("app/node_modules/small/package.json", []byte(`{"name":"small","version":"1.0.0"}`)),
			reg("var/lib/dpkg/status", []byte(dpkgStatus)),
		))
	ctx := limits.With(context.Background(), limits.Limits{InventorySize: 512})
	loaded, err := image.Load(ctx, WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := vuln.Inventory(ctx, loaded)
	if err == nil || !strings.Contains(err.Error(), "/var/lib/dpkg/status (") || !strings.Contains(err.Error(), "--max-inventory-size") {
		t.Errorf("error = %v, want one naming the status file and the limit", err)
	}
	if len(got) != 1 || got[0].Name != "small" {
		t.Errorf("packages = %+v, want small only", got)
	}
}

// TestInventoryBadFiles: a corrupt database gives errors with file and
// line, and the good files are still read.
func TestInventoryBadFiles(t *testing.T) {
	img := Image(t, v1.Config{},
		Layer(t,
			reg("var/lib/dpkg/status", []byte("Package: ok\nVersion: 1.0\n\ngarbage line\nPackage: nover\n")),
			reg("lib/apk/db/installed", []byte("P:x\nV:1\n\nnot apk\n")),
			reg("app/node_modules/broken/package.json", []byte(`{"name":`)),
			reg("app/lib.jar", []byte("PK not a zip")),
		))
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := vuln.Inventory(context.Background(), loaded)
	for _, want := range []string{
		"/var/lib/dpkg/status:4: not a field",
		"/var/lib/dpkg/status:5: package without Package or Version",
		"/lib/apk/db/installed:4: not a K:value line",
		"/app/node_modules/broken/package.json: unexpected end of JSON input",
		"/app/lib.jar: reading JAR: zip: not a valid zip file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "x,ok" {
		t.Errorf("packages %v, want x (Alpine), ok (Debian)", names)
	}
}

func forEachSource(t *testing.T, img v1.Image, f func(t *testing.T, got []vuln.Package, err error)) {
	t.Helper()
	for _, src := range Sources(t, img) {
		t.Run(src.Kind, func(t *testing.T) {
			loaded, err := image.Load(context.Background(), src.Ref, image.LoadOptions{Insecure: true, Packages: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := vuln.Inventory(context.Background(), loaded)
			f(t, got, err)
		})
	}
}

func diffPackages(t *testing.T, got, want []vuln.Package) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	t.Errorf("got %d packages, want %d", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w vuln.Package
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("[%d]\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// TestInventoryNotRead: an image loaded without its package files is an
// error, not an empty inventory, and nothing was kept for it.
func TestInventoryNotRead(t *testing.T) {
	img := Image(t, v1.Config{}, Layer(t, reg("var/lib/dpkg/status", []byte(dpkgStatus))))
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if loaded.PackagesRead() || len(loaded.PackageFiles()) != 0 {
		t.Errorf("package files kept without LoadOptions.Packages: %d", len(loaded.PackageFiles()))
	}
	if _, err := vuln.Inventory(context.Background(), loaded); err == nil || !strings.Contains(err.Error(), "loaded without its package files") {
		t.Errorf("error = %v", err)
	}
}
