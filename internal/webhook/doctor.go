package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// MaxTimeoutSeconds is the longest timeoutSeconds the doctor accepts: a
// slow webhook holds every write of the cluster that long.
const MaxTimeoutSeconds = 3

// ExpiryWarning is how long before its expiry a served certificate is
// reported.
const ExpiryWarning = 30 * 24 * time.Hour

// DoctorOptions configure Doctor.
type DoctorOptions struct {
	Client kubernetes.Interface
	// Name is the name of the webhook configurations.
	Name string
	Out  io.Writer
	// Now is the time expiry is judged at; zero means now.
	Now time.Time
	// DialTimeout bounds each handshake; 0 means 5 s.
	DialTimeout time.Duration
	// FailurePolicy is the profile chosen (admission.failurePolicy:
	// Ignore or Fail); a webhook registered otherwise is a problem. ""
	// accepts either.
	FailurePolicy string
}

// Doctor checks the installation of the webhook configurations named
// opts.Name, prints each check's result and what to fix, and returns the
// number of problems (warnings are printed, not counted). It fails when
// neither configuration can be read.
func Doctor(ctx context.Context, opts DoctorOptions) (int, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	d := &doctor{DoctorOptions: opts}
	found := 0
	ar := opts.Client.AdmissionregistrationV1()
	v, err := ar.ValidatingWebhookConfigurations().Get(ctx, opts.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		found++
		for _, w := range v.Webhooks {
			d.check(ctx, "ValidatingWebhookConfiguration", w.Name, w.ClientConfig, w.FailurePolicy, w.TimeoutSeconds, w.NamespaceSelector)
		}
	case !apierrors.IsNotFound(err):
		return 0, fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", opts.Name, err)
	}
	m, err := ar.MutatingWebhookConfigurations().Get(ctx, opts.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		found++
		for _, w := range m.Webhooks {
			d.check(ctx, "MutatingWebhookConfiguration", w.Name, w.ClientConfig, w.FailurePolicy, w.TimeoutSeconds, w.NamespaceSelector)
		}
	case !apierrors.IsNotFound(err):
		return 0, fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", opts.Name, err)
	}
	if found == 0 {
		return 0, fmt.Errorf("no ValidatingWebhookConfiguration or MutatingWebhookConfiguration named %q", opts.Name)
	}
	fmt.Fprintf(opts.Out, "%d problem(s), %d warning(s)\n", d.problems, d.warnings)
	return d.problems, nil
}

type doctor struct {
	DoctorOptions
	problems, warnings int
	prefix             string
}

func (d *doctor) ok(format string, args ...any) {
	fmt.Fprintf(d.Out, "ok    %s: %s\n", d.prefix, fmt.Sprintf(format, args...))
}

func (d *doctor) warn(fix, format string, args ...any) {
	d.warnings++
	fmt.Fprintf(d.Out, "WARN  %s: %s\n      fix: %s\n", d.prefix, fmt.Sprintf(format, args...), fix)
}

func (d *doctor) problem(fix, format string, args ...any) {
	d.problems++
	fmt.Fprintf(d.Out, "FAIL  %s: %s\n      fix: %s\n", d.prefix, fmt.Sprintf(format, args...), fix)
}

// check checks one webhook of a configuration.
func (d *doctor) check(ctx context.Context, kind, name string, cc admissionregistrationv1.WebhookClientConfig,
	fp *admissionregistrationv1.FailurePolicyType, timeout *int32, sel *metav1.LabelSelector) {
	d.prefix = kind + "/" + d.Name + " " + name
	switch {
	case fp == nil:
		d.problem("state failurePolicy: Ignore (fail-open, the default profile) or Fail (fail-closed)", "failurePolicy is not stated (the API server defaults it to Fail)")
	case d.FailurePolicy != "" && string(*fp) != d.FailurePolicy:
		d.problem("set failurePolicy: "+d.FailurePolicy+", or change admission.failurePolicy", "failurePolicy is %s, but the configuration chose %s", *fp, d.FailurePolicy)
	case *fp == admissionregistrationv1.Fail:
		d.ok("failurePolicy Fail: fail-closed, writes to judged namespaces fail while the webhook is down")
	default:
		d.ok("failurePolicy %s: fail-open", *fp)
	}
	switch {
	case timeout == nil:
		d.problem("set timeoutSeconds: 3", "timeoutSeconds is not stated (the API server defaults it to 10 s)")
	case *timeout > MaxTimeoutSeconds:
		d.problem("set timeoutSeconds: 3", "timeoutSeconds %d holds every judged write up to %d s when the webhook is slow", *timeout, *timeout)
	default:
		d.ok("timeoutSeconds %d", *timeout)
	}
	own := ""
	if cc.Service != nil {
		own = cc.Service.Namespace
	}
	d.exclusions(ctx, sel, own)
	d.endpoint(ctx, cc)
}

