package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is go-containerregistry's implementation of the
// distribution protocol on loopback, counting the manifest requests that
// reach it.
type testRegistry struct {
	host      string
	manifests atomic.Int64
	// hang, when set, holds manifest requests until the client gives up.
	hang atomic.Bool
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/manifests/") && (req.Method == http.MethodHead || req.Method == http.MethodGet) {
			reg.manifests.Add(1)
			if reg.hang.Load() {
				<-req.Context().Done()
				return
			}
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

func TestRegistryDigest(t *testing.T) {
	reg := newRegistry(t)
	img := randomImage(t)
	ref, err := name.NewTag(reg.host+"/team/app:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	idx := randomIndex(t)
	idxRef := ref.Context().Tag("multi")
	if err := remote.WriteIndex(idxRef, idx); err != nil {
		t.Fatal(err)
	}
	reg.manifests.Store(0)

	r, err := New(Options{Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Digest(context.Background(), reg.host+"/team/app:1.0")
	if err != nil || got != digestOf(t, img) {
		t.Errorf("Digest(app:1.0) = %q, %v; want %q", got, err, digestOf(t, img))
	}
	// A multi-platform image is pinned by its index, as docker pull does.
	got, err = r.Digest(context.Background(), reg.host+"/team/app:multi")
	if err != nil || got != digestOf(t, idx) {
		t.Errorf("Digest(app:multi) = %q, %v; want the index digest %q", got, err, digestOf(t, idx))
	}
	if n := reg.manifests.Load(); n != 2 {
		t.Errorf("%d manifest requests, want 2 (one HEAD each)", n)
	}
}

func TestRegistryMissingTag(t *testing.T) {
	reg := newRegistry(t)
	ref, err := name.NewTag(reg.host+"/app:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, randomImage(t)); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	missing := reg.host + "/app:2.0"
	_, err = r.Digest(context.Background(), missing)
	if err == nil {
		t.Fatal("no error for a missing tag")
	}
	// The GET after the failed HEAD brings the registry's own words.
	want := fmt.Sprintf("resolving %s: GET http://%s/v2/app/manifests/2.0: MANIFEST_UNKNOWN", missing, reg.host)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q\nwant it to start with %q", err, want)
	}
	if errors.Is(err, ErrNoDigest) {
		t.Errorf("a registry miss is not an offline miss: %v", err)
	}
}

func TestRegistryCache(t *testing.T) {
	reg := newRegistry(t)
	ref, err := name.NewTag(reg.host+"/app:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := randomImage(t)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	reg.manifests.Store(0)
	r, err := New(Options{Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Three spellings of one reference: one request.
	for _, s := range []string{reg.host + "/app", reg.host + "/app:latest", reg.host + "/app"} {
		got, err := r.Digest(ctx, s)
		if err != nil || got != digestOf(t, img) {
			t.Errorf("Digest(%q) = %q, %v", s, got, err)
		}
	}
	if n := reg.manifests.Load(); n != 1 {
		t.Errorf("%d manifest requests for one reference, want 1", n)
	}

	// Errors are remembered too, each caller's spelling kept in its error.
	_, err1 := r.Digest(ctx, reg.host+"/app:nope")
	n := reg.manifests.Load()
	_, err2 := r.Digest(ctx, reg.host+"/app:nope")
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Errorf("errors %v and %v, want the same error twice", err1, err2)
	}
	if m := reg.manifests.Load(); m != n {
		t.Errorf("the second lookup of a missing tag made %d requests, want none", m-n)
	}
}

func TestRegistryTimeoutRemembered(t *testing.T) {
	reg := newRegistry(t)
	reg.hang.Store(true)
	r, err := New(Options{Insecure: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.host + "/app:1.0"
	_, err = r.Digest(context.Background(), ref)
	if err == nil || !strings.HasPrefix(err.Error(), "resolving "+ref+": ") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a deadline for %s", err, ref)
	}
	n := reg.manifests.Load()
	if n == 0 {
		t.Fatal("the registry was not asked")
	}
	// A dead registry is asked once per reference.
	if _, err := r.Digest(context.Background(), ref); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second lookup: error %v", err)
	}
	if m := reg.manifests.Load(); m != n {
		t.Errorf("the second lookup made %d requests, want none", m-n)
	}
}

func TestCanceledCallerNotRemembered(t *testing.T) {
	reg := newRegistry(t)
	ref, err := name.NewTag(reg.host+"/app:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := randomImage(t)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Digest(ctx, ref.String()); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: error %v", err)
	}
	// The caller gave up, the registry did not fail: ask again.
	got, err := r.Digest(context.Background(), ref.String())
	if err != nil || got != digestOf(t, img) {
		t.Errorf("after a canceled lookup: %q, %v", got, err)
	}
}

func TestOfflineNeverAsks(t *testing.T) {
	reg := newRegistry(t)
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, reg.host+"/app:1.0 "+dA)
	r, err := New(Options{MappingFile: file, Offline: true, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Digest(context.Background(), reg.host+"/app:1.0"); err != nil || got != dA {
		t.Errorf("Digest = %q, %v; want %q", got, err, dA)
	}
	if _, err := r.Digest(context.Background(), reg.host+"/app:2.0"); !errors.Is(err, ErrNoDigest) {
		t.Errorf("error %v, want ErrNoDigest", err)
	}
	if n := reg.manifests.Load(); n != 0 {
		t.Errorf("offline made %d registry requests", n)
	}
}

func TestConcurrentDigest(t *testing.T) {
	reg := newRegistry(t)
	const tags = 4
	want := map[string]string{}
	for i := range tags {
		ref, err := name.NewTag(fmt.Sprintf("%s/app:v%d", reg.host, i), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img := randomImage(t)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		want[ref.String()] = digestOf(t, img)
	}
	// Local answers are served alongside.
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, "nginx:1.25 "+dA)
	want["docker.io/library/nginx:1.25"] = dA
	reg.manifests.Store(0)

	r, err := New(Options{MappingFile: file, Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		for ref, d := range want {
			wg.Go(func() {
				got, err := r.Digest(context.Background(), ref)
				if err != nil || got != d {
					t.Errorf("Digest(%q) = %q, %v; want %q", ref, got, err, d)
				}
			})
		}
	}
	wg.Wait()
	if n := reg.manifests.Load(); n != tags {
		t.Errorf("%d manifest requests for %d references asked 16 times each, want %d", n, tags, tags)
	}
}
