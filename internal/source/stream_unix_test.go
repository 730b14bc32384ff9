//go:build unix

package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNamedPipe: a named pipe, named or found in a directory, is an input
// error at once, never opened for a blocking read; the other files are
// still read.
func TestNamedPipe(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"x.yaml", "d/y.yaml", "d/Dockerfile"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, p), 0o644); err != nil {
			t.Skip("no named pipes here:", err)
		}
	}
	if err := os.Symlink("y.yaml", filepath.Join(dir, "d/link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d/ok.yaml"), []byte("a: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		files, errs := Expand([]string{filepath.Join(dir, "x.yaml"), filepath.Join(dir, "d")}, nil)
		if len(files) != 1 || filepath.Base(files[0].Path) != "ok.yaml" {
			t.Errorf("files %v, want d/ok.yaml", files)
		}
		if len(errs) != 4 {
			t.Errorf("errors %v, want one per pipe and link", errs)
		}
		for _, e := range errs {
			if !errors.Is(e, ErrNotRegular) || !strings.Contains(e.Error(), "not a regular file (a named pipe)") {
				t.Errorf("error %v", e)
			}
		}
		// Open checks too, for callers that skip Expand.
		if _, err := Open(File{Path: filepath.Join(dir, "x.yaml")}, nil); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open: %v", err)
		}
		var failed int
		for it := range Walk(context.Background(), []string{filepath.Join(dir, "x.yaml"), filepath.Join(dir, "d/ok.yaml")}, Options{}) {
			if it.Kind == Failed {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("Walk: %d input errors, want 1", failed)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked on a named pipe")
	}
}
