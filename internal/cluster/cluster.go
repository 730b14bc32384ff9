// Package cluster reads the objects of a live cluster for the audit: it
// lists the kinds the checks read, namespace by namespace and page by page,
// and yields each object as a manifest document named after the object a
// person edits, so that the engine checks live objects exactly as it
// checks files.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

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
// memory the audit holds at once is about one page per namespace listed
// ahead (see Prefetch).
const DefaultPageSize = 500

// Prefetch is how many namespaces are listed at once: while the engine
// reads one, the next are already on their way, which hides the round
// trips of a remote API server. Their objects are still yielded
// namespace by namespace, in order.
const Prefetch = 4

// queued is how many objects of a namespace listed ahead wait for the
// engine before its lister blocks.
const queued = 64

// Kind is a kind the audit lists.
type Kind struct {
	// Kind is the object kind, as in a manifest: "Deployment".
	Kind string
	// Resource is its API resource.
	Resource schema.GroupVersionResource
	// Namespaced is false for cluster-scoped kinds.
	Namespaced bool
	// PodTemplate kinds carry a pod template: an object they control
	// (a ReplicaSet of a Deployment, a Pod of a ReplicaSet, a Job of a
	// CronJob) is judged on them, and skipped.
	PodTemplate bool
	// Controlled kinds are mostly created by a controller: they are
	// listed as metadata first (see judgedInPage).
	Controlled bool
}

