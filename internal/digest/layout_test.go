package digest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// digester is a v1.Image or a v1.ImageIndex.
type digester interface{ Digest() (v1.Hash, error) }

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func randomIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func digestOf(t *testing.T, x digester) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// writeLayout writes an OCI layout in a new directory with each item
// appended under its annotations.
func writeLayout(t *testing.T, items ...layoutItem) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		opt := layout.WithAnnotations(it.annotations)
		switch x := it.artifact.(type) {
		case v1.Image:
			err = p.AppendImage(x, opt)
		case v1.ImageIndex:
			err = p.AppendIndex(x, opt)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type layoutItem struct {
	artifact    digester
	annotations map[string]string
}

func refName(n string) map[string]string { return map[string]string{annotationRefName: n} }

func TestLayoutAnnotations(t *testing.T) {
	full := randomIndex(t)       // ref.name is a full reference
	short := randomImage(t)      // ref.name is a short reference
	containerd := randomImage(t) // containerd's pair: full name + bare tag
	bareOnly := randomImage(t)   // bare tag alone: ignored
	digestOnly := randomImage(t)
	unnamed := randomImage(t)
	dir := writeLayout(t,
		layoutItem{full, refName("docker.io/library/nginx:1.25")},
		layoutItem{short, refName("redis:7")},
		layoutItem{containerd, map[string]string{annotationContainerdName: "ghcr.io/org/app:v2", annotationRefName: "v2"}},
		layoutItem{bareOnly, refName("3.9-alpine")},
		layoutItem{digestOnly, map[string]string{annotationContainerdName: "docker.io/library/busybox@" + dA}},
		layoutItem{unnamed, nil},
	)
	r, err := New(Options{Layouts: []string{dir}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"nginx:1.25":                         digestOf(t, full),
		"index.docker.io/library/nginx:1.25": digestOf(t, full),
		"redis:7":                            digestOf(t, short),
		"docker.io/library/redis:7":          digestOf(t, short),
		"ghcr.io/org/app:v2":                 digestOf(t, containerd),
	} {
		got, err := r.Digest(context.Background(), ref)
		if err != nil || got != want {
			t.Errorf("Digest(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}

	// The bare tag is not trusted for any repository, but the miss says why.
	_, err = r.Digest(context.Background(), "python:3.9-alpine")
	if !errors.Is(err, ErrNoDigest) {
		t.Fatalf("bare tag: error %v, want ErrNoDigest", err)
	}
	for _, want := range []string{
		"no digest for python:3.9-alpine in the --digests file or OCI layouts (offline)",
		"OCI layout " + dir + ` names an image only by the tag "3.9-alpine"`,
		annotationContainerdName,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("bare tag: error %q\nwant it to contain %q", err, want)
		}
	}
	// "v2" came with a full name: no hint for other repositories.
	_, err = r.Digest(context.Background(), "nginx:v2")
	if err == nil || strings.Contains(err.Error(), "only by the tag") {
		t.Errorf("nginx:v2: error %v, want a plain miss", err)
	}
	for _, ref := range []string{"busybox", "busybox:latest", "nginx:1.26"} {
		if _, err := r.Digest(context.Background(), ref); !errors.Is(err, ErrNoDigest) {
			t.Errorf("Digest(%q) error %v, want ErrNoDigest", ref, err)
		}
	}
}

func TestLayoutConflict(t *testing.T) {
	a := writeLayout(t, layoutItem{randomImage(t), refName("nginx:1.25")})
	b := writeLayout(t, layoutItem{randomImage(t), map[string]string{annotationContainerdName: "docker.io/library/nginx:1.25"}})
	_, err := New(Options{Layouts: []string{a, b}})
	if err == nil {
		t.Fatal("no error for two digests of nginx:1.25")
	}
	for _, want := range []string{"OCI layout " + b + " (index.json manifests[0]): docker.io/library/nginx:1.25 is sha256:", "but OCI layout " + a + " (index.json manifests[0]) says nginx:1.25 is sha256:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to contain %q", err, want)
		}
	}

	// The same image in two layouts agrees with itself.
	img := randomImage(t)
	c := writeLayout(t, layoutItem{img, refName("nginx:1.25")})
	d := writeLayout(t, layoutItem{img, refName("nginx:1.25")})
	if _, err := New(Options{Layouts: []string{c, d}}); err != nil {
		t.Errorf("same digest twice: %v", err)
	}
}

func TestLayoutErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Options{Layouts: []string{dir}}); err == nil || !strings.HasPrefix(err.Error(), "reading OCI layout "+dir+": ") {
		t.Errorf("no index.json: error %v", err)
	}
	writeFile(t, filepath.Join(dir, "index.json"), "{not json")
	if _, err := New(Options{Layouts: []string{dir}}); err == nil || !strings.HasPrefix(err.Error(), "reading OCI layout "+dir+": index.json: ") {
		t.Errorf("bad index.json: error %v", err)
	}
}

func TestMappingFileWinsOverLayout(t *testing.T) {
	dir := writeLayout(t, layoutItem{randomImage(t), refName("nginx:1.25")})
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, "nginx:1.25 "+dA)
	r, err := New(Options{MappingFile: file, Layouts: []string{dir}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Digest(context.Background(), "nginx:1.25"); err != nil || got != dA {
		t.Errorf("Digest = %q, %v; want the mapping file's %q", got, err, dA)
	}
}
