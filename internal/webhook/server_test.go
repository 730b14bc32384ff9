package webhook

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestServerEndpoints: /healthz answers at once, /readyz only once the
// certificate is loaded; /metrics counts requests, and decisions by check
// and mode, but not those of dry-run requests; audit findings are logged.
func TestServerEndpoints(t *testing.T) {
	dir := t.TempDir()
	reg := checks.Registry()
	cfg, err := config.Parse("k.yaml", []byte("admission: {mode: audit, checks: {privileged-container: enforce}}\n"), func(id string) bool { return reg.Get(id) != nil })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := NewServer(ServerOptions{
		Options:  Options{Registry: reg, Policy: policy.New(cfg, reg, time.Time{}), Logger: slog.New(slog.NewJSONHandler(&logs, nil))},
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz %d", code)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "certificate") {
		t.Errorf("readyz without a certificate: %d %s", code, body)
	}
	newCA(t).issue(t, dir, 7)
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("readyz with a certificate: %d %s", code, body)
	}

	post := func(body []byte) *admissionv1.AdmissionResponse {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return out.Response
	}
	body := reviewOf(t, admissionv1.Create, jsonOf(t, insecure), nil)
	if r := post(body); r.Allowed {
		t.Error("privileged container admitted")
	}
	var rv admissionv1.AdmissionReview
	_ = json.Unmarshal(body, &rv)
	yes := true
	rv.Request.DryRun = &yes
	dry, _ := json.Marshal(rv)
	post(dry)
	_, metrics := get(t, h, "/metrics")
	for _, want := range []string{
		`kubeharden_webhook_requests_total{endpoint="validate",outcome="denied"} 2`,
		`kubeharden_webhook_decisions_total{check="privileged-container",mode="enforce"} 1`,
		`kubeharden_webhook_decisions_total{check="image-digest",mode="audit"} 1`,
		`kubeharden_webhook_request_duration_seconds_count{endpoint="validate"} 2`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := strings.Count(logs.String(), `"check":"image-digest"`); n != 1 {
		t.Errorf("image-digest audited %d times (dry run included?):\n%s", n, &logs)
	}
}

// TestCertReload: a certificate replaced on disk is served at the next
// handshake; a half-written pair keeps the old one.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	ca.issue(t, dir, 1)
	r := newCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	serial := func() int64 {
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serial %d", s)
	}
	ca.issue(t, dir, 2)
	if s := serial(); s != 2 {
		t.Errorf("after rotation, serial %d", s)
	}
	// A key being rewritten (not yet a key): the old pair stays served.
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("-----BEGIN EC PRIV"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := serial(); s != 2 {
		t.Errorf("half-written pair: serial %d", s)
	}
	ca.issue(t, dir, 3)
	if s := serial(); s != 3 {
		t.Errorf("after the pair is complete again, serial %d", s)
	}
}
