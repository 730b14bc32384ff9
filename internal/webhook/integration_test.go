package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// testCA signs the webhook's serving certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeharden test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a serving certificate for 127.0.0.1 with the serial into
// dir/tls.crt and dir/tls.key, each replaced atomically.
func (ca *testCA) issue(t testing.TB, dir string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "kubeharden"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b *pem.Block) {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("tls.key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	write("tls.crt", &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// running is a webhook served in-process on loopback.
type running struct {
	url, dir string
	srv      *Server
	stop     func()
}

func startWebhook(t testing.TB, ca *testCA, cfgYAML string, cluster *rest.Config) *running {
	t.Helper()
	dir := t.TempDir()
	ca.issue(t, dir, 100)
	reg := checks.Registry()
	cfg, err := config.Parse("k.yaml", []byte(cfgYAML), func(id string) bool { return reg.Get(id) != nil })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{
		Options:  Options{Registry: reg, Policy: policy.New(cfg, reg, time.Time{}), Namespace: "kubeharden"},
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		Cluster: cluster,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return &running{url: "https://" + ln.Addr().String(), dir: dir, srv: srv, stop: stop}
}

// selectorFor selects the namespaces labelled scenario=name, never the
// system ones nor the webhook's own: the shipped registration's exclusions.
func selectorFor(scenario string) *metav1.LabelSelector {
	return &metav1.LabelSelector{
		MatchLabels: map[string]string{"scenario": scenario},
		MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
			Values: []string{"kube-system", "kube-node-lease", "kubeharden"},
		}},
	}
}

var deploymentRules = []admissionregistrationv1.RuleWithOperations{{
	Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
	Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "deployments/scale"}},
}}

