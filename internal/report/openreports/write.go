package openreports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// FieldManager is the server-side apply field manager of the reports.
const FieldManager = "kubeharden"

// ErrNoAPI is returned, wrapped, when the cluster serves no report API
// that Write can use.
var ErrNoAPI = errors.New("no report API in the cluster")

// WriteOptions tune Write.
type WriteOptions struct {
	// API is OpenReports or PolicyReports; "" chooses from the cluster's
	// discovery: OpenReports when it is served, else PolicyReports.
	API string
	// Namespace is the namespace the audit was limited to (cluster -n),
	// "" for all. With a namespace Write writes that namespace's report
	// only, even empty, and leaves the cluster report and every other
	// namespace's alone: a partial audit must not overwrite a full one.
	Namespace string
}

// Write creates or updates reports in the cluster and returns the API it
// wrote them in. Each report is applied server-side by FieldManager under
// its fixed name, so a second run updates the first run's objects and
// never adds more. A kubeharden report (labelled ManagedByLabel=ManagedBy,
// named Name) of a namespace that no longer has results is emptied, not
// deleted: an empty report says the namespace was audited and is clean,
// which a missing one does not.
//
// The credentials need get, list and patch on the API's two resources
// (reports and clusterreports, or policyreports and clusterpolicyreports);
// patch creates through server-side apply. A report without a namespace
// (objects of a manifest that set none) is written to "default", as
// kubectl would place it.
//
// Results carry all five severities of both APIs' types. Some early
// wgpolicyk8s.io/v1alpha2 CRDs allowed only high, medium and low; a cluster
// still running those refuses the report (the API server names the field),
// while Kyverno's CRDs, the usual source of that API, take all five.
func Write(ctx context.Context, cfg *rest.Config, reports []*Report, opts WriteOptions) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("writing reports: %w", err)
	}
	a, err := chooseAPI(ctx, dc, opts.API)
	if err != nil {
		return "", err
	}
	api := a.group + "/" + a.version
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return api, fmt.Errorf("writing reports: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return api, fmt.Errorf("writing reports: %w", err)
	}
	w := &writer{api: a, dyn: dyn, meta: meta}

	want := map[string]*Report{} // by namespace; the cluster report under clusterKey
	for _, rep := range reports {
		key := clusterKey
		if !rep.Cluster {
			key = rep.Namespace
			if key == "" {
				key = metav1.NamespaceDefault
			}
		}
		if opts.Namespace != "" && key != opts.Namespace {
			continue
		}
		if prev := want[key]; prev != nil {
			return api, fmt.Errorf("writing reports: two reports for namespace %s (build them with Options.Namespace set)", key)
		}
		cp := *rep
		if !rep.Cluster {
			cp.Namespace = key
		}
		want[key] = &cp
	}
	if opts.Namespace != "" && want[opts.Namespace] == nil {
		want[opts.Namespace] = &Report{Namespace: opts.Namespace}
	}
	if opts.Namespace == "" {
		// Empty the reports of namespaces that no longer have results.
		stale, err := w.existing(ctx)
		if err != nil {
			return api, err
		}
		for _, key := range stale {
			switch {
			case want[key] != nil:
			case key == clusterKey:
				want[key] = &Report{Cluster: true}
			default:
				want[key] = &Report{Namespace: key}
			}
		}
	}
	// The cluster report first (clusterKey sorts first), then by
	// namespace: the same order each run.
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if err := w.apply(ctx, want[k]); err != nil {
			return api, err
		}
	}
	return api, nil
}

// clusterKey keys the cluster report among namespaces: no namespace name
// holds a space, and a space sorts below every character one may hold.
const clusterKey = " cluster"

// chooseAPI returns the named API after checking that the cluster serves
// it, or with name "" the first API of APIs that it serves.
func chooseAPI(ctx context.Context, dc discovery.DiscoveryInterface, name string) (apiInfo, error) {
	candidates := apis
	if name != "" {
		a, err := lookupAPI(name)
		if err != nil {
			return apiInfo{}, err
		}
		candidates = []apiInfo{a}
	}
	for _, a := range candidates {
		if err := ctx.Err(); err != nil {
			return apiInfo{}, err
		}
		ok, err := served(dc, a)
		if err != nil {
			return apiInfo{}, err
		}
		if ok {
			return a, nil
		}
	}
	if name != "" {
		a := candidates[0]
		return apiInfo{}, fmt.Errorf("%w: the cluster does not serve %s (%s and %s); install its CRDs", ErrNoAPI, name, a.kind, a.clusterKind)
	}
	return apiInfo{}, fmt.Errorf("%w: install the %s CRDs (Report, ClusterReport: https://github.com/openreports/reports-api), or the older %s CRDs (PolicyReport, ClusterPolicyReport)", ErrNoAPI, OpenReports, PolicyReports)
}

// served reports whether the cluster serves both resources of a.
func served(dc discovery.DiscoveryInterface, a apiInfo) (bool, error) {
	list, err := dc.ServerResourcesForGroupVersion(a.group + "/" + a.version)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s/%s: %w", a.group, a.version, err)
	}
	var ns, cl bool
	for _, r := range list.APIResources {
		switch {
		case r.Name == a.resource && r.Kind == a.kind && r.Namespaced:
			ns = true
		case r.Name == a.clusterResource && r.Kind == a.clusterKind && !r.Namespaced:
			cl = true
		}
	}
	return ns && cl, nil
}

type writer struct {
	api  apiInfo
	dyn  dynamic.Interface
	meta metadata.Interface
}

func (w *writer) gvr(cluster bool) schema.GroupVersionResource {
	r := w.api.resource
	if cluster {
		r = w.api.clusterResource
	}
	return schema.GroupVersionResource{Group: w.api.group, Version: w.api.version, Resource: r}
}

// existing returns the keys of the reports a previous run wrote: the
// namespaces of its reports, and clusterKey for its cluster report. It
// reads metadata only, page by page: a report may be a megabyte.
func (w *writer) existing(ctx context.Context) ([]string, error) {
	var keys []string
	for _, cluster := range []bool{true, false} {
		lo := metav1.ListOptions{
			LabelSelector: ManagedByLabel + "=" + ManagedBy,
			FieldSelector: "metadata.name=" + Name,
			Limit:         500,
		}
		for {
			list, err := w.meta.Resource(w.gvr(cluster)).List(ctx, lo)
			if err != nil {
				return nil, fmt.Errorf("listing the reports of earlier runs: %w", err)
			}
			for _, it := range list.Items {
				if cluster {
					keys = append(keys, clusterKey)
				} else {
					keys = append(keys, it.Namespace)
				}
			}
			if lo.Continue = list.Continue; lo.Continue == "" {
				break
			}
		}
	}
	return keys, nil
}

func (w *writer) apply(ctx context.Context, rep *Report) error {
	data, err := json.Marshal(rep.document(w.api))
	if err != nil {
		return fmt.Errorf("encoding the report of %s: %w", rep.where(), err)
	}
	res := w.dyn.Resource(w.gvr(rep.Cluster))
	var ri dynamic.ResourceInterface = res
	if !rep.Cluster {
		ri = res.Namespace(rep.Namespace)
	}
	_, err = ri.Patch(ctx, Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)})
	if err != nil {
		return fmt.Errorf("writing the report of %s: %w", rep.where(), err)
	}
	return nil
}
