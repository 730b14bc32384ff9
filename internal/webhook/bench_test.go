package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/testenv"
)

// workloads is the mix the benchmarks send: an insecure and a hardened
// Deployment, a bare Pod, a CronJob and a ServiceAccount, as CREATEs and
// one UPDATE, to /validate and /mutate.
func workloads(b *testing.B) [][]byte {
	b.Helper()
	hardened, err := os.ReadFile(filepath.Join("..", "..", "examples", "hardened-app", "deploy.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var objs []string
	for doc := range strings.SplitSeq(string(hardened), "\n---\n") {
		if strings.Contains(doc, "kind: Deployment") {
			objs = append(objs, doc)
		}
	}
	objs = append(objs, insecure,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - {name: a, image: busybox, securityContext: {runAsUser: 0}}\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: shop}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: a, image: busybox, securityContext: {allowPrivilegeEscalation: true}}]\n",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s, namespace: shop}\nautomountServiceAccountToken: false\n")
	var out [][]byte
	for _, o := range objs {
		j := jsonOf(b, o)
		out = append(out, reviewOf(b, admissionv1.Create, j, nil))
	}
	out = append(out, reviewOf(b, admissionv1.Update, jsonOf(b, insecure), jsonOf(b, insecure)))
	return out
}

func percentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkReview measures the handler alone (no TLS, no network) on the
// mix of workloads, half to /validate and half to /mutate, with findings
// enforced, warned and mutated.
func BenchmarkReview(b *testing.B) {
	h := handler(b, "admission:\n  mode: warn\n  severity: {critical: enforce}\n  mutate: [seccomp-profile, capabilities-drop-all, allow-privilege-escalation]\n", nil)
	bodies := workloads(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		path := "/validate"
		if i%2 == 1 {
			path = "/mutate"
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(bodies[i%len(bodies)]))
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("%d: %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	percentiles(b, lat)
}

// BenchmarkLoad is the issue's load test, run by `make bench-webhook`
// only: real AdmissionReviews of the mix, over HTTPS on loopback, at
// KUBEHARDEN_LOAD_RATE a second (1000) for KUBEHARDEN_LOAD_SECONDS (60),
// to one in-process server. It reports p50 and p99 latency as the client
// sees it, errors, and the process RSS before and after (the client's
// share included).
func BenchmarkLoad(b *testing.B) {
	rate := envInt("KUBEHARDEN_LOAD_RATE", 1000)
	seconds := envInt("KUBEHARDEN_LOAD_SECONDS", 60)
	ca := newCA(b)
	dir := b.TempDir()
	ca.issue(b, dir, 1)
	srv, err := NewServer(ServerOptions{
		Options:  Options{Policy: handler(b, "", nil).engine.Policy()},
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
	})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln) }()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64,
	}}
	bodies := workloads(b)
	url := "https://" + ln.Addr().String()
	for range b.N {
		rssBefore := rss()
		total := rate * seconds
		lat := make([]time.Duration, total)
		var errs atomic.Int64
		var wg sync.WaitGroup
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for i := range total {
			// Paced by the schedule, not a ticker (which drops ticks):
			// a late request is sent at once, and the rate holds.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			wg.Go(func() {
				path := "/validate"
				if i%2 == 1 {
					path = "/mutate"
				}
				t0 := time.Now()
				resp, err := client.Post(url+path, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err == nil {
					_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		percentiles(b, lat)
		b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(errs.Load()), "errors")
		b.ReportMetric(rssBefore, "rss-start-MiB")
		b.ReportMetric(rss(), "rss-end-MiB")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// rss is the process's resident set in MiB (Linux), 0 when unknown.
func rss() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkAPIServer measures what the webhook adds as users see it: Pod
// creates through a real kube-apiserver, KUBEHARDEN_APISERVER_PODS (2000)
// by 16 clients at once, without the webhook and then with it registered
// (validating, warn mode, so every Pod is judged and admitted with its
// warnings). Run by `make bench-webhook` only.
func BenchmarkAPIServer(b *testing.B) {
	n := envInt("KUBEHARDEN_APISERVER_PODS", 2000)
	env := testenv.Start(b)
	ca := newCA(b)
	w := startWebhook(b, ca, "admission: {mode: warn}\n", env.Config)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.WarningHandler = rest.NoWarnings{}
	c := kubernetes.NewForConfigOrDie(cfg)
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		}
	}
	phase := func(ns string) {
		env.CreateNamespace(b, ns, map[string]string{"scenario": ns})
		lat := make([]time.Duration, n)
		var next atomic.Int64
		var errs atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 16 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					t0 := time.Now()
					if _, err := c.CoreV1().Pods(ns).Create(context.Background(), pod("p"+strconv.Itoa(i)), metav1.CreateOptions{}); err != nil {
						errs.Add(1)
					}
					lat[i] = time.Since(t0)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(lat)
		b.ReportMetric(float64(n)/elapsed.Seconds(), ns+"-creates/s")
		b.ReportMetric(float64(lat[n/2].Microseconds())/1e3, ns+"-p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1e3, ns+"-p99-ms")
		b.ReportMetric(float64(errs.Load()), ns+"-errors")
	}
	for range b.N {
		phase("without")
		fp := admissionregistrationv1.Ignore
		none := admissionregistrationv1.SideEffectClassNone
		u := w.url + "/validate"
		_, err := env.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(context.Background(), &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "bench"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name: "validate.kubeharden.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: ca.pem},
				Rules: []admissionregistrationv1.RuleWithOperations{{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				}},
				FailurePolicy: &fp, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
				TimeoutSeconds: ptr.To[int32](3), NamespaceSelector: selectorFor("with"),
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		env.CreateNamespace(b, "probe", map[string]string{"scenario": "with"})
		// Live once a probe gets the webhook's warnings.
		got := &testenv.Warnings{}
		pcfg := rest.CopyConfig(env.Config)
		pcfg.WarningHandler = got
		pc := kubernetes.NewForConfigOrDie(pcfg)
		testenv.Eventually(b, func(ctx context.Context) error {
			if _, err := pc.CoreV1().Pods("probe").Create(ctx, pod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				return err
			}
			if len(got.List()) == 0 {
				return errors.New("webhook not live yet")
			}
			return nil
		})
		phase("with")
	}
}
