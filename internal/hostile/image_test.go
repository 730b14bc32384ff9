package hostile_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	it "github.com/kubeharden/kubeharden/internal/image/imagetest"
)

// shellImage is an image whose second layer holds a shell and curl: what
// a hostile image would like to hide from the scanner.
func shellImage(t *testing.T) v1.Image {
	t.Helper()
	return it.Image(t, v1.Config{Cmd: []string{"/app"}},
		it.Layer(t, it.Dir("bin"), it.File("app", "\x7fELF app")),
		it.Layer(t, it.Dir("usr"), it.Dir("usr/bin"), it.File("bin/sh", "\x7fELF sh"), it.File("usr/bin/curl", "\x7fELF curl")),
	)
}

// goodImage writes a valid image as a docker archive: the one that must
// still be inspected after a hostile one.
func goodImage(t *testing.T) string {
	t.Helper()
	return it.WriteTarball(t, it.Busybox(t))
}

// wantGood asserts that the good image was inspected.
func wantGood(t *testing.T, r result) {
	t.Helper()
	if !strings.Contains(r.stdout, "/bin/sh -> /bin/busybox") {
		t.Errorf("the good image after the hostile one was not inspected\nstdout: %s\nstderr: %s", tail(r.stdout), tail(r.stderr))
	}
}

