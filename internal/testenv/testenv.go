// Package testenv starts a real control plane, etcd and kube-apiserver, for
// the integration tests of the cluster audit and the admission webhook: no
// fake clients where the real server can run here.
//
// The binaries are built from Go modules by tools/controlplane/build.sh
// (`make controlplane`, which `make test` runs first) into a cache directory
// outside the repository, named by their versions; the Makefile passes it as
// $KUBEHARDEN_CONTROLPLANE. A test that needs a control plane fails, never
// skips, when the binaries are missing: a skipped integration test is one
// nobody notices is not running.
//
// Each Start runs its own etcd and API server on free ports (about 3.5 s and
// 300 MiB) and stops them when the test ends. The server is a bare API
// server: no controller manager, scheduler or nodes, so nothing creates
// service accounts, runs Pods or garbage-collects; CreateNamespace creates
// the "default" ServiceAccount a controller manager would.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// The versions tools/controlplane builds; a test keeps them in step with
// its go.mod files.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
)

// EnvDir names the variable that points at the directory holding the etcd
// and kube-apiserver binaries.
const EnvDir = "KUBEHARDEN_CONTROLPLANE"

// Dir returns the directory the binaries are taken from: $KUBEHARDEN_CONTROLPLANE
// when set, else the one tools/controlplane/build.sh builds into by default.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	cache := os.Getenv("KUBEHARDEN_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "kubeharden")
	}
	return filepath.Join(cache, "controlplane", "k8s-"+KubernetesVersion+"-etcd-"+EtcdVersion)
}

const healthzOnlyAnonymous = `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
anonymous:
  enabled: true
  conditions:
  - path: /healthz
`

// Option changes how the API server is started.
type Option func(*options)

type options struct {
	authorization []string
	enable        []string
	disable       []string
	admission     string
	audit         string
	flags         map[string][]string
}

// AuthorizationMode sets --authorization-mode. The default is RBAC, as on a
// real cluster; AlwaysAllow is the insecure mode the cluster audit reports.
// With AlwaysAllow the server refuses anonymous requests (it would
// otherwise serve everyone), except GET /healthz, which envtest probes.
func AuthorizationMode(modes ...string) Option {
	return func(o *options) { o.authorization = modes }
}

// EnableAdmissionPlugins adds to the API server's default admission plugins.
func EnableAdmissionPlugins(names ...string) Option {
	return func(o *options) { o.enable = append(o.enable, names...) }
}

// DisableAdmissionPlugins turns off default admission plugins, for instance
// ServiceAccount so that Pods need no ServiceAccount object.
func DisableAdmissionPlugins(names ...string) Option {
	return func(o *options) { o.disable = append(o.disable, names...) }
}

// AdmissionConfig passes an AdmissionConfiguration (YAML) as
// --admission-control-config-file, to configure PodSecurity and the like.
func AdmissionConfig(yaml string) Option {
	return func(o *options) { o.admission = yaml }
}

// AuditPolicy turns on audit logging with this audit Policy (YAML); the log
// is written to Env.AuditLog.
func AuditPolicy(yaml string) Option {
	return func(o *options) { o.audit = yaml }
}

// Flag sets any other API server flag (name without dashes), replacing the
// value the options above or the defaults give it.
func Flag(name string, values ...string) Option {
	return func(o *options) {
		if o.flags == nil {
			o.flags = map[string][]string{}
		}
		o.flags[name] = values
	}
}

// Env is a running control plane.
type Env struct {
	// Config is an administrator's (system:masters) client configuration.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// KubeConfig is a kubeconfig file's content for Config, for the CLI.
	KubeConfig []byte
	// AuditLog is the path of the audit log when AuditPolicy was given.
	AuditLog string

	env  *envtest.Environment
	log  *tail
	once sync.Once
	err  error
}

var setLogger sync.Once

