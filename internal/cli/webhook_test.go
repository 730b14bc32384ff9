package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/testenv"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeharden"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestWebhookCommand runs `kubeharden webhook` against a real API server:
// it becomes ready once its informers have synced, serves /healthz and
// /metrics over TLS, and stops cleanly (exit 0) when its context is
// cancelled, as SIGTERM does.
func TestWebhookCommand(t *testing.T) {
	env := testenv.Start(t)
	dir := t.TempDir()
	pool := selfSigned(t, dir)
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	code := -1
	wg.Go(func() {
		code = Main(ctx, []string{"webhook", "--listen", addr, "--kubeconfig", kc,
			"--tls-cert", filepath.Join(dir, "tls.crt"), "--tls-key", filepath.Join(dir, "tls.key")},
			strings.NewReader(""), &stdout, &stderr)
	})
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	get := func(path string) error {
		resp, err := client.Get("https://" + addr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), "go_goroutines") {
			return fmt.Errorf("/metrics: %s", body)
		}
		return nil
	}
	testenv.Eventually(t, func(context.Context) error { return get("/readyz") })
	for _, p := range []string{"/healthz", "/metrics"} {
		if err := get(p); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	if code != ExitOK || stdout.Len() > 0 {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, &stdout, &stderr)
	}
	if !strings.Contains(stderr.String(), `"msg":"cluster facts synced"`) {
		t.Errorf("stderr:\n%s", &stderr)
	}
}
