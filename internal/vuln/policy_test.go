package vuln_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// TestVulnerabilityPolicy: vulnerabilities.severity drops what is below
// it, an ignore entry suppresses by ID or alias (listed with its reason,
// never dropped), an expired one suppresses nothing and is itself a
// finding, and OpenVEX not_affected and fixed statements for the image
// suppress while a later affected statement takes that back.
func TestVulnerabilityPolicy(t *testing.T) {
	img := debianImage(t)
	digest, _ := img.Digest()
	ref := WriteLayout(t, img)
	db, err := vuln.Open(context.Background(), e2eDB(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(".kubeharden.yaml", []byte(`vulnerabilities:
  severity: medium
  maxDatabaseAge: 3d
  ignore:
    - id: CVE-2024-0727
      reason: openssl CLI only, the app links BoringSSL
      expires: 2099-01-01
    - id: GHSA-9wx4-h78v-vm56
      package: requests
      reason: no cert verification off in our code
      expires: 2024-06-01
    - id: CVE-2021-44228
      package: not-log4j
      reason: another package
`), func(id string) bool { return checks.Registry().Get(id) != nil })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vexFile := filepath.Join(dir, "app.vex.json")
	os.WriteFile(vexFile, []byte(`{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/app-1",
  "author": "app team",
  "timestamp": "2024-06-01T00:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2021-23337"}, "products": [{"@id": "pkg:oci/app@`+strings.Replace(digest.String(), ":", "%3A", 1)+`", "subcomponents": [{"@id": "pkg:npm/lodash@4.17.20"}]}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "GHSA-h5c8-rqwp-cp95"}, "products": [{"@id": "registry.example/app@`+digest.String()+`"}], "status": "fixed"},
    {"vulnerability": {"name": "CVE-2099-0001"}, "products": [{"@id": "pkg:oci/app@`+strings.Replace(digest.String(), ":", "%3A", 1)+`"}], "status": "not_affected", "justification": "component_not_present"},
    {"vulnerability": {"name": "CVE-2099-0001"}, "products": [{"@id": "pkg:oci/app@`+strings.Replace(digest.String(), ":", "%3A", 1)+`"}], "status": "affected"},
    {"vulnerability": {"name": "CVE-2021-44228"}, "products": [{"@id": "pkg:oci/other@sha256%3A`+strings.Repeat("0", 64)+`"}], "status": "not_affected", "justification": "component_not_present"}
  ]
}`), 0o644)
	vex, err := vuln.ReadVEX(vexFile, limits.Default())
	if err != nil {
		t.Fatal(err)
	}
	res, fs := vulnFindings(t, ref, &vuln.Scanner{DB: db, VEX: []*vuln.VEX{vex}}, cfg)
	got := map[string]string{}
	for _, f := range fs {
		got[strings.SplitN(f.Message, " ", 3)[1]] = "reported"
	}
	for _, f := range res.Suppressed {
		if f.Check == "image-vulnerability" {
			got[strings.SplitN(f.Message, " ", 3)[1]] = f.Suppression().Kind + ": " + f.Suppression().Reason
		}
	}
	want := map[string]string{
		`"openssl"`:                             "config: openssl CLI only, the app links BoringSSL",
		`"requests"`:                            "reported", // its ignore expired
		`"lodash"`:                              "vex: not_affected: vulnerable_code_not_in_execute_path",
		`"Jinja2"`:                              "vex: fixed",
		`"github.com/spf13/pflag"`:              "reported", // a later statement says affected
		`"org.apache.logging.log4j:log4j-core"`: "reported", // statements of another package and image
		`"bsdutils"`:                            "reported",
		// zlib1g's is low, below the threshold: dropped.
	}
	if len(got) != len(want) {
		t.Errorf("got %d packages, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	var expired []string
	for _, f := range res.Findings {
		if f.Check == "expired-exemption" {
			expired = append(expired, f.Message+" @"+f.Path)
		}
	}
	if len(expired) != 1 || !strings.Contains(expired[0], "ignore of GHSA-9wx4-h78v-vm56 expired on 2024-06-01") || !strings.Contains(expired[0], "@vulnerabilities.ignore[1]") {
		t.Errorf("expired ignores: %v", expired)
	}
	if cfg.Vulnerabilities.MaxAge().Hours() != 72 {
		t.Errorf("maxDatabaseAge: %v", cfg.Vulnerabilities.MaxAge())
	}
}

// TestVEXErrors: documents that are not OpenVEX, or with a status or
// statement OpenVEX does not define, are errors.
func TestVEXErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"statements":[]}`, "no openvex @context"},
		{`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"maybe"}]}`, `status "maybe"`},
		{`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{},"status":"fixed"}]}`, "no vulnerability name"},
		{`[1]`, "not an OpenVEX document"},
	} {
		if _, err := vuln.ParseVEX([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
	// The 0.0.1 form: plain strings.
	v, err := vuln.ParseVEX([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":["pkg:oci/a@sha256:` + strings.Repeat("a", 64) + `"],"status":"not_affected"}]}`))
	if err != nil || len(v.Statements) != 1 || v.Statements[0].Vulnerability[0] != "CVE-1" || v.Statements[0].Products[0].ID == "" {
		t.Errorf("0.0.1 form: %+v %v", v, err)
	}
}
