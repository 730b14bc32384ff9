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
}

func newClusterCommand() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Audit the workloads and RBAC of a running cluster",
		Long: `Audit a running cluster: list the objects the checks read (workloads,
Services, ServiceAccounts, NetworkPolicies, Namespaces, RBAC and service
account token Secrets, as metadata only), page by page, and run every check
on them, plus the cluster checks that need the server's version, such as
cluster-version-supported.

Findings name the object a person edits, as Kind/namespace/name: a Pod or
ReplicaSet created by a controller is reported on its owner (Deployment,
CronJob...), a bare Pod as itself. A kind the credentials may not list is a
coverage gap, reported on stderr and in the report but never a failure;
everything else is still audited. Findings in the system namespaces
(kube-system, kube-public, kube-node-lease) and on the built-in system:
roles are listed as suppressed ("system") and do not count toward the exit
code unless --include-system.

The kubeconfig is found as kubectl finds it (--kubeconfig, $KUBECONFIG,
~/.kube/config); inside a Pod without one, the Pod's service account is used.

Exit codes: 0 when no finding reaches --fail-on, 1 when one does, 2 for a
usage error or a cluster that cannot be reached.`,
		Example: `  kubeharden cluster
  kubeharden cluster --context prod -n shop
  kubeharden cluster -o sarif --fail-on none > cluster.sarif`,
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
	return cmd
}

func runCluster(cmd *cobra.Command, f *clusterFlags) error {
	if f.pageSize <= 0 {
		return usageError("--page-size: must be positive, not %d", f.pageSize)
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
	kinds := neededKinds(opts)
	if f.printRBAC {
		return printRBAC(cmd.OutOrStdout(), kinds)
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
	res = scan.Merge(res, scan.RunCluster(clustercheck.Target{Version: v, Name: name}, opts))
	if !f.includeSystem {
		setAsideSystem(res, src.BuiltIn)
	}
	return r.finish(cmd, res)
}

// neededKinds are the kinds the enabled object checks apply to.
func neededKinds(opts scan.Options) []cluster.Kind {
	objChecks := scan.New(opts).ObjectChecks()
	return cluster.Needed(func(o *object.Object) bool {
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
func printRBAC(w io.Writer, kinds []cluster.Kind) error {
	role := rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: auditRole, Labels: map[string]string{"app.kubernetes.io/name": "kubeharden"}},
		Rules:      cluster.Rules(kinds),
	}
	data, err := yaml.Marshal(role)
	if err != nil {
		return err
	}
	header := "# The least-privilege ClusterRole of `kubeharden cluster` with the same flags and checks.\n"
	if slices.ContainsFunc(kinds, func(k cluster.Kind) bool { return k.Kind == "Secret" }) {
		header += "# kubeharden lists Secrets as metadata only, and only service account tokens, but RBAC\n" +
			"# cannot grant less than list, which also reads their data: --skip the checks that read\n" +
			"# Secrets (service-account-token-secret, default-namespace) to leave it out.\n"
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
			f.Suppression = &check.Suppression{Kind: "system", Reason: "a system namespace or an object Kubernetes creates itself; --include-system counts it", Source: "kubeharden cluster"}
			res.Suppressed = append(res.Suppressed, f)
			continue
		}
		kept = append(kept, f)
	}
	res.Findings = kept
}
