// Package hostile_test runs kubeharden, built once, on hostile inputs
// that each test generates (never committed as large files), under a
// memory limit: GOMEMLIMIT and an address-space rlimit, so that a blowup
// fails the test instead of the machine, and under a deadline, so that a
// hang fails it too. Each case asserts what a user must see: exit code 2,
// the input and the limit named, and everything else still processed.
package hostile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bin is the kubeharden binary under test.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubeharden-hostile")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "kubeharden")
	build := exec.Command("go", "build", "-o", bin, "github.com/kubeharden/kubeharden/cmd/kubeharden")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kubeharden:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// memoryLimit is the address space a run may reserve, and softLimit the
// Go heap it aims for: both far below what any blowup in the issue
// reached (gigabytes), far above what any real input needs.
const (
	memoryLimit = 3 << 30
	softLimit   = "512MiB"
	// deadline fails a run that hangs; the runs that must stop promptly
	// assert their own, shorter bound.
	deadline = 90 * time.Second
)

// result is what one run showed.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// run runs kubeharden with args in dir (or the test's temp dir), stdin
// as its standard input, under the memory limit and the deadline.
func run(t *testing.T, dir string, stdin []byte, args ...string) result {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "prlimit", append([]string{fmt.Sprintf("--as=%d", memoryLimit), "--", bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+softLimit)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("kubeharden %s did not end within %s (hung)\nstderr: %s", strings.Join(args, " "), deadline, tail(r.stderr))
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if strings.Contains(r.stderr, "fatal error: runtime: out of memory") || strings.Contains(r.stderr, "panic:") {
			t.Fatalf("kubeharden %s crashed:\n%s", strings.Join(args, " "), tail(r.stderr))
		}
	case err != nil:
		t.Fatalf("running kubeharden: %v", err)
	}
	return r
}

// tail is the end of a long output, for failure messages.
func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// write writes files (name to content) under dir.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// want asserts an input error: exit code 2, and stderr holding each of
// the texts.
func (r result) want(t *testing.T, code int, texts ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, tail(r.stdout), tail(r.stderr))
	}
	for _, s := range texts {
		if !strings.Contains(r.stderr, s) && !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", s, tail(r.stdout), tail(r.stderr))
		}
	}
}

// pod is a minimal valid Pod.
func pod(name string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  containers:\n  - {name: c, image: \"nginx:1\"}\n"
}

// TestHarness: a valid input scans without input errors (exit 1 for its
// findings) under the harness's limits.
func TestHarness(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"ok.yaml": pod("a")})
	run(t, dir, nil, "scan", "--fail-on", "high", "ok.yaml").want(t, 1, "ok.yaml")
}