// exclusions checks that the namespace selector excludes the system
// namespaces and the webhook's own.
func (d *doctor) exclusions(ctx context.Context, sel *metav1.LabelSelector, own string) {
	s := labels.Everything()
	if sel != nil {
		var err error
		if s, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			d.problem("fix the namespaceSelector", "namespaceSelector is invalid: %v", err)
			return
		}
	}
	for _, ns := range append(append([]string{}, AlwaysExcluded...), own) {
		if ns == "" {
			continue
		}
		set := labels.Set{"kubernetes.io/metadata.name": ns}
		if n, err := d.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
			set = labels.Merge(set, n.Labels)
		}
		if s.Matches(set) {
			d.problem(`add to namespaceSelector.matchExpressions {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, kube-node-lease, <own namespace>]}`,
				"namespace %s is not excluded by the namespaceSelector: the webhook judges it, and an outage can stop the cluster from healing", ns)
			continue
		}
		d.ok("namespace %s excluded", ns)
	}
}

// endpoint dials the webhook, checks that the caBundle verifies the
// certificate it serves, and its expiry.
func (d *doctor) endpoint(ctx context.Context, cc admissionregistrationv1.WebhookClientConfig) {
	var host, port string
	switch {
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		if err != nil || u.Scheme != "https" {
			d.problem("use an https:// URL", "clientConfig.url %q is not an https URL", *cc.URL)
			return
		}
		host, port = u.Hostname(), u.Port()
		if port == "" {
			port = "443"
		}
	case cc.Service != nil:
		host = cc.Service.Name + "." + cc.Service.Namespace + ".svc"
		port = "443"
		if cc.Service.Port != nil {
			port = strconv.Itoa(int(*cc.Service.Port))
		}
	default:
		d.problem("set clientConfig.service or clientConfig.url", "clientConfig names no service and no URL")
		return
	}
	addr := net.JoinHostPort(host, port)
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: d.DialTimeout},
		// The chain is verified below against the caBundle, to tell a
		// wrong bundle from an unreachable service.
		Config: &tls.Config{InsecureSkipVerify: true, ServerName: host, MinVersion: tls.VersionTLS12}} //nolint:gosec // verified against the caBundle below
	dctx, cancel := context.WithTimeout(ctx, d.DialTimeout)
	defer cancel()
	conn, err := dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		d.problem("check that the webhook's Pods are ready and its Service selects them (or, from outside the cluster, run the doctor in it)",
			"cannot reach %s: %v", addr, err)
		return
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	d.ok("reachable at %s", addr)
	chain := state.PeerCertificates
	if len(chain) == 0 {
		d.problem("serve a certificate", "%s served no certificate", addr)
		return
	}
	leaf := chain[0]
	pool := x509.NewCertPool()
	if len(cc.CABundle) == 0 || !pool.AppendCertsFromPEM(cc.CABundle) {
		d.problem("set clientConfig.caBundle to the PEM of the CA that signed the serving certificate", "clientConfig.caBundle holds no certificate")
	} else {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: host, CurrentTime: d.Now}); err != nil {
			d.problem("put the CA that signed the served certificate in clientConfig.caBundle (or re-issue the certificate for "+host+")",
				"the caBundle does not verify the served certificate: %v", err)
		} else {
			d.ok("caBundle verifies the served certificate (serial %s)", leaf.SerialNumber)
		}
	}
	left := leaf.NotAfter.Sub(d.Now)
	switch {
	case left <= 0:
		d.problem("renew the serving certificate (it is reloaded from disk without a restart)", "the served certificate expired on %s", leaf.NotAfter.Format(time.DateOnly))
	case left < ExpiryWarning:
		d.warn("renew the serving certificate (it is reloaded from disk without a restart)", "the served certificate expires on %s, in %d days", leaf.NotAfter.Format(time.DateOnly), int(left.Hours()/24))
	default:
		d.ok("certificate valid until %s", leaf.NotAfter.Format(time.DateOnly))
	}
}
