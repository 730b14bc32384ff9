// Package cluster reads the objects of a live cluster for the audit: it
// lists the kinds the checks read, page by page, and yields each object as
// a manifest document named after the object a person edits, so that the
// engine checks live objects exactly as it checks files.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/internal/source"
)

// DefaultPageSize is how many objects one list request asks for: the
// memory the audit holds at once is about one page.
const DefaultPageSize = 500

// Kind is a kind the audit lists.
type Kind struct {
	// Kind is the object kind, as in a manifest: "Deployment".
	Kind string
	// Resource is its API resource.
	Resource schema.GroupVersionResource
	// Namespaced is false for cluster-scoped kinds.
	Namespaced bool
	// Controlled objects (with a controller ownerReference) are skipped:
	// their findings belong on the owner a person edits.
	SkipControlled bool
}

// Kinds are the kinds the checks read, in the order they are listed.
func Kinds() []Kind {
	core := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	gvr := func(g, v, r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: v, Resource: r}
	}
	return []Kind{
		{Kind: "Namespace", Resource: core("namespaces")},
		{Kind: "Pod", Resource: core("pods"), Namespaced: true, SkipControlled: true},
		{Kind: "ReplicationController", Resource: core("replicationcontrollers"), Namespaced: true},
		{Kind: "Deployment", Resource: gvr("apps", "v1", "deployments"), Namespaced: true},
		{Kind: "StatefulSet", Resource: gvr("apps", "v1", "statefulsets"), Namespaced: true},
		{Kind: "DaemonSet", Resource: gvr("apps", "v1", "daemonsets"), Namespaced: true},
		{Kind: "ReplicaSet", Resource: gvr("apps", "v1", "replicasets"), Namespaced: true, SkipControlled: true},
		{Kind: "Job", Resource: gvr("batch", "v1", "jobs"), Namespaced: true, SkipControlled: true},
		{Kind: "CronJob", Resource: gvr("batch", "v1", "cronjobs"), Namespaced: true},
		{Kind: "Service", Resource: core("services"), Namespaced: true},
		{Kind: "ServiceAccount", Resource: core("serviceaccounts"), Namespaced: true},
		{Kind: "Secret", Resource: core("secrets"), Namespaced: true},
		{Kind: "NetworkPolicy", Resource: gvr("networking.k8s.io", "v1", "networkpolicies"), Namespaced: true},
		{Kind: "Role", Resource: gvr("rbac.authorization.k8s.io", "v1", "roles"), Namespaced: true},
		{Kind: "RoleBinding", Resource: gvr("rbac.authorization.k8s.io", "v1", "rolebindings"), Namespaced: true},
		{Kind: "ClusterRole", Resource: gvr("rbac.authorization.k8s.io", "v1", "clusterroles")},
		{Kind: "ClusterRoleBinding", Resource: gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings")},
	}
}

// tokenSecretType is the only Secret type a check reads; Secrets are
// listed by it, as metadata only, so that no secret data is ever fetched.
const tokenSecretType = "kubernetes.io/service-account-token"

// Options configure a Source.
type Options struct {
	// Name names the cluster in input errors (the kubeconfig context);
	// "" means "cluster".
	Name string
	// Namespace limits the audit to one namespace: namespaced kinds are
	// listed in it, the Namespace object itself is read, and cluster-scoped
	// RBAC is not listed. "" means every namespace.
	Namespace string
	// PageSize is the limit of each list request; 0 means DefaultPageSize.
	PageSize int64
}

// Source lists a cluster's objects.
type Source struct {
	dyn  dynamic.Interface
	meta metadata.Interface
	opts Options
}

// New returns a Source for the cluster of cfg.
func New(cfg *rest.Config, opts Options) (*Source, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the cluster client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the cluster client: %w", err)
	}
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	return &Source{dyn: dyn, meta: meta, opts: opts}, nil
}

