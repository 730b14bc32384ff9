package hostile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// inStderr asserts that stderr holds each of the texts: input errors
// reach the terminal whatever the report's format and destination.
func (r result) inStderr(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q\nstderr: %s", s, tail(r.stderr))
		}
	}
}

// mkfifo makes a named pipe, or skips the test where there are none.
func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("no named pipes:", err)
	}
}

// TestNamedPipe (item 2): a named pipe on the command line or in a
// directory is an input error at once, never a blocking open; the other
// files are still scanned.
func TestNamedPipe(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"ok.yaml": pod("ok"), "d/in.yaml": pod("in")})
	mkfifo(t, filepath.Join(dir, "x.yaml"))
	mkfifo(t, filepath.Join(dir, "d/y.yaml"))
	r := run(t, dir, nil, "scan", "--fail-on", "none", "x.yaml", "ok.yaml", "d")
	r.want(t, 2, "x.yaml: not a regular file (a named pipe)", "d/y.yaml: not a regular file (a named pipe)", "Pod/ok", "Pod/in")
	if r.took > 20*time.Second {
		t.Errorf("took %s", r.took)
	}
}

// TestGlobBacktracking (item 8): --exclude and exemption paths with many
// `**` that almost match a deep path take polynomial time (8 `**` took
// 54 s); a malformed glob is an error, not a glob that never matches.
func TestGlobBacktracking(t *testing.T) {
	dir := t.TempDir()
	deep := strings.Repeat("a/", 40) + "pod.yaml"
	glob := strings.Repeat("**/a/", 12) + "b/*.yaml"
	write(t, dir, map[string]string{
		deep:               pod("deep"),
		".kubeharden.yaml": "exemptions:\n- path: \"" + glob + "\"\n  reason: never matches\n",
	})
	r := run(t, dir, nil, "scan", "--fail-on", "none", "--exclude", glob, ".")
	r.want(t, 0, "Pod/deep")
	if r.took > 20*time.Second {
		t.Errorf("took %s", r.took)
	}
	r = run(t, dir, nil, "scan", "--fail-on", "none", "--exclude", "a/[", ".")
	r.want(t, 2, `--exclude: "a/[" is not a valid glob`)
}

// TestLargeYAML (item 10): a document past the document size limit is an
// input error naming its file, line and the flag, checked while splitting
// so that memory stays bounded, and the rest of the file is still
// scanned; an input past the input size limit, on standard input too,
// stops with an error; a document of too many nodes, aliases expanded, is
// refused.
func TestLargeYAML(t *testing.T) {
	dir := t.TempDir()
	var big bytes.Buffer
	big.WriteString(pod("before") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n")
	for i := range 5_000_000 {
		fmt.Fprintf(&big, "  k%d: v\n", i)
	}
	big.WriteString("---\n" + pod("after"))
	write(t, dir, map[string]string{"big.yaml": big.String()})
	r := run(t, dir, nil, "scan", "--fail-on", "none", "big.yaml")
	r.want(t, 2, "big.yaml:7: document exceeds the document size limit of "+limits.Bytes(limits.Default().DocumentSize)+" (raise it with --max-document-size)", "Pod/before", "Pod/after")

	// Standard input past the input size limit: 280 MB of one endless
	// document, each part past the document size limit, are never held.
	endless := bytes.Repeat([]byte("  k: v\n"), 40_000_000)
	r = run(t, "", endless, "scan", "--fail-on", "none", "-")
	r.want(t, 2, "-:", "exceeds the input size limit of 256 MiB (raise it with --max-input-size)")
	r = run(t, "", []byte(strings.Repeat(pod("p")+"---\n", 2000)), "scan", "--fail-on", "none", "--max-input-size", "64KiB", "-")
	r.want(t, 2, "exceeds the input size limit of 64 KiB (raise it with --max-input-size)", "Pod/p")

	// A billion laughs: nine levels of ten aliases.
	var lol strings.Builder
	lol.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		p := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&lol, "  l%d: &l%d [%s]\n", i, i, strings.Repeat(p+", ", 9)+p)
	}
	write(t, dir, map[string]string{"lol.yaml": lol.String(), "ok.yaml": pod("ok")})
	r = run(t, dir, nil, "scan", "--fail-on", "none", "lol.yaml", "ok.yaml")
	r.want(t, 2, "lol.yaml:1: document exceeds the YAML node limit", "--max-yaml-nodes", "Pod/ok")
}

// TestDocumentSizeFlag: the harness's own case, a tiny limit set by flag.
func TestDocumentSizeFlag(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"ok.yaml": pod("a")})
	run(t, dir, nil, "scan", "--max-document-size", "10B", "ok.yaml").want(t, 2, "ok.yaml:1:", "--max-document-size")
}

