package hostile_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 10, item 3: 40 lines of ARG A{i+1}=${A{i}}${A{i}} reached 22.5 GB
// and the OOM killer. Expansion stops at the expansion size limit with an
// error at the line that passes it; the other input is still scanned.
func TestDockerfileARGDoubling(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("ARG A0=x\n")
	for i := range 40 {
		fmt.Fprintf(&b, "ARG A%d=${A%d}${A%d}\n", i+1, i, i)
	}
	b.WriteString("FROM alpine:${A40}\nUSER 10001\n")
	write(t, dir, map[string]string{"Dockerfile": b.String(), "ok.yaml": pod("ok")})
	r := run(t, dir, nil, "scan", "--fail-on", "none", "Dockerfile", "ok.yaml")
	// A20 is A19 twice: 2^20 bytes, past 1 MiB, on line 21.
	r.want(t, 2, "Dockerfile:21", `"${A19}${A19}"`, "--max-expansion-size", "ok.yaml")
	if r.took > 10*time.Second {
		t.Errorf("took %s", r.took)
	}
}

// Pattern substitution multiplies: every character of A replaced by B.
func TestDockerfileReplaceBomb(t *testing.T) {
	dir := t.TempDir()
	src := "ARG A=" + strings.Repeat("a", 30000) + "\nARG B=" + strings.Repeat("b", 30000) + "\nARG C=${A//?/$B}\nFROM alpine:3\n"
	write(t, dir, map[string]string{"Dockerfile": src})
	run(t, dir, nil, "scan", "--fail-on", "none", "Dockerfile").want(t, 2, "Dockerfile:3", "--max-expansion-size")
}

// Issue 10, item 15: an invalid escape directive is an error at its line.
func TestDockerfileEscapeDirective(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"Dockerfile": "# syntax=docker/dockerfile:1\n# escape=x\nFROM alpine:3\n", "ok.yaml": pod("ok")})
	run(t, dir, nil, "scan", "--fail-on", "none", "Dockerfile", "ok.yaml").want(t, 2, "Dockerfile:2", "invalid escape token", "ok.yaml")
}