// Items lists every kind of Kinds and yields an Opened item for the
// cluster, then one ManifestDoc per object, page by page, its File
// "<Kind>/<namespace>/<name>" (or "<Kind>/<name>"). A kind that cannot be
// listed is a Failed item, a coverage gap, and the others are still listed.
// It stops when ctx is done.
func (s *Source) Items(ctx context.Context) iter.Seq[source.Item] {
	return func(yield func(source.Item) bool) {
		if !yield(source.Item{Kind: source.Opened, Path: s.opts.Name}) {
			return
		}
		for _, k := range Kinds() {
			if ctx.Err() != nil {
				return
			}
			if !k.Namespaced && s.opts.Namespace != "" && k.Kind != "Namespace" {
				continue
			}
			err := s.list(ctx, k, yield)
			if errors.Is(err, errStop) || ctx.Err() != nil {
				return
			}
			if err != nil && !yield(source.Item{Kind: source.Failed, Err: s.listError(k, err)}) {
				return
			}
		}
	}
}

// errStop says the consumer stopped the iteration.
var errStop = errors.New("stopped")

func (s *Source) listError(k Kind, err error) source.Error {
	what := k.Kind
	if k.Namespaced && s.opts.Namespace != "" {
		what += " in namespace " + s.opts.Namespace
	}
	if apierrors.IsForbidden(err) {
		return source.Error{File: s.opts.Name, Message: fmt.Sprintf("cannot list %s: forbidden (coverage gap)", what), Err: fmt.Errorf("%w: %w", source.ErrCoverageGap, err)}
	}
	return source.Error{File: s.opts.Name, Message: fmt.Sprintf("cannot list %s: %v", what, err), Err: err}
}

// list lists one kind page by page into yield.
func (s *Source) list(ctx context.Context, k Kind, yield func(source.Item) bool) error {
	lo := metav1.ListOptions{Limit: s.opts.PageSize}
	ns := ""
	switch {
	case k.Namespaced:
		ns = s.opts.Namespace
	case s.opts.Namespace != "": // the Namespace object of the audited namespace
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.opts.Namespace).String()
	}
	if k.Kind == "Secret" {
		lo.FieldSelector = fields.OneTermEqualSelector("type", tokenSecretType).String()
	}
	for {
		cont, err := s.page(ctx, k, ns, lo, yield)
		if err != nil || cont == "" {
			return err
		}
		lo.Continue = cont
	}
}

// page lists one page and returns its continue token.
func (s *Source) page(ctx context.Context, k Kind, ns string, lo metav1.ListOptions, yield func(source.Item) bool) (string, error) {
	emit := func(obj map[string]any) error {
		u := unstructured.Unstructured{Object: obj}
		if k.SkipControlled && metav1.GetControllerOfNoCopy(&u) != nil {
			return nil
		}
		u.SetManagedFields(nil)
		u.SetAPIVersion(k.Resource.GroupVersion().String())
		u.SetKind(k.Kind)
		data, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", k.Kind, u.GetName(), err)
		}
		if !yield(source.Item{Kind: source.ManifestDoc, Doc: source.Document{File: docName(k, &u), Data: data}}) {
			return errStop
		}
		return nil
	}
	if k.Kind == "Secret" {
		list, err := s.meta.Resource(k.Resource).Namespace(ns).List(ctx, lo)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if err := emit(secretObject(&list.Items[i])); err != nil {
				return "", err
			}
		}
		return list.Continue, nil
	}
	list, err := s.dyn.Resource(k.Resource).Namespace(ns).List(ctx, lo)
	if err != nil {
		return "", err
	}
	for i := range list.Items {
		obj := list.Items[i].Object
		list.Items[i].Object = nil // one object at a time past this point
		if err := emit(obj); err != nil {
			return "", err
		}
	}
	return list.GetContinue(), nil
}

// secretObject rebuilds a Secret from its metadata and the type it was
// selected by. The last-applied annotation is dropped: kubectl apply copies
// the whole Secret, data included, into it.
func secretObject(m *metav1.PartialObjectMetadata) map[string]any {
	meta := m.ObjectMeta.DeepCopy()
	delete(meta.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	meta.ManagedFields = nil
	var mm map[string]any
	// ObjectMeta always encodes; a failure would leave the metadata empty.
	if b, err := json.Marshal(meta); err == nil {
		_ = json.Unmarshal(b, &mm)
	}
	return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": mm, "type": tokenSecretType}
}

func docName(k Kind, u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return k.Kind + "/" + ns + "/" + u.GetName()
	}
	return k.Kind + "/" + u.GetName()
}