// TestWrongFieldTypes (item 12): a field of the wrong type is an input
// error at its line, never a silent "no findings".
func TestWrongFieldTypes(t *testing.T) {
	dir := t.TempDir()
	head := func(kind string) string {
		return "apiVersion: apps/v1\nkind: " + kind + "\nmetadata: {name: a}\n"
	}
	files := map[string]string{
		"template-list.yaml": head("Deployment") + "spec:\n  template:\n  - a\n",
		"spec-list.yaml":     head("Deployment") + "spec: [1]\n",
		"spec-string.yaml":   head("Deployment") + "spec: \"x\"\n",
		"cronjob.yaml":       "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec:\n  jobTemplate:\n    spec:\n      template: \"x\"\n",
		"kind-map.yaml":      "apiVersion: v1\nkind: {a: b}\nmetadata: {name: a}\n",
		"items-map.yaml":     "apiVersion: v1\nkind: List\nitems: {a: b}\n",
		"hostpath.yaml":      strings.TrimSuffix(pod("h"), "\n") + "\n  volumes:\n  - name: h\n    hostPath: \"/\"\n",
	}
	write(t, dir, files)
	r := run(t, dir, nil, "scan", "--fail-on", "none", ".")
	r.want(t, 2,
		"template-list.yaml:5:3: spec.template must be a mapping, not a list",
		"spec-list.yaml:4:1: spec must be a mapping, not a list",
		`spec-string.yaml:4:1: spec must be a mapping, not "x"`,
		`cronjob.yaml:7:7: spec.jobTemplate.spec.template must be a mapping, not "x"`,
		"kind-map.yaml:2:1: kind must be a string, not a mapping",
		"items-map.yaml:3:1: items of List must be a list, not a mapping",
		`hostpath.yaml:9:5: spec.volumes[0].hostPath must be a mapping, not "/"`)
	if strings.Contains(r.stdout, `host path ""`) {
		t.Errorf("a host path read as empty:\n%s", r.stdout)
	}
}

// TestConfigErrors (items 14, 15): configs that would silently do nothing
// are errors, and every config error names the file and line.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, config, want string }{
		{"bracket glob", "exemptions:\n- kind: Pod\n  path: \"[\"\n  reason: r\n", `c.yaml:3: exemptions[0].path: "[" is not a valid glob`},
		{"only and disable", "checks:\n  only: [privileged-container]\n  disable:\n  - privileged-container\n", `c.yaml:4: checks.disable: "privileged-container" is in checks.only too`},
		{"unknown check", "checks:\n  disable:\n  - privileged-container\n  - no-such-check\n", `c.yaml:4: checks.disable: unknown check "no-such-check"`},
		{"unknown severity", "checks:\n  severity:\n    privileged-container: dire\n", `c.yaml:3: checks.severity.privileged-container`},
		{"out of range", "parameters:\n  minUID: 1000\n  maxUID: 99999999999\n", `c.yaml:3: parameters.maxUID`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"c.yaml": c.config, "ok.yaml": pod("a")})
			run(t, dir, nil, "scan", "--config", "c.yaml", "ok.yaml").want(t, 2, c.want)
		})
	}
	dir := t.TempDir()
	write(t, dir, map[string]string{"ok.yaml": pod("a")})
	run(t, dir, nil, "scan", "--checks", "privileged-container", "--skip", "privileged-container", "ok.yaml").
		want(t, 2, `check "privileged-container" is both selected`)
}

// TestErrorsOnStderr (item 15): binary content is reported at the line of
// its bad byte, and input errors reach stderr in text mode and with
// --output-file, not only the report.
func TestErrorsOnStderr(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"bin.yaml": "a: b\nc: d\ne: \x00\x01\x02\n", "ok.yaml": pod("a")})
	r := run(t, dir, nil, "scan", "--fail-on", "none", "bin.yaml", "ok.yaml")
	r.want(t, 2, "bin.yaml:3: not a text file (binary content)", "Pod/a")
	r.inStderr(t, "kubeharden: input error: bin.yaml:3: not a text file")
	if !strings.Contains(r.stdout, "bin.yaml:3") {
		t.Errorf("the report lacks the error:\n%s", r.stdout)
	}
	r = run(t, dir, nil, "scan", "--fail-on", "none", "--output-file", "report.txt", "bin.yaml", "ok.yaml")
	r.want(t, 2)
	r.inStderr(t, "kubeharden: input error: bin.yaml:3: not a text file")
	if b, err := os.ReadFile(filepath.Join(dir, "report.txt")); err != nil || !bytes.Contains(b, []byte("bin.yaml:3")) {
		t.Errorf("the report file lacks the error (%v):\n%s", err, b)
	}
}
