package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/imageref"
	"github.com/kubeharden/kubeharden/internal/source"
)

// InspectOptions configure Inspect.
type InspectOptions struct {
	// Name names the cluster in errors (the kubeconfig context); ""
	// means "cluster".
	Name string
	// PageSize is the limit of each list request; 0 means DefaultPageSize.
	PageSize int64
	// ProbeAnonymous sends requests without credentials to the API server
	// (kubeharden cluster --probe-anonymous). It is off by default: the
	// requests show in the server's audit log as an anonymous user's.
	ProbeAnonymous bool
	// SkipNodes, SkipUpdaters and SkipRBAC leave a part unread, and
	// unknown, when no enabled check reads it: the audit then needs no
	// permission for it (see InspectRules).
	SkipNodes, SkipUpdaters, SkipRBAC bool
}

// InspectRules are the RBAC rules Inspect needs with opts.
func InspectRules(opts InspectOptions) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	if !opts.SkipNodes {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}})
	}
	if !opts.SkipUpdaters {
		rules = append(rules,
			rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"daemonsets"}, Verbs: []string{"list"}},
			rbacv1.PolicyRule{APIGroups: []string{planResource.Group}, Resources: []string{planResource.Resource}, Verbs: []string{"list"}})
	}
	if !opts.SkipRBAC {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}})
	}
	return rules
}

// Inspect gathers what the cluster checks read of a live cluster beyond
// its version: the nodes, the node updaters deployed (Kured DaemonSets,
// system-upgrade-controller Plans), whether the authorizer refuses a
// made-up user, and, when asked, what the API server answers requests
// without credentials. Each part it cannot read (forbidden: a coverage
// gap; or failed) is left unknown in Live and returned as an error, and
// the other parts are still read. It stops when ctx is done.
//
// The credentials need: list nodes, list daemonsets in every namespace,
// list plans.upgrade.cattle.io, create subjectaccessreviews (InspectRules).
func Inspect(ctx context.Context, cfg *rest.Config, opts InspectOptions) (*clustercheck.Live, []source.Error) {
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	in := &inspector{opts: opts, live: &clustercheck.Live{}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return in.live, []source.Error{in.fail("creating the cluster client", err)}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return in.live, []source.Error{in.fail("creating the cluster client", err)}
	}
	if !opts.SkipNodes {
		in.nodes(ctx, cs)
	}
	if !opts.SkipUpdaters {
		in.updaters(ctx, cs, dyn)
	}
	if !opts.SkipRBAC {
		in.rbac(ctx, cs)
	}
	if opts.ProbeAnonymous {
		in.anonymous(ctx, cfg)
	}
	return in.live, in.errs
}

type inspector struct {
	opts InspectOptions
	live *clustercheck.Live
	errs []source.Error
}

// fail makes the error of what could not be done: a coverage gap when
// the credentials forbid it.
func (in *inspector) fail(what string, err error) source.Error {
	if apierrors.IsForbidden(err) {
		return source.Error{File: in.opts.Name, Message: fmt.Sprintf("cannot %s: forbidden (coverage gap)", what), Err: fmt.Errorf("%w: %w", source.ErrCoverageGap, err)}
	}
	return source.Error{File: in.opts.Name, Message: fmt.Sprintf("cannot %s: %v", what, err), Err: err}
}

func (in *inspector) record(what string, err error) {
	in.errs = append(in.errs, in.fail(what, err))
}

// nodes lists the nodes, page by page, keeping their facts only.
func (in *inspector) nodes(ctx context.Context, cs kubernetes.Interface) {
	var nodes []clustercheck.Node
	lo := metav1.ListOptions{Limit: in.opts.PageSize}
	for {
		list, err := cs.CoreV1().Nodes().List(ctx, lo)
		if err != nil {
			in.record("list Node", err)
			return
		}
		for i := range list.Items {
			nodes = append(nodes, nodeFacts(&list.Items[i]))
		}
		if lo.Continue = list.Continue; lo.Continue == "" {
			break
		}
	}
	in.live.Nodes, in.live.NodesKnown = nodes, true
}