// register registers url (validating, or mutating at /mutate) for the
// namespaces of sel.
func register(t *testing.T, c kubernetes.Interface, name, url string, ca []byte, fp admissionregistrationv1.FailurePolicyType, sel *metav1.LabelSelector, mutating bool) {
	t.Helper()
	ctx := context.Background()
	none := admissionregistrationv1.SideEffectClassNone
	if mutating {
		u := url + "/mutate"
		_, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "mutate.kubeharden.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: ca},
				Rules: deploymentRules, FailurePolicy: &fp, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
				TimeoutSeconds: ptr.To[int32](3), NamespaceSelector: sel,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	u := url + "/validate"
	_, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.kubeharden.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: ca},
			Rules: deploymentRules, FailurePolicy: &fp, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds: ptr.To[int32](3), NamespaceSelector: sel,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func deployment(t *testing.T, y, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := yaml.Unmarshal([]byte(y), &d); err != nil {
		t.Fatal(err)
	}
	d.Name, d.Namespace = name, ""
	return &d
}

// create creates d in ns (or only tries, with dryRun).
func create(c kubernetes.Interface, ns string, d *appsv1.Deployment, dryRun bool) (*appsv1.Deployment, error) {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.AppsV1().Deployments(ns).Create(context.Background(), d, opts)
}

// waitDenied waits for the registration to take effect: a dry-run create
// of d in ns is denied by kubeharden.
func waitDenied(t *testing.T, c kubernetes.Interface, ns string, d *appsv1.Deployment) error {
	t.Helper()
	var denial error
	testenv.Eventually(t, func(context.Context) error {
		_, err := create(c, ns, d, true)
		if err == nil || !strings.Contains(err.Error(), "kubeharden denied") {
			return fmt.Errorf("not denied yet: %w", err)
		}
		denial = err
		return nil
	})
	return denial
}

// checkIDs are the checks the scan finds on y.
func checkIDs(t *testing.T, y []byte) map[string]bool {
	ids := map[string]bool{}
	for _, f := range scanFindings(t, y) {
		ids[f.Check] = true
	}
	return ids
}

// TestIntegration runs webhooks in-process, registered by URL with their
// CA bundle in a real kube-apiserver, and proves what the issue asks.
func TestIntegration(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()
	ca := newCA(t)
	for _, ns := range []string{"enforce", "warn", "mutate", "np", "nosync", "down"} {
		env.CreateNamespace(t, ns, map[string]string{"scenario": ns})
	}
	legacy := deployment(t, insecure, "legacy")
	if _, err := create(c, "enforce", legacy, false); err != nil {
		t.Fatal(err)
	}

	enforce := startWebhook(t, ca, "admission: {mode: enforce}\n", env.Config)
	// Ready: the certificate loaded and the cluster's facts synced, so
	// that findings on facts are enforced too.
	testenv.Eventually(t, func(context.Context) error { return enforce.srv.Ready() })
	register(t, c, "enforce", enforce.url, ca.pem, admissionregistrationv1.Ignore, selectorFor("enforce"), false)

	t.Run("insecure Deployment denied with every reason", func(t *testing.T) {
		err := waitDenied(t, c, "enforce", deployment(t, insecure, "web"))
		if !apierrors.IsForbidden(err) {
			t.Errorf("not Forbidden: %v", err)
		}
		for id := range checkIDs(t, []byte(insecure)) {
			if !strings.Contains(err.Error(), "["+id+"]") {
				t.Errorf("denial lacks %s:\n%v", id, err)
			}
		}
		if !strings.Contains(err.Error(), "(at spec.template.spec.containers[0].securityContext.privileged)") {
			t.Errorf("denial lacks field paths:\n%v", err)
		}
		if _, err := c.AppsV1().Deployments("enforce").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("denied Deployment stored: %v", err)
		}
	})

	t.Run("UPDATE of a legacy Deployment that changes replicas or labels is allowed", func(t *testing.T) {
		d, err := c.AppsV1().Deployments("enforce").Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = ptr.To[int32](3)
		d.Labels = map[string]string{"team": "shop"}
		if _, err = c.AppsV1().Deployments("enforce").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("relabel and scale denied: %v", err)
		}
		s, err := c.AppsV1().Deployments("enforce").GetScale(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Replicas = 2
		if _, err := c.AppsV1().Deployments("enforce").UpdateScale(ctx, "legacy", s, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("scale subresource denied: %v", err)
		}
		// A change that adds a finding is still denied.
		d, _ = c.AppsV1().Deployments("enforce").Get(ctx, "legacy", metav1.GetOptions{})
		d.Spec.Template.Spec.HostPID = true
		if _, err := c.AppsV1().Deployments("enforce").Update(ctx, d, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "[host-namespaces]") {
			t.Errorf("update adding hostPID: %v", err)
		}
	})

	t.Run("kube-system is never blocked", func(t *testing.T) {
		// A registration that selects kube-system: the webhook's own
		// exclusion admits it all the same.
		only := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}}
		register(t, c, "kube-system", enforce.url, ca.pem, admissionregistrationv1.Fail, only, false)
		// The registration is live once a namespace it selects is judged:
		// kube-system never is, so prove liveness on a twin that selects
		// the enforce namespace too.
		both := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"kube-system", "enforce"},
		}}}
		register(t, c, "kube-system-twin", enforce.url, ca.pem, admissionregistrationv1.Fail, both, false)
		waitDenied(t, c, "enforce", deployment(t, insecure, "probe"))
		if _, err := create(c, "kube-system", deployment(t, insecure, "system"), false); err != nil {
			t.Errorf("kube-system blocked: %v", err)
		}
		for _, name := range []string{"kube-system", "kube-system-twin"} {
			_ = c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
		}
	})

	t.Run("warn mode creates and the client sees the warnings", func(t *testing.T) {
		w := startWebhook(t, ca, "admission: {mode: warn}\n", env.Config)
		register(t, c, "warn", w.url, ca.pem, admissionregistrationv1.Ignore, selectorFor("warn"), false)
		var got *testenv.Warnings
		testenv.Eventually(t, func(context.Context) error {
			got = &testenv.Warnings{}
			cfg := rest.CopyConfig(env.Config)
			cfg.WarningHandler = got
			wc := kubernetes.NewForConfigOrDie(cfg)
			_, err := create(wc, "warn", deployment(t, insecure, "web"), true)
			if err != nil {
				return err
			}
			if len(got.List()) == 0 {
				return errors.New("no warnings yet")
			}
			return nil
		})
		joined := strings.Join(got.List(), "\n")
		for id := range checkIDs(t, []byte(insecure)) {
			if !strings.Contains(joined, "["+id+"]") {
				t.Errorf("no warning for %s:\n%s", id, joined)
			}
		}
		if _, err := create(c, "warn", deployment(t, insecure, "web"), false); err != nil {
			t.Errorf("warn mode denied: %v", err)
		}
	})

	t.Run("mutation hardens the stored object", func(t *testing.T) {
		mutated := []string{"seccomp-profile", "allow-privilege-escalation", "capabilities-drop-all", "read-only-root-filesystem", "automount-service-account-token"}
		m := startWebhook(t, ca, "admission:\n  mode: audit\n  mutate: ["+strings.Join(mutated, ", ")+"]\n", env.Config)
		register(t, c, "mutate", m.url, ca.pem, admissionregistrationv1.Ignore, selectorFor("mutate"), true)
		plain := strings.Replace(insecure, "securityContext: {privileged: true}", "securityContext: {}", 1)
		before := checkIDs(t, []byte(plain))
		testenv.Eventually(t, func(context.Context) error {
			d, err := create(c, "mutate", deployment(t, plain, "web"), true)
			if err != nil {
				return err
			}
			if d.Spec.Template.Spec.SecurityContext == nil || d.Spec.Template.Spec.SecurityContext.SeccompProfile == nil {
				return errors.New("not mutated yet")
			}
			return nil
		})
		stored, err := create(c, "mutate", deployment(t, plain, "web"), false)
		if err != nil {
			t.Fatal(err)
		}
		stored, err = c.AppsV1().Deployments("mutate").Get(ctx, stored.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stored.APIVersion, stored.Kind = "apps/v1", "Deployment"
		data, _ := json.Marshal(stored)
		after := checkIDs(t, data)
		for _, id := range mutated {
			if !before[id] {
				t.Errorf("%s: no finding before mutation, nothing proved", id)
			}
			if after[id] {
				t.Errorf("%s: the stored object still has the finding", id)
			}
		}
		if !after["image-digest"] {
			t.Error("a check not opted in was fixed")
		}
	})

	t.Run("cross-object check waits for the informers and uses cluster facts", func(t *testing.T) {
		only := "admission: {mode: off, checks: {network-policy-coverage: enforce}}\n"
		// Credentials that may list nothing: the informers never sync.
		nobody := env.User(t, "nobody")
		ns := startWebhook(t, ca, only, nobody.Config)
		register(t, c, "nosync", ns.url, ca.pem, admissionregistrationv1.Fail, selectorFor("nosync"), false)
		var got *testenv.Warnings
		testenv.Eventually(t, func(context.Context) error {
			got = &testenv.Warnings{}
			cfg := rest.CopyConfig(env.Config)
			cfg.WarningHandler = got
			if _, err := create(kubernetes.NewForConfigOrDie(cfg), "nosync", deployment(t, insecure, "web"), true); err != nil {
				return fmt.Errorf("denied before sync: %w", err)
			}
			if len(got.List()) == 0 {
				return errors.New("webhook not live yet")
			}
			return nil
		})
		if !strings.Contains(strings.Join(got.List(), "\n"), "not enforced until the cluster's objects are known") {
			t.Errorf("warnings: %q", got.List())
		}
		if err := ns.srv.Ready(); err == nil {
			t.Error("ready without synced informers")
		}

		synced := startWebhook(t, ca, only, env.Config)
		_, err := c.NetworkingV1().NetworkPolicies("np").Create(ctx, &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		register(t, c, "np", synced.url, ca.pem, admissionregistrationv1.Fail, selectorFor("np"), false)
		other := deployment(t, strings.ReplaceAll(insecure, "app: web", "app: other"), "other")
		denial := waitDenied(t, c, "np", other)
		if !strings.Contains(denial.Error(), "[network-policy-coverage]") {
			t.Errorf("denial: %v", denial)
		}
		if _, err := create(c, "np", deployment(t, insecure, "web"), false); err != nil {
			t.Errorf("a Deployment the cluster's NetworkPolicy covers was denied: %v", err)
		}
		if err := synced.srv.Ready(); err != nil {
			t.Errorf("not ready: %v", err)
		}
	})

	t.Run("rotated certificate served without a restart", func(t *testing.T) {
		serial := func() (int64, error) {
			pool := x509.NewCertPool()
			pool.AddCert(ca.cert)
			conn, err := tls.Dial("tcp", strings.TrimPrefix(enforce.url, "https://"), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
			if err != nil {
				return 0, err
			}
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
		}
		if s, err := serial(); err != nil || s != 100 {
			t.Fatalf("serial %d, %v", s, err)
		}
		ca.issue(t, enforce.dir, 200)
		testenv.Eventually(t, func(context.Context) error {
			if s, err := serial(); err != nil || s != 200 {
				return fmt.Errorf("serial %d, %w", s, err)
			}
			return nil
		})
		// The API server still reaches it.
		waitDenied(t, c, "enforce", deployment(t, insecure, "again"))
	})

	t.Run("doctor", func(t *testing.T) {
		var out strings.Builder
		problems, err := Doctor(ctx, DoctorOptions{Client: c, Name: "enforce", Out: &out})
		if err != nil || problems != 0 {
			t.Errorf("sound installation: %d problems, %v\n%s", problems, err, &out)
		}
		other := newCA(t)
		bad := "https://" + strings.TrimPrefix(enforce.url, "https://")
		register(t, c, "bad", bad, other.pem, admissionregistrationv1.Ignore, nil, false)
		out.Reset()
		problems, err = Doctor(ctx, DoctorOptions{Client: c, Name: "bad", Out: &out, Now: time.Now().Add(80 * 24 * time.Hour), FailurePolicy: "Fail"})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"caBundle does not verify", "namespace kube-system is not excluded", "WARN", "expires on", "failurePolicy is Ignore, but the configuration chose Fail"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("doctor output lacks %q:\n%s", want, &out)
			}
		}
		if problems < 4 {
			t.Errorf("%d problems:\n%s", problems, &out)
		}
		_ = c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, "bad", metav1.DeleteOptions{})

		// Registered by service: its namespace must be excluded too, and
		// the doctor dials the service's cluster DNS name.
		fp := admissionregistrationv1.Ignore
		none := admissionregistrationv1.SideEffectClassNone
		_, err = c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "by-service"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name: "validate.kubeharden.io",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{
					Service:  &admissionregistrationv1.ServiceReference{Namespace: "security", Name: "kubeharden", Port: ptr.To[int32](8443)},
					CABundle: ca.pem,
				},
				Rules: deploymentRules, FailurePolicy: &fp, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
				NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", "kube-node-lease"},
				}}},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		problems, err = Doctor(ctx, DoctorOptions{Client: c, Name: "by-service", Out: &out, DialTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"namespace security is not excluded", "cannot reach kubeharden.security.svc:8443", "timeoutSeconds 10 holds every judged write", "ok    ValidatingWebhookConfiguration/by-service validate.kubeharden.io: namespace kube-system excluded"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("doctor output lacks %q:\n%s", want, &out)
			}
		}
		if problems != 3 {
			t.Errorf("%d problems, want 3:\n%s", problems, &out)
		}
		if _, err := Doctor(ctx, DoctorOptions{Client: c, Name: "absent", Out: io.Discard}); err == nil {
			t.Error("no error for a name with no registration")
		}
	})

	t.Run("webhook stopped: Ignore admits, Fail denies", func(t *testing.T) {
		down := startWebhook(t, ca, "admission: {mode: enforce}\n", env.Config)
		register(t, c, "down", down.url, ca.pem, admissionregistrationv1.Ignore, selectorFor("down"), false)
		waitDenied(t, c, "down", deployment(t, insecure, "probe"))
		down.stop()
		testenv.Eventually(t, func(context.Context) error {
			_, err := create(c, "down", deployment(t, insecure, "web"), true)
			return err
		})
		v, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "down", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fail := admissionregistrationv1.Fail
		v.Webhooks[0].FailurePolicy = &fail
		if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, v, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, func(context.Context) error {
			_, err := create(c, "down", deployment(t, insecure, "web"), true)
			if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
				return fmt.Errorf("not failed closed: %w", err)
			}
			return nil
		})
		// The shipped exclusions keep kube-system writable even then.
		if _, err := create(c, "kube-system", deployment(t, insecure, "closed"), true); err != nil {
			t.Errorf("kube-system blocked by a fail-closed webhook that is down: %v", err)
		}
	})
}
