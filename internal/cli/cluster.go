package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/report/openreports"
	"github.com/kubeharden/kubeharden/internal/scan"
)

type clusterFlags struct {
	report     reportFlags
	kubeconfig string
	context    string
	namespace  string
	pageSize   int64
	// includeSystem counts the system namespaces' findings.
	includeSystem bool
	printRBAC     bool
	writeReports  bool
	reportsAPI    string
	// probeAnonymous sends requests without credentials (anonymous-access).
	probeAnonymous bool
	// inspect pulls and inspects the images the audited workloads run.
	inspect bool
	images  imageFlags
}

func newClusterCommand() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Audit the workloads and RBAC of a running cluster",
		Long: `Audit a running cluster: list the objects the enabled checks read (workloads,
Services, ServiceAccounts, NetworkPolicies, Namespaces, RBAC and service
account token Secrets, as metadata only), namespace by namespace and page by
page, and run every check on them, plus the cluster checks that need the
server itself, such as cluster-version-supported.

Findings name the object a person edits, as Kind/namespace/name: a Pod,
ReplicaSet or Job whose controller carries a pod template (Deployment,
StatefulSet, DaemonSet, CronJob...) is judged on that controller, a bare Pod
as itself, and an object controlled by anything else (an Argo Rollout, an
operator) as itself with its controller named. Where the object says where
it came from (a Helm release, an Argo CD application, a Flux Kustomization
or HelmRelease, kustomize's origin annotation) the finding names it.

A kind the credentials may not list is a coverage gap, reported on stderr
and in the report but never a failure; everything else is still audited.
--print-rbac prints the least-privilege ClusterRole for the same flags and
checks. Findings in the system namespaces (kube-system, kube-public,
kube-node-lease), on the built-in system: roles and on the objects
Kubernetes creates itself are listed as suppressed ("system") and do not
count toward the exit code unless --include-system.

--images also pulls every image the audited workloads run, from its
registry, and runs the image checks of kubeharden image on it (the
registries must be reachable from where the audit runs).

--write-reports creates or updates the findings in the cluster as
OpenReports Report objects (one per namespace) and a ClusterReport, or the
older wgpolicyk8s.io PolicyReports (--reports-api), by server-side apply:
a second run updates them, never duplicates them.

The kubeconfig is found as kubectl finds it (--kubeconfig, $KUBECONFIG,
~/.kube/config); inside a Pod without one, the Pod's service account is used.

Exit codes: 0 when no finding reaches --fail-on, 1 when one does, 2 for a
usage error or a cluster that cannot be reached.`,
		Example: `  kubeharden cluster
  kubeharden cluster --context prod -n shop
  kubeharden cluster -o sarif --fail-on none > cluster.sarif
  kubeharden cluster -o openreports > reports.yaml
  kubeharden cluster --write-reports --fail-on none
  kubeharden cluster --print-rbac --write-reports | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCluster(cmd, &f) },
	}
	fl := cmd.Flags()
	f.report.register(fl)
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current context)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "audit only this namespace (default: all namespaces)")
	fl.Int64Var(&f.pageSize, "page-size", cluster.DefaultPageSize, "objects per list request")
	fl.BoolVar(&f.includeSystem, "include-system", false, "count findings in kube-system, kube-public and kube-node-lease (and on system: roles) toward the exit code")
	fl.BoolVar(&f.printRBAC, "print-rbac", false, "print the least-privilege ClusterRole the audit needs with these flags and checks, and exit")
	fl.BoolVar(&f.probeAnonymous, "probe-anonymous", false, "send requests without credentials to the API server for anonymous-access (they show in its audit log)")
	fl.BoolVar(&f.writeReports, "write-reports", false, "create or update the findings as Report/ClusterReport objects in the cluster, one per namespace (server-side apply)")
	fl.StringVar(&f.reportsAPI, "reports-api", "", "API of --write-reports: "+strings.Join(openreports.APIs(), " or ")+" (default: the first the cluster serves)")
	fl.BoolVar(&f.inspect, "images", false, "also pull and inspect the images the audited workloads run (needs their registries), with the image checks of kubeharden image")
	f.images.register(fl)
	return cmd
}

func runCluster(cmd *cobra.Command, f *clusterFlags) error {
	if f.pageSize <= 0 {
		return usageError("--page-size: must be positive, not %d", f.pageSize)
	}
	if err := openreports.CheckAPI(f.reportsAPI); err != nil {
		return usageError("--reports-api: %v", err)
	}
	if err := f.images.needImages(f.inspect); err != nil {
		return err
	}
	r, err := f.report.prepare(cmd, nil)
	if err != nil {
		return err
	}
	opts := scan.Options{
		Registry:  checks.Registry(),
		Policy:    r.policy(),
		Namespace: f.namespace,
		Logger:    logger(cmd),
	}
	kinds := neededKinds(opts, f.inspect)
	if f.printRBAC {
		return printRBAC(cmd.OutOrStdout(), kinds, append(cluster.InspectRules(f.inspectOptions(opts.Policy, "")), f.reportRules()...))
	}
	cfg, name, err := restConfig(f.kubeconfig, f.context)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("connecting to the cluster: %w", err)}
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("reading the server version of %s: %w", name, err)}
	}
	v, err := k8sversion.Parse(info.GitVersion)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("server version: %w", err)}
	}
	// The server's version, not the config's, judges deprecated APIs.
	r.cfg.Parameters.KubernetesVersion = v.String()
	opts.Policy = r.policy()
	progress := newProgress(cmd.ErrOrStderr())
	src, err := cluster.New(cfg, cluster.Options{Name: name, Namespace: f.namespace, PageSize: f.pageSize, Kinds: kinds, Progress: progress.update})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	res := scan.Run(cmd.Context(), src.Items(cmd.Context()), opts)
	progress.done()
	for _, w := range calendarWarnings(v, opts.Policy.Now) {
		fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: warning: %s\n", w)
	}
	live, errs := cluster.Inspect(cmd.Context(), cfg, f.inspectOptions(opts.Policy, name))
	res.Errors = append(res.Errors, errs...)
	res = scan.Merge(res, scan.RunCluster(clustercheck.Target{Version: v, Name: name, Live: live}, opts))
	if f.inspect {
		ires, err := f.images.inspectRefs(cmd, res.ImageRefs, opts)
		if err != nil {
			return err
		}
		res = scan.Merge(res, ires)
	}
	if !f.includeSystem {
		setAsideSystem(res, src.BuiltIn)
	}
	var werr error
	if f.writeReports && cmd.Context().Err() == nil {
		reps := openreports.Build(res, openreports.Options{Namespace: f.namespace, Now: opts.Policy.Now})
		api, err := openreports.Write(cmd.Context(), cfg, reps, openreports.WriteOptions{API: f.reportsAPI, Namespace: f.namespace})
		if err != nil {
			werr = &exitError{code: ExitError, err: err}
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: wrote %d reports (%s) to %s\n", len(reps), api, name)
		}
	}
	if err := r.finish(cmd, res); err != nil || werr == nil {
		return err
	}
	return werr
}

// inspectOptions read only what the enabled cluster checks need of the
// cluster beyond its objects; an audit limited to one namespace reads none
// of it (nodes, updaters and the authorizer are the cluster's), but still
// probes anonymous access when asked.
func (f *clusterFlags) inspectOptions(pol *policy.Policy, name string) cluster.InspectOptions {
	whole := f.namespace == ""
	return cluster.InspectOptions{
		Name:           name,
		PageSize:       f.pageSize,
		ProbeAnonymous: f.probeAnonymous && pol.Enabled("anonymous-access"),
		SkipNodes:      !whole || !pol.Enabled("node-version-skew") && !pol.Enabled("node-os-patching"),
		SkipUpdaters:   !whole || !pol.Enabled("node-os-patching"),
		SkipRBAC:       !whole || !pol.Enabled("rbac-authorization"),
	}
}

// reportRules are the rules --write-reports needs: server-side apply is a
// patch, and a create for a report that does not exist yet; stale reports
// are found by listing.
func (f *clusterFlags) reportRules() []rbacv1.PolicyRule {
	if !f.writeReports {
		return nil
	}
	var rules []rbacv1.PolicyRule
	for _, api := range openreports.APIs() {
		if f.reportsAPI != "" && api != f.reportsAPI {
			continue
		}
		group, _, _ := strings.Cut(api, "/")
		res := []string{"clusterreports", "reports"}
		if group == "wgpolicyk8s.io" {
			res = []string{"clusterpolicyreports", "policyreports"}
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: res, Verbs: []string{"create", "get", "list", "patch"}})
	}
	return rules
}

// neededKinds are the kinds the enabled object checks read, and with
// images the kinds that run containers, whose images are inspected.
func neededKinds(opts scan.Options, images bool) []cluster.Kind {
	objChecks := scan.New(opts).ObjectChecks()
	return cluster.Needed(func(o *object.Object) bool {
		if images && check.PodSpecs(o) {
			return true
		}
		for _, c := range objChecks {
			if c.Applies == nil || c.Applies(o) {
				return true
			}
		}
		return false
	})
}

// auditRole is the name of the ClusterRole --print-rbac prints.
const auditRole = "kubeharden-audit"

// printRBAC writes the ClusterRole that lets the audit list kinds.
func printRBAC(w io.Writer, kinds []cluster.Kind, extra []rbacv1.PolicyRule) error {
	rules := cluster.MergeRules(append(cluster.Rules(kinds), extra...))
	role := rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: auditRole, Labels: map[string]string{"app.kubernetes.io/name": "kubeharden"}},
		Rules:      rules,
	}
	header := "# The least-privilege ClusterRole of `kubeharden cluster` with the same flags and checks.\n"
	if slices.ContainsFunc(kinds, func(k cluster.Kind) bool { return k.Kind == "Secret" }) {
		// The finding stays visible, as suppressed, with the reason.
		role.Annotations = map[string]string{policy.AnnotationPrefix + "rbac-dangerous-permissions": "kubeharden lists service account token Secrets as metadata only; RBAC cannot grant less than list"}
		header += "# kubeharden lists Secrets as metadata only, and only service account tokens, but RBAC\n" +
			"# cannot grant less than list, which also reads their data: --skip the checks that read\n" +
			"# Secrets (service-account-token-secret, default-namespace) to leave it out.\n"
	}
	data, err := yaml.Marshal(role)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s", header, data)
	return err
}

// restConfig loads the client configuration as kubectl does, falling back
// to the in-cluster service account; name is the context, or "in-cluster".
func restConfig(kubeconfig, context string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errors.New("no kubeconfig found and not running in a cluster: pass --kubeconfig")
		}
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	// No client-side rate limit (client-go's default is 5 requests a
	// second): the audit keeps at most Prefetch lists in flight, and the
	// server's priority and fairness protects it.
	cfg.QPS = -1
	name := context
	if name == "" {
		if raw, err := cc.RawConfig(); err == nil {
			name = raw.CurrentContext
		}
	}
	if name == "" {
		name = "in-cluster"
	}
	return cfg, name, nil
}

// systemNamespaces are the cluster's own: what runs there is the
// distribution's, and its findings are the noise users most complain of.
var systemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}

// setAsideSystem moves the findings on objects in the system namespaces,
// on the built-in system: roles and bindings, and on the other objects
// Kubernetes creates itself (builtIn, by file), to the suppressed
// findings, with the reason: they are listed in their own section and do
// not count toward the exit code.
func setAsideSystem(res *scan.Result, builtIn func(file string) bool) {
	kept := res.Findings[:0]
	for _, f := range res.Findings {
		if o := f.Object; o != nil && (systemNamespaces[o.Namespace] || strings.HasPrefix(o.Name, "system:") || builtIn(f.Location.File)) {
			f.SetSuppression(&check.Suppression{Kind: "system", Reason: "a system namespace or an object Kubernetes creates itself; --include-system counts it", Source: "kubeharden cluster"})
			res.Suppressed = append(res.Suppressed, f)
			continue
		}
		kept = append(kept, f)
	}
	res.Findings = kept
}
