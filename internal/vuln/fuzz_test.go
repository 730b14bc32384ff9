package vuln

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/image"
)

// checkPackages: whatever the input, a parser returns packages with a
// name, a version and a PURL, or an error; it never panics.
func checkPackages(t *testing.T, pkgs []Package) {
	t.Helper()
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:") {
			t.Fatalf("incomplete package %+v", p)
		}
		if !utf8.ValidString(p.PURL) || strings.ContainsAny(p.PURL, " \n#") {
			t.Fatalf("PURL %q is not encoded", p.PURL)
		}
	}
}

var debian12 = distro{id: "debian", versionID: "12", ecosystem: Debian, release: "12"}

func FuzzDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1:2~3\nSource: b (4)\n description\n\nPackage: c\nVersion: 1\n"))
	f.Add([]byte(" lead\nx\n\n\n:\nPackage:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parseDpkgStatus(data, "/var/lib/dpkg/status", debian12)
		checkPackages(t, pkgs)
	})
}

func FuzzApkInstalled(f *testing.F) {
	f.Add([]byte("P:musl\nV:1.2.4-r4\no:musl\nL:MIT\nA:x86_64\nF:lib\nR:x\n\nP:b\nV:1_rc1-r0\n"))
	f.Add([]byte("P\n:\n\nV:\n"))
	alpine := distro{id: "alpine", versionID: "3.19.1", ecosystem: Alpine, release: "v3.19"}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parseApkInstalled(data, "/lib/apk/db/installed", alpine)
		checkPackages(t, pkgs)
	})
}

func FuzzPythonMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nClassifier: License :: OSI Approved :: MIT License\n"))
	f.Add([]byte("Name: a_b.C\nVersion: 1.0rc1\nLicense-Expression: MIT\n  continued\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parsePythonMetadata(data, "/x/a-1.dist-info/METADATA")
		checkPackages(t, pkgs)
	})
}

func FuzzNpmPackageJSON(f *testing.F) {
	f.Add([]byte(`{"name":"@s/n","version":"1.0.0","license":{"type":"MIT"}}`))
	f.Add([]byte(`{"name":"x","version":"1","licenses":[{"type":"ISC"}],"license":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parseNpmPackageJSON(data, "/app/node_modules/x/package.json")
		checkPackages(t, pkgs)
	})
}

func FuzzPomProperties(f *testing.F) {
	f.Add([]byte("#Generated\ngroupId=org.example\nartifactId=app\nversion: 1.0\n"), "META-INF/maven/g/a/pom.properties")
	f.Add([]byte("! comment\ngroupId\n=\n"), "a.jar!/META-INF/maven/g/a/pom.properties")
	f.Fuzz(func(t *testing.T, data []byte, member string) {
		pkgs, _ := parsePomProperties(data, "/app.jar", member)
		checkPackages(t, pkgs)
	})
}

// FuzzInventory: any single-layer root filesystem, flattened while its
// package files are captured and then inventoried, gives complete
// packages or errors, never a panic.
func FuzzInventory(f *testing.F) {
	f.Add(layerTar(map[string]string{
		"etc/os-release":       "ID=debian\nVERSION_ID=12\n",
		"var/lib/dpkg/status":  "Package: a\nVersion: 1\n",
		"lib/apk/db/installed": "P:b\nV:2-r0\n",
		"usr/lib/python3/dist-packages/c-1.dist-info/METADATA": "Name: c\nVersion: 1\n\nbody",
		"app/node_modules/d/package.json":                      `{"name":"d","version":"1.0.0"}`,
	}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := image.FlattenTar(data)
		if err != nil {
			return
		}
		pkgs, _ := Inventory(context.Background(), img)
		checkPackages(t, pkgs)
	})
}

// layerTar is a tar of regular files.
func layerTar(files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	return buf.Bytes()
}
