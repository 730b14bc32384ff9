package hostile_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kubeharden/kubeharden/internal/image/imagetest"
)

// bigPods writes n pods, one document each, to path.
func bigPods(t *testing.T, path string, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\n  namespace: ns%d\nspec:\n  containers:\n  - name: c\n    image: registry.example.com/app:%d\n    securityContext:\n      privileged: true\n", i, i%50, i%7)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSignals: SIGINT and SIGTERM stop scan and fix --write on a large
// input within 2 s, with the signal's exit code (130, 143), no report,
// and no file written after the signal.
func TestSignals(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	data := bigPods(t, big, 150_000)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"scan", []string{"scan", "-o", "json", "--fail-on", "none", "big.yaml"}},
		{"fix", []string{"fix", "--write", "big.yaml"}},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				stderr := interrupt(t, dir, sig, 700*time.Millisecond, tc.args...)
				if !strings.Contains(stderr, "interrupted") {
					t.Errorf("stderr does not say it was interrupted: %s", tail(stderr))
				}
				got, err := os.ReadFile(big)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("the input changed after the signal (err %v)", err)
				}
			})
		}
	}
}

// TestImageSignals: SIGINT and SIGTERM stop `kubeharden image` on a large
// image (a layer of many files) within 2 s, with the signal's exit code
// and no report.
func TestImageSignals(t *testing.T) {
	var entries []imagetest.Entry
	for i := range 400_000 {
		entries = append(entries, imagetest.File(fmt.Sprintf("d%d/f%d", i%500, i), "x"))
	}
	img := imagetest.Image(t, v1.Config{User: "10001"}, imagetest.Layer(t, entries...))
	tarball := imagetest.WriteTarball(t, img)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			interrupt(t, "", sig, 500*time.Millisecond, "image", "-o", "json", tarball)
		})
	}
}

// interrupt runs kubeharden with args in dir, sends sig after a while, and
// asserts that it ends within 2 s with the signal's exit code (130, 143)
// and no report on stdout; it returns stderr.
func interrupt(t *testing.T, dir string, sig syscall.Signal, after time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+softLimit)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(after)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("the run ended before the signal: %v\n%s", err, tail(errb.String()))
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 2 s after %v", sig)
	}
	if code, want := cmd.ProcessState.ExitCode(), 128+int(sig); code != want {
		t.Errorf("exit code %d, want %d\nstderr: %s", code, want, tail(errb.String()))
	}
	if out.Len() > 0 {
		t.Errorf("wrote %d bytes of report after the signal", out.Len())
	}
	return errb.String()
}