// Kinds are the kinds the checks may read, in the order they are listed.
func Kinds() []Kind {
	core := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	gvr := func(g, v, r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: v, Resource: r}
	}
	return []Kind{
		{Kind: "Namespace", Resource: core("namespaces")},
		{Kind: "ClusterRole", Resource: gvr("rbac.authorization.k8s.io", "v1", "clusterroles")},
		{Kind: "ClusterRoleBinding", Resource: gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings")},
		{Kind: "Pod", Resource: core("pods"), Namespaced: true, Controlled: true},
		{Kind: "ReplicationController", Resource: core("replicationcontrollers"), Namespaced: true, PodTemplate: true},
		{Kind: "Deployment", Resource: gvr("apps", "v1", "deployments"), Namespaced: true, PodTemplate: true},
		{Kind: "StatefulSet", Resource: gvr("apps", "v1", "statefulsets"), Namespaced: true, PodTemplate: true},
		{Kind: "DaemonSet", Resource: gvr("apps", "v1", "daemonsets"), Namespaced: true, PodTemplate: true},
		{Kind: "ReplicaSet", Resource: gvr("apps", "v1", "replicasets"), Namespaced: true, PodTemplate: true, Controlled: true},
		{Kind: "Job", Resource: gvr("batch", "v1", "jobs"), Namespaced: true, PodTemplate: true, Controlled: true},
		{Kind: "CronJob", Resource: gvr("batch", "v1", "cronjobs"), Namespaced: true, PodTemplate: true},
		{Kind: "Service", Resource: core("services"), Namespaced: true},
		{Kind: "ServiceAccount", Resource: core("serviceaccounts"), Namespaced: true},
		{Kind: "Secret", Resource: core("secrets"), Namespaced: true},
		{Kind: "NetworkPolicy", Resource: gvr("networking.k8s.io", "v1", "networkpolicies"), Namespaced: true},
		{Kind: "Role", Resource: gvr("rbac.authorization.k8s.io", "v1", "roles"), Namespaced: true},
		{Kind: "RoleBinding", Resource: gvr("rbac.authorization.k8s.io", "v1", "rolebindings"), Namespaced: true},
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
	// Kinds are the kinds to list (see Needed); nil means all of Kinds().
	// The namespaces are listed in any case, to go through them one by one.
	Kinds []Kind
	// Progress, when set, is told of each object yielded, from the
	// goroutine that ranges over Items.
	Progress func(Progress)
}

// Progress is how far the listing is.
type Progress struct {
	// Kind and Namespace are what is being listed.
	Kind, Namespace string
	// Objects is the number of objects yielded so far, of every kind.
	Objects int
}

// Source lists a cluster's objects.
type Source struct {
	dyn  dynamic.Interface
	meta metadata.Interface
	opts Options

	mu      sync.Mutex
	builtIn map[string]bool
}

// BuiltIn tells whether the object listed as file (a document's File) is
// one Kubernetes creates itself: the default RBAC roles and bindings
// (labelled kubernetes.io/bootstrapping: rbac-defaults), the kubernetes
// Service and the default ServiceAccount of the default namespace. Their
// findings are the cluster's, not the user's. Valid once Items is done.
func (s *Source) BuiltIn(file string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.builtIn[file]
}

func (s *Source) markBuiltIn(file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.builtIn == nil {
		s.builtIn = map[string]bool{}
	}
	s.builtIn[file] = true
}

// builtIn tells whether Kubernetes itself created u (see BuiltIn).
func builtIn(k Kind, u *unstructured.Unstructured) bool {
	if u.GetLabels()["kubernetes.io/bootstrapping"] == "rbac-defaults" {
		return true
	}
	return u.GetNamespace() == "default" && (k.Kind == "Service" && u.GetName() == "kubernetes" || k.Kind == "ServiceAccount" && u.GetName() == "default")
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
	if opts.Kinds == nil {
		opts.Kinds = Kinds()
	}
	return &Source{dyn: dyn, meta: meta, opts: opts}, nil
}

// Items yields an Opened item for the cluster, then one ManifestDoc per
// object, its File "<Kind>/<namespace>/<name>" (or "<Kind>/<name>"): the
// Namespaces, the cluster-scoped kinds, then each namespace's kinds,
// namespace after namespace, each page by page. A kind that cannot be
// listed is a Failed item, and the others are still listed; a kind the
// credentials may not list is a coverage gap (source.ErrCoverageGap),
// one per kind however many namespaces it is forbidden in, after the
// objects. It stops when ctx is done.
func (s *Source) Items(ctx context.Context) iter.Seq[source.Item] {
	return func(yield func(source.Item) bool) {
		l := &lister{Source: s, yield: yield, forbidden: map[string][]string{}}
		if !yield(source.Item{Kind: source.Opened, Path: s.opts.Name}) {
			return
		}
		if l.run(ctx) && ctx.Err() == nil {
			l.gaps()
		}
	}
}

// lister is the state of one Items.
type lister struct {
	*Source
	yield   func(source.Item) bool
	objects int
	// listed is the number of namespaces gone through.
	listed int
	// forbidden lists, by kind, the namespaces it may not be listed in
	// ("" for all of them or a cluster-scoped kind).
	mu        sync.Mutex
	forbidden map[string][]string
}

// run lists everything; false when the consumer stopped.
func (l *lister) run(ctx context.Context) bool {
	names, ok := l.namespaces(ctx)
	if !ok {
		return false
	}
	if l.opts.Namespace == "" {
		for _, k := range l.opts.Kinds {
			if k.Namespaced || k.Kind == "Namespace" {
				continue
			}
			if !l.listInto(ctx, k, "", l.send) {
				return false
			}
		}
	}
	l.listed = len(names)
	var kinds []Kind
	for _, k := range l.opts.Kinds {
		if k.Namespaced {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return true
	}
	return l.namespaced(ctx, names, kinds)
}

// send yields an item from the consumer's goroutine.
func (l *lister) send(it source.Item) bool {
	if !l.yield(it) {
		return false
	}
	if it.Kind == source.ManifestDoc && l.opts.Progress != nil {
		l.objects++
		kind, rest, _ := strings.Cut(it.Doc.File, "/")
		ns, _, _ := strings.Cut(rest, "/")
		if !strings.Contains(rest, "/") {
			ns = ""
		}
		l.opts.Progress(Progress{Kind: kind, Namespace: ns, Objects: l.objects})
	}
	return true
}

// namespaces lists the Namespaces, yielding them when they are one of
// the kinds, and returns the names to go through: the audited one, every
// one, or, when the credentials may not list Namespaces, [""]: then each
// kind is listed across all namespaces at once.
func (l *lister) namespaces(ctx context.Context) ([]string, bool) {
	k := Kinds()[0]
	wanted := slices.ContainsFunc(l.opts.Kinds, func(k Kind) bool { return k.Kind == "Namespace" })
	var names []string
	ok := l.listInto(ctx, k, "", func(it source.Item) bool {
		if it.Kind == source.ManifestDoc {
			names = append(names, it.Path)
			if !wanted {
				return true
			}
		} else if it.Kind == source.Failed && !wanted {
			return true
		}
		it.Path = ""
		return l.send(it)
	})
	if !ok {
		return nil, false
	}
	switch {
	case l.opts.Namespace != "":
		return []string{l.opts.Namespace}, true
	case names == nil && l.isForbidden("Namespace"):
		return []string{""}, true
	}
	return names, true
}

func (l *lister) isForbidden(kind string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.forbidden[kind]
	return ok
}

// namespaced lists kinds in each namespace of names, Prefetch namespaces
// at once, yielding their objects in the order of names.
func (l *lister) namespaced(ctx context.Context, names []string, kinds []Kind) bool {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	queues := make([]chan source.Item, len(names))
	for i := range queues {
		queues[i] = make(chan source.Item, queued)
	}
	slots := make(chan struct{}, Prefetch)
	wg.Go(func() {
		for i, ns := range names {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer close(queues[i])
				for _, k := range kinds {
					if !l.listInto(ctx, k, ns, func(it source.Item) bool {
						select {
						case queues[i] <- it:
							return true
						case <-ctx.Done():
							return false
						}
					}) {
						return
					}
				}
			})
		}
	})
	for i := range names {
		// A namespace not yet started when ctx ends is never closed.
		for open := true; open; {
			var it source.Item
			select {
			case it, open = <-queues[i]:
			case <-ctx.Done():
				return false
			}
			if open && !l.send(it) {
				return false
			}
		}
		<-slots
	}
	return ctx.Err() == nil
}