// poolLabels name a node's pool, most specific first.
var poolLabels = []string{
	"cloud.google.com/gke-nodepool",
	"eks.amazonaws.com/nodegroup",
	"alpha.eksctl.io/nodegroup-name",
	"kubernetes.azure.com/agentpool",
	"agentpool",
	"karpenter.sh/nodepool",
	"doks.digitalocean.com/node-pool",
	"kops.k8s.io/instancegroup",
}

// managedLabels show that a node's OS is updated without a node updater
// in the cluster: GKE node auto-upgrade (on by default, required on
// release channels) and AKS node OS upgrades (NodeImage by default),
// EKS Auto Mode (nodes replaced at least every 21 days), Bottlerocket's
// update operator. A value of "" matches any value. EKS managed node
// groups are not among them: their AMIs change only when someone starts
// an update.
var managedLabels = []struct{ key, value string }{
	{"cloud.google.com/gke-nodepool", ""},
	{"kubernetes.azure.com/agentpool", ""},
	{"eks.amazonaws.com/compute-type", "auto"},
	{"bottlerocket.aws/updater-interface-version", ""},
}

// kuredRebootAnnotations are set by Kured (--annotate-nodes) on a node
// that needs a reboot, from when it decides to reboot it until the node
// is back; the prefix changed from weave.works to kured.dev.
var kuredRebootAnnotations = []string{
	"weave.works/kured-reboot-in-progress",
	"kured.dev/kured-reboot-in-progress",
}

// maxFactLen bounds a label or annotation value quoted in a finding.
const maxFactLen = 80

// nodeFacts returns what the cluster checks read of a node.
func nodeFacts(n *corev1.Node) clustercheck.Node {
	info := n.Status.NodeInfo
	f := clustercheck.Node{Name: n.Name, KubeletVersion: info.KubeletVersion, KernelVersion: info.KernelVersion, OSImage: info.OSImage}
	for _, k := range poolLabels {
		if v := n.Labels[k]; v != "" {
			f.Pool = k + "=" + clip(v)
			break
		}
	}
	for _, m := range managedLabels {
		if v, ok := n.Labels[m.key]; ok && (m.value == "" || v == m.value) {
			f.ManagedUpdates = m.key + "=" + clip(v)
			break
		}
	}
	for _, k := range kuredRebootAnnotations {
		if v, ok := n.Annotations[k]; ok {
			f.RebootPending = k + "=" + clip(v)
			break
		}
	}
	return f
}

func clip(s string) string {
	if len(s) > maxFactLen {
		return s[:maxFactLen] + "..."
	}
	return s
}

// planResource is system-upgrade-controller's Plan.
var planResource = schema.GroupVersionResource{Group: "upgrade.cattle.io", Version: "v1", Resource: "plans"}

// updaters looks for the node updaters: DaemonSets running Kured, and
// system-upgrade-controller Plans. Their absence is known only when both
// could be looked for; one found is enough.
func (in *inspector) updaters(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface) {
	dsKnown := in.kuredDaemonSets(ctx, cs)
	plansKnown := in.plans(ctx, dyn)
	in.live.UpdatersKnown = (dsKnown && plansKnown) || len(in.live.Updaters) > 0
}

func (in *inspector) kuredDaemonSets(ctx context.Context, cs kubernetes.Interface) bool {
	lo := metav1.ListOptions{Limit: in.opts.PageSize}
	for {
		list, err := cs.AppsV1().DaemonSets("").List(ctx, lo)
		if err != nil {
			in.record("list DaemonSet", err)
			return false
		}
		for i := range list.Items {
			if ds := &list.Items[i]; runsKured(ds) {
				in.live.Updaters = append(in.live.Updaters, "DaemonSet "+ds.Namespace+"/"+ds.Name)
			}
		}
		if lo.Continue = list.Continue; lo.Continue == "" {
			return true
		}
	}
}

