package webhook

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// FactKinds are the kinds whose facts the checks consult when they judge
// another object (a pod's ServiceAccount, the NetworkPolicies of its
// namespace, the roles a binding grants). Workloads keep facts too, but
// only about themselves; watching them would hold every pod of the
// cluster. TestFactKinds keeps this list complete.
var FactKinds = []string{"ServiceAccount", "NetworkPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}

// rebuildEvery is how often changed facts are rebuilt into the snapshot
// requests read: a change is seen within that time, and a storm of
// changes costs one rebuild per period.
const rebuildEvery = 250 * time.Millisecond

// ClusterFacts keeps the facts of the cluster's FactKinds objects through
// informers. Each object is reduced to the facts the checks keep about it
// as it arrives (an informer transform), so memory grows with the facts,
// a few bytes an object, never with the objects.
type ClusterFacts struct {
	engine    *scan.Engine
	informers []cache.SharedIndexInformer
	log       *slog.Logger
	snap      atomic.Pointer[snapshot]
	synced    atomic.Bool
	dirty     atomic.Bool
}

// NewClusterFacts prepares the informers of cfg's cluster; Run starts
// them. engine decides which facts are kept (its enabled checks').
func NewClusterFacts(cfg *rest.Config, engine *scan.Engine, log *slog.Logger) (*ClusterFacts, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &ClusterFacts{engine: engine, log: log}
	c.snap.Store(&snapshot{kept: map[string][]any{}})
	for _, k := range cluster.Kinds() {
		if !slices.Contains(FactKinds, k.Kind) {
			continue
		}
		inf := dynamicinformer.NewFilteredDynamicInformer(dyn, k.Resource, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		kind, apiVersion := k.Kind, k.Resource.GroupVersion().String()
		if err := inf.SetTransform(func(obj any) (any, error) { return c.reduce(apiVersion, kind, obj), nil }); err != nil {
			return nil, err
		}
		_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, _ *cache.Reflector, err error) {
			if ctx.Err() == nil {
				log.Warn("watching the cluster's facts", "kind", kind, "err", err)
			}
		})
		mark := func(any) { c.dirty.Store(true) }
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: mark, DeleteFunc: mark, UpdateFunc: func(_, n any) { mark(n) },
		}); err != nil {
			return nil, err
		}
		c.informers = append(c.informers, inf)
	}
	return c, nil
}

// Run runs the informers until ctx is done, and returns once they have
// stopped: once they have synced, the facts are complete (Facts reports
// synced) and kept up to date.
func (c *ClusterFacts) Run(ctx context.Context) {
	var synced []cache.InformerSynced
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, inf := range c.informers {
		wg.Go(func() { inf.RunWithContext(ctx) })
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	c.rebuild()
	c.synced.Store(true)
	c.log.Info("cluster facts synced", "kinds", FactKinds)
	t := time.NewTicker(rebuildEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.dirty.Swap(false) {
				c.rebuild()
			}
		}
	}
}

// Facts implements FactsSource.
func (c *ClusterFacts) Facts() (check.Facts, bool) { return c.snap.Load(), c.synced.Load() }

// Synced reports whether the informers have synced.
func (c *ClusterFacts) Synced() bool { return c.synced.Load() }

// reduce turns a listed or watched object into its facts.
func (c *ClusterFacts) reduce(apiVersion, kind string, obj any) any {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		// Already reduced (transforms may be applied twice), or a
		// tombstone.
		return obj
	}
	r := &reduced{ObjectMeta: metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
	}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	data, err := u.MarshalJSON()
	if err != nil {
		return r
	}
	objs, _, _ := source.Parse(source.Document{File: kind + "/" + u.GetNamespace() + "/" + u.GetName(), Data: data})
	for _, o := range objs {
		c.engine.Keep(o, func(key string, v any) { r.kept = append(r.kept, kept{key, v}) })
	}
	return r
}

// rebuild makes a new snapshot of the informers' facts, ordered by kind,
// then namespace and name, so that "the first of a name" is stable.
func (c *ClusterFacts) rebuild() {
	s := &snapshot{kept: map[string][]any{}}
	for _, inf := range c.informers {
		items := inf.GetStore().List()
		rs := make([]*reduced, 0, len(items))
		for _, it := range items {
			if r, ok := it.(*reduced); ok {
				rs = append(rs, r)
			}
		}
		slices.SortFunc(rs, func(a, b *reduced) int {
			return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
		})
		for _, r := range rs {
			for _, k := range r.kept {
				s.kept[k.key] = append(s.kept[k.key], k.v)
			}
		}
	}
	c.snap.Store(s)
}

// reduced is what the informers store of an object: its identity and the
// facts the checks keep about it.
type reduced struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	kept []kept
}

type kept struct {
	key string
	v   any
}

// DeepCopyObject implements runtime.Object; facts are never modified.
func (r *reduced) DeepCopyObject() runtime.Object {
	c := *r
	r.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// snapshot is an immutable set of facts, shared by concurrent requests.
type snapshot struct {
	kept map[string][]any
}

// Kept implements check.Facts.
func (s *snapshot) Kept(key string) []any { return s.kept[key] }

// Memo implements check.Facts without keeping the value: the engine
// judges each object over its own index (check.Over), which memoizes, so
// a snapshot shared by concurrent requests never has to.
func (s *snapshot) Memo(_ string, make func() any) any { return make() }

// DefaultNamespace implements check.Facts.
func (s *snapshot) DefaultNamespace() string { return "" }