// listInto lists kind k in namespace ns ("": all, or cluster-scoped)
// into yield, page by page; false when yield stopped or ctx is done. A
// forbidden list is recorded for gaps; any other error is yielded.
func (l *lister) listInto(ctx context.Context, k Kind, ns string, yield func(source.Item) bool) bool {
	err := l.list(ctx, k, ns, yield)
	switch {
	case errors.Is(err, errStop) || ctx.Err() != nil:
		return false
	case apierrors.IsForbidden(err):
		l.mu.Lock()
		l.forbidden[k.Kind] = append(l.forbidden[k.Kind], ns)
		l.mu.Unlock()
	case err != nil:
		what := k.Kind
		if ns != "" {
			what += " in namespace " + ns
		}
		return yield(source.Item{Kind: source.Failed, Err: source.Error{File: l.opts.Name, Message: fmt.Sprintf("cannot list %s: %v", what, err), Err: err}})
	}
	return true
}

// gaps yields one coverage gap per kind that was forbidden somewhere, in
// the order of the kinds.
func (l *lister) gaps() {
	for _, k := range l.opts.Kinds {
		nss, ok := l.forbidden[k.Kind]
		if !ok {
			continue
		}
		slices.Sort(nss) // listed concurrently
		what := k.Kind
		switch {
		case len(nss) == 1 && nss[0] != "":
			what += " in namespace " + nss[0]
		case len(nss) > 1 && len(nss) == l.listed:
			what += fmt.Sprintf(" in any of the %d namespaces", len(nss))
		case len(nss) > 1:
			what += fmt.Sprintf(" in %d of the %d namespaces (%s)", len(nss), l.listed, abbreviate(nss, 5))
		}
		gap := source.Error{File: l.opts.Name, Message: fmt.Sprintf("cannot list %s: forbidden (coverage gap)", what), Err: source.ErrCoverageGap}
		if !l.yield(source.Item{Kind: source.Failed, Err: gap}) {
			return
		}
	}
}

