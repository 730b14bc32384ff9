package hostile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pods is a file of n minimal Pods.
func pods(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("---\n" + pod(fmt.Sprintf("p%d", i)))
	}
	return b.String()
}

// read returns a file's content.
func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFixAliasBomb (issue 10, item 7): nine levels of nested aliases, each
// used nine times, took fix 39 s; it must take about what scan takes.
func TestFixAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    x0: &a0 [\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\",\"v\"]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "    x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	b.WriteString("spec:\n  containers:\n  - name: c\n    image: nginx:1\n")
	dir := t.TempDir()
	write(t, dir, map[string]string{"alias.yaml": b.String()})
	r := run(t, dir, nil, "fix", "--write", "alias.yaml")
	if r.code != 0 || r.took > 10*time.Second {
		t.Fatalf("exit %d after %s\n%s", r.code, r.took, tail(r.stderr))
	}
	if got := read(t, filepath.Join(dir, "alias.yaml")); !strings.Contains(got, "x9: &a9 [*a8,") || !strings.Contains(got, "runAsNonRoot: true") {
		t.Errorf("not fixed, or the aliases expanded:\n%s", got)
	}
	run(t, dir, nil, "fix", "alias.yaml").want(t, 0, "nothing to fix")
}

// TestFixJSON (item 16): a JSON manifest stays JSON, in its layout, and a
// second run changes nothing.
func TestFixJSON(t *testing.T) {
	dir := t.TempDir()
	compact := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}`
	var indented bytes.Buffer
	_ = json.Indent(&indented, []byte(strings.Replace(compact, `"a"`, `"b"`, 1)), "", "    ")
	write(t, dir, map[string]string{"pod.json": compact + "\n", "kubectl.json": indented.String() + "\n"})
	run(t, dir, nil, "fix", "--write", "pod.json", "kubectl.json").want(t, 0, "applied 20 fixes")
	for _, f := range []string{"pod.json", "kubectl.json"} {
		got := read(t, filepath.Join(dir, f))
		if !json.Valid([]byte(got)) || !strings.HasSuffix(got, "}\n") {
			t.Errorf("%s is not JSON:\n%s", f, got)
		}
	}
	if got := read(t, filepath.Join(dir, "kubectl.json")); !strings.Contains(got, "\n    \"spec\": {\n        \"automountServiceAccountToken\": false,\n") {
		t.Errorf("kubectl's layout was not kept:\n%s", got)
	}
	if got := read(t, filepath.Join(dir, "pod.json")); strings.Count(got, "\n") != 1 {
		t.Errorf("a one-line document became several:\n%s", got)
	}
	run(t, dir, nil, "fix", "pod.json", "kubectl.json").want(t, 0, "nothing to fix")
	r := run(t, dir, nil, "scan", "--fail-on", "none", "-o", "json", "pod.json", "kubectl.json")
	for _, check := range []string{"run-as-non-root", "read-only-root-filesystem", "capabilities-drop-all"} {
		if strings.Contains(r.stdout, `"`+check+`"`) {
			t.Errorf("%s still found after the fix", check)
		}
	}
}

// TestFixFlowComments (item 17): comments after a flow mapping and after
// a multi-line flow mapping are kept (or the document is refused, with the
// reason); never dropped.
func TestFixFlowComments(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"trailing.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: \"nginx:1\"}]} # keep me\n",
		"foot.yaml":     "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {\n  containers: [{name: c, image: \"nginx:1\"}] # inside\n}\n# foot comment\n",
		"item.yaml":     "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec: {containers: [{name: c, # the name\n  image: \"nginx:1\"}]}\n",
		"seq.yaml":      "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  containers:\n  - {name: c, image: \"nginx:1\"} # item comment\n",
	}
	write(t, dir, files)
	r := run(t, dir, nil, "fix", "--write", "trailing.yaml", "foot.yaml", "item.yaml", "seq.yaml")
	for name, in := range files {
		got := read(t, filepath.Join(dir, name))
		for _, c := range []string{"# keep me", "# inside", "# foot comment", "# the name", "# item comment"} {
			if strings.Contains(in, c) && !strings.Contains(got, c) {
				t.Errorf("%s: %q dropped:\n%s\nstderr: %s", name, c, got, r.stderr)
			}
		}
		if got == in && !strings.Contains(r.stderr, "comment") {
			t.Errorf("%s left as written without a reason:\n%s", name, r.stderr)
		}
	}
	if got := read(t, filepath.Join(dir, "trailing.yaml")); !strings.Contains(got, "spec: # keep me\n") {
		t.Errorf("the comment did not move to its key:\n%s", got)
	}
	// Once written on the line of the next key (volumes:).
	if got := read(t, filepath.Join(dir, "seq.yaml")); !strings.Contains(got, "  - name: c # item comment\n") {
		t.Errorf("the comment did not stay on its item's line:\n%s", got)
	}
}

// fileMeta is what --write must keep.
type fileMeta struct {
	mode     fs.FileMode
	uid, gid uint32
	nlink    uint64
	ino      uint64
}

func metaOf(t *testing.T, p string) fileMeta {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	m := fileMeta{mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), uid: st.Uid, gid: st.Gid, ino: st.Ino}
	m.nlink = uint64(st.Nlink) //nolint:unconvert // uint32 on some platforms
	return m
}

// TestFixFileMetadata (item 18): a symbolic link is written through (and
// stays a link), hard links stay linked, owner, group, setuid and setgid
// are kept.
func TestFixFileMetadata(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"real/pod.yaml": pod("a"), "hard.yaml": pod("b"), "owned.yaml": pod("c")})
	if err := os.Symlink("real/pod.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("link.yaml", filepath.Join(dir, "chain.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "hard.yaml"), filepath.Join(dir, "hard2.yaml")); err != nil {
		t.Fatal(err)
	}
	owned := filepath.Join(dir, "owned.yaml")
	if os.Geteuid() == 0 {
		if err := os.Chown(owned, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(owned, 0o640|fs.ModeSetuid|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	before := map[string]fileMeta{}
	for _, f := range []string{"real/pod.yaml", "hard.yaml", "owned.yaml"} {
		before[f] = metaOf(t, filepath.Join(dir, f))
	}
	run(t, dir, nil, "fix", "--write", "chain.yaml", "hard2.yaml", "owned.yaml").want(t, 0, "applied 30 fixes")
	for _, l := range []string{"link.yaml", "chain.yaml"} {
		if fi, err := os.Lstat(filepath.Join(dir, l)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link", l)
		}
	}
	for _, f := range []string{"real/pod.yaml", "hard.yaml", "hard2.yaml", "owned.yaml"} {
		if !strings.Contains(read(t, filepath.Join(dir, f)), "runAsNonRoot: true") {
			t.Errorf("%s was not fixed", f)
		}
	}
	for f, m := range before {
		now := metaOf(t, filepath.Join(dir, f))
		if now.mode != m.mode || now.uid != m.uid || now.gid != m.gid || now.nlink != m.nlink {
			t.Errorf("%s: %+v, was %+v", f, now, m)
		}
	}
	if metaOf(t, filepath.Join(dir, "hard.yaml")).ino != before["hard.yaml"].ino {
		t.Error("the hard-linked file was replaced, not written")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestFixReadOnly (item 18): a read-only file is left alone, with the
// reason and exit 2, and the other files are fixed; --force writes it,
// read-only still.
func TestFixReadOnly(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"ro.yaml": pod("a"), "rw.yaml": pod("b")})
	ro := filepath.Join(dir, "ro.yaml")
	if err := os.Chmod(ro, 0o444); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "fix", "--write", "ro.yaml", "rw.yaml").want(t, 2, "ro.yaml", "read-only", "--force")
	if read(t, ro) != pod("a") {
		t.Error("a read-only file was written without --force")
	}
	if !strings.Contains(read(t, filepath.Join(dir, "rw.yaml")), "runAsNonRoot") {
		t.Error("the writable file was not fixed")
	}
	run(t, dir, nil, "fix", "--write", "--force", "ro.yaml").want(t, 0, "applied 10 fixes")
	if !strings.Contains(read(t, ro), "runAsNonRoot") || metaOf(t, ro).mode != 0o444 {
		t.Errorf("--force: mode %v\n%s", metaOf(t, ro).mode, read(t, ro))
	}
}

// TestFixOtherUser (item 18): another user, in a directory anyone may
// write, cannot take over root's files: a read-only one is refused, a
// writable one too (its owner could not be kept).
func TestFixOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as another user")
	}
	dir, err := os.MkdirTemp("", "kubeharden-other")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The binary where the user can run it.
	exe := filepath.Join(dir, "kubeharden")
	if err := os.WriteFile(exe, []byte(read(t, bin)), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"ro.yaml": pod("a"), "rw.yaml": pod("b")})
	_ = os.Chmod(filepath.Join(dir, "ro.yaml"), 0o444)
	_ = os.Chmod(filepath.Join(dir, "rw.yaml"), 0o666)
	for _, args := range [][]string{{"fix", "--write", "ro.yaml", "rw.yaml"}, {"fix", "--write", "--force", "ro.yaml", "rw.yaml"}} {
		cmd := exec.Command(exe, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+softLimit, "HOME="+dir, "GOCACHE="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4321, Gid: 4321}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit 2\n%s", args, err, stderr.String())
		}
		for f, name := range map[string]string{"ro.yaml": "a", "rw.yaml": "b"} {
			p := filepath.Join(dir, f)
			if m := metaOf(t, p); m.uid != 0 || read(t, p) != pod(name) {
				t.Errorf("%v: %s taken over or written (uid %d)\n%s", args, f, m.uid, stderr.String())
			}
		}
		if !strings.Contains(stderr.String(), "rw.yaml") {
			t.Errorf("%v: no reason given for rw.yaml:\n%s", args, stderr.String())
		}
	}
}

// TestFixSummary (item 19): one line per fix made 67 MB of stderr for
// 100,000 pods; the summary is grouped, a screen whatever the count.
func TestFixSummary(t *testing.T) {
	dir := t.TempDir()
	const n = 20000
	write(t, dir, map[string]string{"pods.yaml": pods(n)})
	r := run(t, dir, nil, "fix", "--write", "pods.yaml")
	r.want(t, 0, fmt.Sprintf("applied %d fixes to %d objects", 10*n, n), fmt.Sprintf("run-as-non-root on %d objects: Pod/p0 (pods.yaml), Pod/p1 (pods.yaml), Pod/p2 (pods.yaml) and %d more", n, n-3),
		fmt.Sprintf("test these: read-only root filesystem on %d objects", n))
	if len(r.stderr) > 8<<10 {
		t.Errorf("%d bytes of stderr", len(r.stderr))
	}
	// Findings left alone are grouped by check and reason too.
	write(t, dir, map[string]string{"few.yaml": pods(50), "digests.txt": "other:1@sha256:" + strings.Repeat("a", 64) + "\n"})
	r = run(t, dir, nil, "fix", "--checks", "image-digest", "--resolve-digests", "--offline", "--digests", "digests.txt", "few.yaml")
	if lines := strings.Count(r.stderr, "not fixed:"); lines == 0 || lines > 10 || !strings.Contains(r.stderr, "and 47 more") {
		t.Errorf("%d lines of findings left alone:\n%s", lines, tail(r.stderr))
	}
}

// TestFixInterrupted (item 1): SIGINT or SIGTERM while fix --write works
// on a large file writes nothing, and the run ends promptly.
func TestFixInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		in := pods(40000)
		write(t, dir, map[string]string{"pods.yaml": in, "small.yaml": pod("s")})
		cmd := exec.Command(bin, "fix", "--write", "pods.yaml", "small.yaml")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+softLimit)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(700 * time.Millisecond)
		_ = cmd.Process.Signal(sig)
		sent := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%v: exit 0 after the signal", sig)
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: still running 5 s after the signal", sig)
		}
		if took := time.Since(sent); took > 2*time.Second {
			t.Errorf("%v: ended %s after the signal", sig, took)
		}
		if read(t, filepath.Join(dir, "pods.yaml")) != in || read(t, filepath.Join(dir, "small.yaml")) != pod("s") {
			t.Errorf("%v: a file was written after the signal\n%s", sig, tail(stderr.String()))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("%v: left behind: %v", sig, entries)
		}
	}
}