// wantLayers asserts the text report's layer count.
func wantLayers(t *testing.T, r result, n int) {
	t.Helper()
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^\s*layers:\s+%d$`, n)).MatchString(r.stdout) {
		t.Errorf("report lacks layers: %d\nstdout: %s", n, tail(r.stdout))
	}
}

// sha is the sha256 digest of data.
func sha(data []byte) v1.Hash {
	s := sha256.Sum256(data)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// layoutParts reads the manifest of the single image of an OCI layout.
func layoutParts(t *testing.T, dir string) (*v1.IndexManifest, *v1.Manifest) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mdata, err := os.ReadFile(blobPath(dir, idx.Manifests[0].Digest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(mdata))
	if err != nil {
		t.Fatal(err)
	}
	return idx, m
}

func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// rewriteManifest stores m as the layout's manifest, with index.json
// pointing at it, as a hostile layout would be written.
func rewriteManifest(t *testing.T, dir string, idx *v1.IndexManifest, m *v1.Manifest) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h := sha(data)
	if err := os.WriteFile(blobPath(dir, h), data, 0o644); err != nil {
		t.Fatal(err)
	}
	idx.Manifests[0].Digest, idx.Manifests[0].Size = h, int64(len(data))
	data, err = json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace makes p whatever make makes instead of its blob.
func replace(t *testing.T, p string, make func(p string) error) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

// TestImageFIFO: a FIFO as an image tarball, or as a blob of an OCI
// layout, is an input error, never a read that blocks forever.
func TestImageFIFO(t *testing.T) {
	mkfifo := func(p string) error { return syscall.Mkfifo(p, 0o644) }
	dir := t.TempDir()
	if err := mkfifo(filepath.Join(dir, "fifo.tar")); err != nil {
		t.Fatal(err)
	}
	good := goodImage(t)
	r := run(t, dir, nil, "image", "fifo.tar", good)
	r.want(t, 2, "fifo.tar", "not a regular file")
	wantGood(t, r)

	for _, blob := range []string{"index.json", "manifest", "config", "layer"} {
		t.Run(blob, func(t *testing.T) {
			lay := it.WriteLayout(t, shellImage(t))
			idx, m := layoutParts(t, lay)
			p := filepath.Join(lay, "index.json")
			switch blob {
			case "manifest":
				p = blobPath(lay, idx.Manifests[0].Digest)
			case "config":
				p = blobPath(lay, m.Config.Digest)
			case "layer":
				p = blobPath(lay, m.Layers[1].Digest)
			}
			replace(t, p, mkfifo)
			r := run(t, "", nil, "image", lay, good)
			r.want(t, 2, "loading image "+lay, "not a regular file")
			wantGood(t, r)
		})
	}
}

// TestImageConfigBlob: a config blob that is /dev/zero, a file far larger
// than its descriptor says, or a descriptor past --max-blob-size is
// refused without reading it whole.
func TestImageConfigBlob(t *testing.T) {
	good := goodImage(t)
	t.Run("dev-zero", func(t *testing.T) {
		lay := it.WriteLayout(t, shellImage(t))
		_, m := layoutParts(t, lay)
		replace(t, blobPath(lay, m.Config.Digest), func(p string) error { return os.Symlink("/dev/zero", p) })
		r := run(t, "", nil, "image", lay, good)
		r.want(t, 2, "loading image "+lay, "not a regular file")
		wantGood(t, r)
	})
	t.Run("3GB-file", func(t *testing.T) {
		lay := it.WriteLayout(t, shellImage(t))
		_, m := layoutParts(t, lay)
		// Sparse: 3 GB to read, nothing on disk.
		if err := os.Truncate(blobPath(lay, m.Config.Digest), 3<<30); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", nil, "image", lay, good)
		r.want(t, 2, "loading image "+lay, "does not match its digest")
		wantGood(t, r)
	})
	t.Run("3GB-descriptor", func(t *testing.T) {
		lay := it.WriteLayout(t, shellImage(t))
		idx, m := layoutParts(t, lay)
		p := blobPath(lay, m.Config.Digest)
		if err := os.Truncate(p, 3<<30); err != nil {
			t.Fatal(err)
		}
		m.Config.Size = 3 << 30
		rewriteManifest(t, lay, idx, m)
		r := run(t, "", nil, "image", lay, good)
		r.want(t, 2, "loading image "+lay, "image metadata blob limit of 8 MiB", "--max-blob-size")
		wantGood(t, r)
	})
	t.Run("archive", func(t *testing.T) {
		cfg := `{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]},"pad":"` + strings.Repeat("x", 9<<20) + `"}`
		p := writeArchive(t, `[{"Config":"config.json","Layers":[]}]`, map[string][]byte{"config.json": []byte(cfg)})
		r := run(t, "", nil, "image", p, good)
		r.want(t, 2, "loading image "+p, "image metadata blob limit of 8 MiB", "--max-blob-size")
		wantGood(t, r)
	})
}

// writeArchive writes a docker archive of manifest.json and files.
func writeArchive(t *testing.T, manifest string, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		add(name, data)
	}
	add("manifest.json", []byte(manifest))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dockerSave writes img as `docker save` would (uncompressed layers,
// config named by its digest), with edit changing the config and the
// layer list first.
func dockerSave(t *testing.T, img v1.Image, edit func(cf *v1.ConfigFile, layers *[]string)) string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		n := fmt.Sprintf("layer%d/layer.tar", i)
		files[n] = data
		names = append(names, n)
	}
	if edit != nil {
		edit(cf, &names)
	}
	cfg, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	cfgName := sha(cfg).Hex + ".json"
	files[cfgName] = cfg
	man, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"x:1"}, "Layers": names}})
	if err != nil {
		t.Fatal(err)
	}
	return writeArchive(t, string(man), files)
}

// TestImageHiddenLayers: every way of showing the scanner fewer layers
// or other content than the runtime gets is an input error.
func TestImageHiddenLayers(t *testing.T) {
	good := goodImage(t)
	t.Run("valid", func(t *testing.T) {
		p := dockerSave(t, shellImage(t), nil)
		r := run(t, "", nil, "image", "--fail-on", "none", p)
		r.want(t, 0, "/bin/sh", "/usr/bin/curl")
		wantLayers(t, r, 2)
	})
	t.Run("fewer-diff-ids", func(t *testing.T) {
		p := dockerSave(t, shellImage(t), func(cf *v1.ConfigFile, _ *[]string) { cf.RootFS.DiffIDs = cf.RootFS.DiffIDs[:0] })
		r := run(t, "", nil, "image", p, good)
		r.want(t, 2, "loading image "+p, "the config lists 0 diff_ids for 2 layers")
		wantGood(t, r)
	})
	t.Run("missing-layer-file", func(t *testing.T) {
		p := dockerSave(t, shellImage(t), func(_ *v1.ConfigFile, names *[]string) { (*names)[1] = "missing/layer.tar" })
		r := run(t, "", nil, "image", p, good)
		r.want(t, 2, "loading image "+p, "layer 1: missing/layer.tar: not in the archive")
		wantGood(t, r)
	})
	t.Run("archive-layer-tampered", func(t *testing.T) {
		// The config's diff_ids name other content than the layers hold.
		other := it.Image(t, v1.Config{}, it.Layer(t, it.File("a", "a")), it.Layer(t, it.File("b", "b")))
		ocf, err := other.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p := dockerSave(t, shellImage(t), func(cf *v1.ConfigFile, _ *[]string) { cf.RootFS.DiffIDs = ocf.RootFS.DiffIDs })
		r := run(t, "", nil, "image", p, good)
		r.want(t, 2, "loading image "+p, "does not match its digest")
		wantGood(t, r)
	})
	for _, blob := range []string{"layer", "config"} {
		t.Run("layout-"+blob+"-tampered", func(t *testing.T) {
			lay := it.WriteLayout(t, shellImage(t))
			_, m := layoutParts(t, lay)
			p := blobPath(lay, m.Layers[0].Digest)
			if blob == "config" {
				p = blobPath(lay, m.Config.Digest)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, "", nil, "image", lay, good)
			r.want(t, 2, "loading image "+lay, "does not match its digest")
			wantGood(t, r)
		})
	}
	t.Run("layout-fewer-diff-ids", func(t *testing.T) {
		lay := it.WriteLayout(t, shellImage(t))
		idx, m := layoutParts(t, lay)
		m.Layers = m.Layers[:1]
		rewriteManifest(t, lay, idx, m)
		r := run(t, "", nil, "image", lay, good)
		r.want(t, 2, "loading image "+lay, "the config lists 2 diff_ids for 1 layers")
		wantGood(t, r)
	})
}

// deepLayerImage is a docker save whose layer has entries paths deep,
// each under its own top directory.
func deepLayerImage(t *testing.T, entries, depth int) string {
	t.Helper()
	var es []it.Entry
	for i := range entries {
		es = append(es, it.File(fmt.Sprintf("d%d/", i)+strings.Repeat("a/", depth-2)+"f", "x"))
	}
	return dockerSave(t, it.Image(t, v1.Config{}, it.Layer(t, es...)), nil)
}

// TestImageDeepPaths: very deep layer paths are refused past
// --max-path-depth, naming the image, the layer and the limit; under a
// raised limit they cost time linear in their length.
func TestImageDeepPaths(t *testing.T) {
	p := deepLayerImage(t, 5, 450_000)
	good := goodImage(t)
	r := run(t, "", nil, "image", p, good)
	r.want(t, 2, "loading image "+p, "layer 0", "layer path depth limit of 512", "--max-path-depth")
	wantGood(t, r)
	if r.took > 10*time.Second {
		t.Errorf("took %s", r.took)
	}
	r = run(t, "", nil, "image", "--fail-on", "none", "--max-path-depth", "1000000", p)
	r.want(t, 0)
	wantLayers(t, r, 1)
	if r.took > 15*time.Second {
		t.Errorf("with the limit raised, 5 entries of depth 450000 took %s: not linear", r.took)
	}
}

// hangingRegistry accepts connections on loopback and never answers.
func hangingRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// TestImageRegistryNeverAnswers: a registry that accepts the connection
// and never answers is an input error after --network-timeout, and the
// images after it are still inspected.
func TestImageRegistryNeverAnswers(t *testing.T) {
	host := hangingRegistry(t)
	good := goodImage(t)
	r := run(t, "", nil, "image", "--insecure", "--network-timeout", "1s", host+"/app:1", good)
	r.want(t, 2, "loading image "+host+"/app:1", "network timeout limit of 1s", "--network-timeout")
	wantGood(t, r)
	if r.took > 20*time.Second {
		t.Errorf("took %s with a 1s network timeout", r.took)
	}
}

// TestDigestRegistryNeverAnswers: --resolve-digests against a registry
// that never answers ends after --network-timeout with a clear error.
func TestDigestRegistryNeverAnswers(t *testing.T) {
	host := hangingRegistry(t)
	dir := t.TempDir()
	write(t, dir, map[string]string{"pod.yaml": strings.Replace(pod("a"), "nginx:1", host+"/app:1", 1)})
	r := run(t, dir, nil, "fix", "--resolve-digests", "--insecure", "--network-timeout", "1s", "pod.yaml")
	if !strings.Contains(r.stdout+r.stderr, "network timeout limit of 1s") {
		t.Errorf("output lacks the network timeout\nstdout: %s\nstderr: %s", tail(r.stdout), tail(r.stderr))
	}
	if r.took > 20*time.Second {
		t.Errorf("took %s with a 1s network timeout", r.took)
	}
}

// TestImageLoadInterrupted: SIGINT or SIGTERM while an image loads (from
// a registry that never answers, under a long network timeout) stops the
// run promptly.
func TestImageLoadInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			host := hangingRegistry(t)
			cmd := exec.Command(bin, "image", "--insecure", "--network-timeout", "10m", host+"/app:1")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("exit 0 after %s\n%s", sig, out.String())
				}
			case <-time.After(3 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running 3s after %s\n%s", sig, out.String())
			}
		})
	}
}
