package integrations

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type plugin struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Version          string `yaml:"version"`
		Homepage         string `yaml:"homepage"`
		ShortDescription string `yaml:"shortDescription"`
		Description      string `yaml:"description"`
		Caveats          string `yaml:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			URI    string `yaml:"uri"`
			SHA256 string `yaml:"sha256"`
			Files  []struct {
				From string `yaml:"from"`
				To   string `yaml:"to"`
			} `yaml:"files"`
			Bin string `yaml:"bin"`
		} `yaml:"platforms"`
	} `yaml:"spec"`
}

// releaseArchives writes the archives of a release to dist, as the
// manifest names them: each holds the binary (this host's build, for
// every platform: only its bytes' sha256 matters elsewhere) and returns
// their sha256 by file name.
func releaseArchives(t *testing.T, dist, version string) map[string]string {
	t.Helper()
	exe, err := os.ReadFile(filepath.Join(bin, "kubeharden"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, p := range []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64"} {
		var buf bytes.Buffer
		name := "kubeharden_" + version + "_" + p
		if strings.HasPrefix(p, "windows") {
			name += ".zip"
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("kubeharden.exe")
			w.Write(exe)
			zw.Close()
		} else {
			name += ".tar.gz"
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			tw.WriteHeader(&tar.Header{Name: "kubeharden", Mode: 0o755, Size: int64(len(exe)), Typeflag: tar.TypeReg})
			tw.Write(exe)
			tw.Close()
			gz.Close()
		}
		writeFile(t, filepath.Join(dist, name), buf.String())
		sum := sha256.Sum256(buf.Bytes())
		sums[name] = hex.EncodeToString(sum[:])
	}
	return sums
}

// TestKrewManifest renders the manifest template for a release with
// tools/krew/manifest.sh, checks it the way krew validates a plugin, and
// installs this host's platform as krew does (verify the sha256, unpack,
// copy files, link bin as kubectl-harden onto PATH): then `kubectl
// harden` runs kubeharden, which calls itself so.
func TestKrewManifest(t *testing.T) {
	const version = "v9.8.7"
	dist := t.TempDir()
	sums := releaseArchives(t, dist, version)
	cmd := exec.Command("bash", filepath.Join(root, "tools", "krew", "manifest.sh"), version, dist)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	manifest, err := cmd.Output()
	if err != nil {
		t.Fatalf("manifest.sh: %v\n%s", err, stderr.String())
	}
	if strings.Contains(string(manifest), "${") {
		t.Fatalf("placeholders left:\n%s", manifest)
	}
	var p plugin
	dec := yaml.NewDecoder(bytes.NewReader(manifest))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("manifest: %v\n%s", err, manifest)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "harden" ||
		p.Spec.Version != version || p.Spec.ShortDescription == "" || len(p.Spec.ShortDescription) > 60 || p.Spec.Homepage == "" {
		t.Errorf("manifest header: %+v", p)
	}
	installed := ""
	for _, pl := range p.Spec.Platforms {
		goos, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		archive := path.Base(pl.URI)
		if !strings.HasPrefix(pl.URI, "https://github.com/kubeharden/kubeharden/releases/download/"+version+"/") || sums[archive] == "" {
			t.Errorf("%s/%s: uri %s is not a release archive", goos, arch, pl.URI)
			continue
		}
		if pl.SHA256 != sums[archive] {
			t.Errorf("%s/%s: sha256 %s, want %s", goos, arch, pl.SHA256, sums[archive])
		}
		exe := map[bool]string{true: ".exe"}[goos == "windows"]
		if pl.Bin != "kubectl-harden"+exe || len(pl.Files) != 1 || pl.Files[0].From != "kubeharden"+exe || pl.Files[0].To != pl.Bin {
			t.Errorf("%s/%s: files %+v, bin %s", goos, arch, pl.Files, pl.Bin)
		}
		if goos == runtime.GOOS && arch == runtime.GOARCH {
			installed = install(t, filepath.Join(dist, archive), pl.SHA256, pl.Files[0].From, pl.Bin)
		}
	}
	if len(p.Spec.Platforms) != len(sums) {
		t.Errorf("%d platforms, want %d", len(p.Spec.Platforms), len(sums))
	}
	if installed == "" {
		t.Fatalf("no platform for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	testPlugin(t, installed)
}

// install does what `kubectl krew install` does with one platform's
// archive: check its sha256, unpack it, copy from to bin, and link bin
// into a directory for PATH (krew's ~/.krew/bin). It returns that
// directory.
func install(t *testing.T, archive, sum, from, binName string) string {
	t.Helper()
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		t.Fatal("sha256 mismatch")
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	store := filepath.Join(t.TempDir(), "store", "harden", "v9.8.7")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != from {
			continue
		}
		f, err := os.OpenFile(filepath.Join(store, binName), os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	binDir := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(store, binName), filepath.Join(binDir, "kubectl-harden")); err != nil {
		t.Fatal(err)
	}
	return binDir
}

// testPlugin runs kubeharden as a kubectl plugin from binDir: through
// kubectl itself (which runs kubectl-harden from PATH), and directly.
func testPlugin(t *testing.T, binDir string) {
	t.Helper()
	// make controlplane builds kubectl beside the API server, at its
	// version; a kubectl on PATH does when that is not set.
	kubectl := filepath.Join(os.Getenv("KUBEHARDEN_CONTROLPLANE"), "kubectl")
	if _, err := os.Stat(kubectl); os.Getenv("KUBEHARDEN_CONTROLPLANE") == "" || err != nil {
		var lerr error
		if kubectl, lerr = exec.LookPath("kubectl"); lerr != nil {
			t.Fatalf("kubectl is needed to test the plugin: run make controlplane (it builds kubectl into $KUBEHARDEN_CONTROLPLANE): %v", lerr)
		}
	}
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1", "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
	runIt := func(name string, args ...string) (int, string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return exitCode(t, cmd), out.String()
	}
	code, out := runIt(kubectl, "plugin", "list")
	if !strings.Contains(out, filepath.Join(binDir, "kubectl-harden")) {
		t.Errorf("kubectl plugin list (exit %d) does not list kubectl-harden:\n%s", code, out)
	}
	for _, argv := range [][]string{{kubectl, "harden"}, {filepath.Join(binDir, "kubectl-harden")}} {
		name := strings.Join(argv, " ")
		code, out := runIt(argv[0], append(argv[1:], "--help")...)
		if code != 0 || !strings.Contains(out, "Usage:\n  kubectl harden [command]") || strings.Contains(out, "kubeharden [command]") {
			t.Errorf("%s --help: exit %d\n%s", name, code, out)
		}
		code, out = runIt(argv[0], append(argv[1:], "scan", "--help")...)
		if code != 0 || !strings.Contains(out, "kubectl harden scan PATH...") || !strings.Contains(out, "  kubectl harden scan deploy/") ||
			strings.Contains(out, "kubeharden scan deploy/") {
			t.Errorf("%s scan --help: exit %d\n%s", name, code, out)
		}
		code, out = runIt(argv[0], append(argv[1:], "scan", "examples/insecure-app")...)
		if code != 1 || !strings.Contains(out, "examples/insecure-app/deploy.yaml:") {
			t.Errorf("%s scan examples/insecure-app: exit %d, want 1\n%s", name, code, out)
		}
		code, out = runIt(argv[0], append(argv[1:], "scan", "--bogus", "x")...)
		if code != 2 || !strings.Contains(out, "see 'kubectl harden scan --help'") {
			t.Errorf("%s scan --bogus: exit %d, want 2\n%s", name, code, out)
		}
	}
	// The same binary by its own name is kubeharden.
	cmd := exec.Command(filepath.Join(bin, "kubeharden"), "--help")
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "Usage:\n  kubeharden [command]") {
		t.Errorf("kubeharden --help: %v\n%s", err, out)
	}
}
