package hostile_test

import (
	"strings"
	"testing"
)

// TestLimitFlagsReachEveryReader: a limit lowered by its flag takes effect
// where the input is read, for manifests, Dockerfiles and charts alike.
func TestLimitFlagsReachEveryReader(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"pods.yaml":              pod("a") + "---\n" + pod("b"),
		"Dockerfile":             "FROM alpine:3.20\nARG A=" + strings.Repeat("x", 600) + "\nARG B=${A}${A}\nUSER 10001\n",
		"chart/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":      "n: 1\n",
		"chart/templates/p.yaml": pod("c"),
	})
	// Within the defaults, no input error.
	run(t, dir, nil, "scan", "--fail-on", "none", ".").want(t, 0)
	run(t, dir, nil, "scan", "--fail-on", "none", "--max-expansion-size", "1KiB", "Dockerfile").
		want(t, 2, "Dockerfile:3", "--max-expansion-size")
	run(t, dir, nil, "scan", "--fail-on", "none", "--max-document-size", "64B", "pods.yaml").
		want(t, 2, "pods.yaml:1", "--max-document-size")
	run(t, dir, nil, "scan", "--fail-on", "none", "--max-document-size", "64B", "chart").
		want(t, 2, "--max-document-size")
	run(t, dir, nil, "scan", "--fail-on", "none", "--max-input-size", "100B", "pods.yaml").
		want(t, 2, "pods.yaml", "--max-input-size")
}
