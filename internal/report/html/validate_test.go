package html

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// EnvHTMLValidate names the html-validate binary (the npm package, pinned
// in the Makefile); `make html-validate` installs it under .cache and make
// sets this variable.
const EnvHTMLValidate = "KUBEHARDEN_HTML_VALIDATE"

// htmlValidateVersion is the version the Makefile installs; the test finds
// it under .cache when the variable is unset (go test run by hand).
const htmlValidateVersion = "9.7.1"

func htmlValidate(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvHTMLValidate); p != "" {
		return p
	}
	p := repoPath(".cache", "html-validate-"+htmlValidateVersion, "node_modules", ".bin", "html-validate")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no html-validate at %s and %s unset: run `make html-validate`", p, EnvHTMLValidate)
	}
	return p
}

// TestValidHTML runs the pages of every kind of result through
// html-validate's recommended rules (HTML5 content models, accessibility
// rules of WCAG: labels, headings, alt text, duplicate ids...).
func TestValidHTML(t *testing.T) {
	bin := htmlValidate(t)
	evil := `"><script>alert(1)</script>`
	live := &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: evil, Namespace: evil}
	hostile := &scan.Result{
		Findings: []check.Finding{
			{Check: evil, Severity: check.High, Object: live, Message: evil, Path: evil, Location: check.Location{File: "Deployment/x/y"}},
			{Check: "c", Severity: check.Low, Message: evil, Location: check.Location{File: evil, Line: 3}},
			{Check: "c", Severity: check.Medium, Message: "cluster", Location: check.Location{}},
		},
		Objects: 1,
	}
	example, _, _ := writePage(t, []string{repoPath("examples", "insecure-app")}, Options{})
	dir := t.TempDir()
	var files []string
	for name, page := range map[string][]byte{
		"full":      render(t, reporttest.Full(), Options{Version: reporttest.Version}),
		"clean":     render(t, reporttest.Clean(), Options{}),
		"errors":    render(t, reporttest.ErrorsOnly(), Options{}),
		"truncated": render(t, reporttest.Large(500), Options{MaxFindings: 50}),
		"hostile":   render(t, hostile, Options{}),
		"example":   render(t, example, Options{}),
		"baseline":  render(t, example, Options{Baseline: moved(example, 2, reporttest.Full().Findings[0])}),
	} {
		p := filepath.Join(dir, name+".html")
		if err := os.WriteFile(p, page, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--config", filepath.Join("testdata", "htmlvalidate.json"), "--formatter", "text"}, files...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("html-validate: %v\n%s", err, out)
	}
}