// abbreviate joins the first n of names, saying how many more there are.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// errStop says the consumer stopped the iteration.
var errStop = errors.New("stopped")

// list lists kind k in namespace ns page by page into yield; an item's
// Path is the object's name.
func (l *lister) list(ctx context.Context, k Kind, ns string, yield func(source.Item) bool) error {
	lo := metav1.ListOptions{Limit: l.opts.PageSize}
	if k.Kind == "Namespace" && l.opts.Namespace != "" {
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", l.opts.Namespace).String()
	}
	if k.Kind == "Secret" {
		lo.FieldSelector = fields.OneTermEqualSelector("type", tokenSecretType).String()
	}
	for {
		cont, err := l.page(ctx, k, ns, lo, yield)
		if err != nil || cont == "" {
			return err
		}
		lo.Continue = cont
	}
}

// page lists one page and returns its continue token.
func (l *lister) page(ctx context.Context, k Kind, ns string, lo metav1.ListOptions, yield func(source.Item) bool) (string, error) {
	emit := func(obj map[string]any) error {
		u := unstructured.Unstructured{Object: obj}
		origin := origin(&u)
		if c := metav1.GetControllerOfNoCopy(&u); c != nil {
			if templateController(c) {
				return nil
			}
			origin = join(origin, "controlled by "+c.Kind+" "+c.Name)
		}
		u.SetManagedFields(nil)
		u.SetAPIVersion(k.Resource.GroupVersion().String())
		u.SetKind(k.Kind)
		data, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", k.Kind, u.GetName(), err)
		}
		doc := source.Document{File: docName(k, &u), Origin: origin, Data: data}
		if builtIn(k, &u) {
			l.markBuiltIn(doc.File)
		}
		if !yield(source.Item{Kind: source.ManifestDoc, Path: u.GetName(), Doc: doc}) {
			return errStop
		}
		return nil
	}
	if k.Kind == "Secret" {
		list, err := l.meta.Resource(k.Resource).Namespace(ns).List(ctx, lo)
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
	if k.Controlled {
		judged, cont, err := l.judgedInPage(ctx, k, ns, lo)
		if err != nil || !judged {
			return cont, err
		}
		// Same options, same page: the continue token pins the snapshot
		// (the first page is listed anew, and may have changed a little
		// since); the next pages follow the page the objects came from.
	}
	list, err := l.dyn.Resource(k.Resource).Namespace(ns).List(ctx, lo)
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

// judgedInPage lists a page of a kind whose objects are mostly
// controlled (Pods, ReplicaSets, Jobs) as metadata, and tells whether it
// holds any object no pod-template kind controls, with the page's
// continue token. What a pod-template kind controls is skipped without
// ever being fetched in full, which in a cluster of Deployments is nearly
// all of it; a page with others is listed again in full (not fetched one
// by one: the audit needs list only, never get).
func (l *lister) judgedInPage(ctx context.Context, k Kind, ns string, lo metav1.ListOptions) (bool, string, error) {
	metas, err := l.meta.Resource(k.Resource).Namespace(ns).List(ctx, lo)
	if err != nil {
		return false, "", err
	}
	for i := range metas.Items {
		if c := metav1.GetControllerOfNoCopy(&metas.Items[i]); c == nil || !templateController(c) {
			return true, metas.Continue, nil
		}
	}
	return false, metas.Continue, nil
}

// templateController tells whether c is a kind whose pod template the
// audit judges: then the object it controls is skipped. A controller of
// another kind (an Argo Rollout, an operator's custom resource) is not
// listed, so what it controls is judged itself, with the controller as
// its origin.
func templateController(c *metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(c.APIVersion)
	return err == nil && templateKinds[schema.GroupKind{Group: gv.Group, Kind: c.Kind}]
}

// templateKinds are the pod-template kinds of Kinds.
var templateKinds = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for _, k := range Kinds() {
		if k.PodTemplate {
			m[schema.GroupKind{Group: k.Resource.Group, Kind: k.Kind}] = true
		}
	}
	return m
}()

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