// Start starts etcd and kube-apiserver and stops them when the test ends. It
// fails the test when the binaries are missing or the server does not start.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	setLogger.Do(func() { ctrllog.SetLogger(logr.Discard()) })

	dir := Dir()
	etcd, apiserver := filepath.Join(dir, "etcd"), filepath.Join(dir, "kube-apiserver")
	for _, bin := range []string{etcd, apiserver} {
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			t.Fatalf("testenv: no control plane binary %s (%s=%q): run `make controlplane`", bin, EnvDir, os.Getenv(EnvDir))
		}
	}

	var o options
	for _, opt := range opts {
		opt(&o)
	}
	work := t.TempDir()

	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		// The default is 20 s per component; a loaded CI machine running
		// several test binaries at once can need more. envtest tries five
		// times before it gives up.
		ControlPlaneStartTimeout: 30 * time.Second,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	log := &tail{max: 256 << 10}
	api := env.ControlPlane.GetAPIServer()
	// Explicit paths: envtest otherwise prefers $KUBEBUILDER_ASSETS, which
	// may hold other versions.
	api.Path = apiserver
	api.Out, api.Err = log, log
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd, Out: log, Err: log}

	args := api.Configure()
	// A machine without a default route has no address to advertise; with
	// loopback the server must not publish it as the kubernetes Service's
	// endpoint.
	args.Set("advertise-address", "127.0.0.1")
	args.Set("endpoint-reconciler-type", "none")
	authz := o.authorization
	if len(authz) == 0 {
		authz = []string{"RBAC"}
	}
	args.Set("authorization-mode", strings.Join(authz, ","))
	// envtest disables the ServiceAccount admission plugin; a real cluster
	// runs it, and CreateNamespace makes the accounts it looks up.
	args.Disable("disable-admission-plugins")
	if len(o.disable) > 0 {
		args.Set("disable-admission-plugins", strings.Join(o.disable, ","))
	}
	if len(o.enable) > 0 {
		args.Set("enable-admission-plugins", strings.Join(o.enable, ","))
	}
	if o.admission != "" {
		args.Set("admission-control-config-file", writeFile(t, work, "admission.yaml", o.admission))
	}
	e := &Env{env: env, log: log}
	if o.audit != "" {
		e.AuditLog = filepath.Join(work, "audit.log")
		args.Set("audit-policy-file", writeFile(t, work, "audit-policy.yaml", o.audit))
		args.Set("audit-log-path", e.AuditLog)
	}
	for name, values := range o.flags {
		args.Set(name, values...)
	}
	// With AlwaysAllow among the modes the server turns anonymous requests
	// off, and envtest's readiness probe (an anonymous GET /healthz) would
	// never pass: let anonymous requests reach /healthz and nothing else.
	if mode := args.Get("authorization-mode").Get(nil); len(mode) > 0 &&
		slices.Contains(strings.Split(strings.Join(mode, ","), ","), "AlwaysAllow") &&
		args.Get("authentication-config").Get(nil) == nil {
		args.Set("authentication-config", writeFile(t, work, "authentication.yaml", healthzOnlyAnonymous))
	}

	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("testenv: starting the control plane: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: control plane output (last %d KiB):\n%s", log.max>>10, log)
		}
		if err := e.Stop(); err != nil {
			t.Errorf("testenv: stopping the control plane: %v", err)
		}
	})
	t.Logf("testenv: control plane %s up in %v", KubernetesVersion, time.Since(start).Round(time.Millisecond))

	e.Config = cfg
	e.KubeConfig = env.KubeConfig
	e.Client = kubernetes.NewForConfigOrDie(cfg)
	e.DefaultServiceAccount(t, metav1.NamespaceDefault)
	return e
}

// Stop stops the control plane; Start arranges for it at the end of the test,
// and a second call does nothing.
func (e *Env) Stop() error {
	e.once.Do(func() { e.err = e.env.Stop() })
	return e.err
}

// CreateNamespace creates a namespace with these labels and its "default"
// ServiceAccount, failing the test on error.
func (e *Env) CreateNamespace(t testing.TB, name string, labels map[string]string) *corev1.Namespace {
	t.Helper()
	ns, err := e.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: creating namespace %q: %v", name, err)
	}
	e.DefaultServiceAccount(t, name)
	return ns
}

// DefaultServiceAccount creates the "default" ServiceAccount of a namespace
// unless it exists: without a controller manager nothing else does, and the
// ServiceAccount admission plugin refuses Pods that would use a missing one.
func (e *Env) DefaultServiceAccount(t testing.TB, namespace string) {
	t.Helper()
	_, err := e.Client.CoreV1().ServiceAccounts(namespace).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: namespace},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testenv: creating the default ServiceAccount of %q: %v", namespace, err)
	}
}

// User is a user the API server authenticates by client certificate.
type User struct {
	// Config is the user's client configuration.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// KubeConfig is a kubeconfig file's content for Config.
	KubeConfig []byte
}

// User provisions a user with this name and groups. It has no permissions
// beyond those of its groups (system:authenticated always) until RBAC
// objects grant them, unless the authorization mode is AlwaysAllow.
func (e *Env) User(t testing.TB, name string, groups ...string) *User {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, &rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		t.Fatalf("testenv: adding user %q: %v", name, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatalf("testenv: kubeconfig of user %q: %v", name, err)
	}
	return &User{Config: u.Config(), Client: kubernetes.NewForConfigOrDie(u.Config()), KubeConfig: kc}
}

// Eventually calls f until it returns nil, for 30 s at most, then fails the
// test with its last error. Some server state changes asynchronously: an
// admission webhook configuration, or an RBAC binding, takes effect a moment
// after it is created.
func Eventually(t testing.TB, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := f(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("testenv: still failing after 30 s: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return path
}

// tail keeps the last max bytes written to it: the control plane's output,
// shown when a test fails.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// Warnings records the warnings the API server sends a client: set it as
// rest.Config.WarningHandler. It is safe for concurrent requests.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// List returns the warnings recorded so far.
func (w *Warnings) List() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// Take returns the warnings recorded so far and forgets them.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}