// runsKured reports whether a container of the DaemonSet runs a Kured
// image: one whose repository name contains "kured"
// (ghcr.io/kubereboot/kured, weaveworks/kured, a mirror's copy).
func runsKured(ds *appsv1.DaemonSet) bool {
	for _, c := range ds.Spec.Template.Spec.Containers {
		ref, err := imageref.Parse(c.Image)
		if err == nil && strings.Contains(path.Base(ref.Path), "kured") {
			return true
		}
	}
	return false
}

// maxPlans bounds the Plans named: one is enough to know there are some.
const maxPlans = 10

func (in *inspector) plans(ctx context.Context, dyn dynamic.Interface) bool {
	list, err := dyn.Resource(planResource).Namespace("").List(ctx, metav1.ListOptions{Limit: maxPlans})
	switch {
	case apierrors.IsNotFound(err):
		return true // no system-upgrade-controller CRD: no Plans
	case err != nil:
		in.record("list Plan (upgrade.cattle.io)", err)
		return false
	}
	for _, p := range list.Items {
		in.live.Updaters = append(in.live.Updaters, "Plan "+p.GetNamespace()+"/"+p.GetName())
	}
	return true
}

// rbac asks the authorizer whether a user made up for the purpose, in no
// group, may list the Secrets of every namespace. The name is random so
// that no binding can exist for it.
func (in *inspector) rbac(ctx context.Context, cs kubernetes.Interface) {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	user := "kubeharden-probe-" + hex.EncodeToString(b[:])
	sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               user,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Version: "v1", Resource: "secrets"},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		in.record("create SubjectAccessReview", err)
		return
	}
	in.live.RBAC = clustercheck.RBACProbe{Known: true, User: user, Allowed: sar.Status.Allowed, Reason: clip(sar.Status.Reason)}
}

// anonymousProbes are the requests sent without credentials: discovery,
// lists of sensitive kinds (one item at most), and the non-resource
// endpoints beyond the public ones. The public health and discovery
// endpoints (/healthz, /livez, /readyz, /version,
// /.well-known/openid-configuration, /openid/v1/jwks) are not asked.
var anonymousProbes = []string{
	"/api",
	"/apis",
	"/api/v1/namespaces?limit=1",
	"/api/v1/nodes?limit=1",
	"/api/v1/pods?limit=1",
	"/api/v1/secrets?limit=1",
	"/api/v1/configmaps?limit=1",
	"/api/v1/serviceaccounts?limit=1",
	"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?limit=1",
	"/metrics",
	"/logs/",
	"/debug/pprof/",
}

const (
	// anonymousTimeout bounds each anonymous request.
	anonymousTimeout = 10 * time.Second
	// maxAnonymousBody bounds what is read of an answer: only its status
	// matters, and reading a little lets the connection be reused.
	maxAnonymousBody = 64 << 10
)

// anonymous sends anonymousProbes with the cluster's address and TLS
// settings but no credentials, and records those answered with success.
func (in *inspector) anonymous(ctx context.Context, cfg *rest.Config) {
	anon := rest.AnonymousClientConfig(cfg)
	client, err := rest.HTTPClientFor(anon)
	if err != nil {
		in.record("probe anonymous access", err)
		return
	}
	base, _, err := rest.DefaultServerUrlFor(anon)
	if err != nil {
		in.record("probe anonymous access", err)
		return
	}
	var answered []string
	for _, p := range anonymousProbes {
		ok, err := anonymousGet(ctx, client, *base, p)
		if err != nil {
			in.record("probe anonymous access", err)
			return
		}
		if ok {
			pathOnly, _, _ := strings.Cut(p, "?")
			answered = append(answered, "GET "+pathOnly)
		}
	}
	in.live.Anonymous = clustercheck.AnonymousProbe{Known: true, Answered: answered}
}

// anonymousGet reports whether GET p (path and query) succeeds at base.
func anonymousGet(ctx context.Context, client *http.Client, base url.URL, p string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, anonymousTimeout)
	defer cancel()
	u := base
	u.Path, u.RawQuery, _ = strings.Cut(p, "?")
	u.Path = strings.TrimSuffix(base.Path, "/") + u.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnonymousBody))
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode >= 200 && resp.StatusCode < 300, nil
}
