package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/cluster"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/scan"
)

type clusterFlags struct {
	report     reportFlags
	kubeconfig string
	context    string
	namespace  string
	pageSize   int64
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
coverage gap, reported as an input error; everything else is still audited.

The kubeconfig is found as kubectl finds it (--kubeconfig, $KUBECONFIG,
~/.kube/config); inside a Pod without one, the Pod's service account is used.

Exit codes: 0 when no finding reaches --fail-on, 1 when one does, 2 for a
usage error, a cluster that cannot be reached, or a coverage gap.`,
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
	src, err := cluster.New(cfg, cluster.Options{Name: name, Namespace: f.namespace, PageSize: f.pageSize})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	opts := scan.Options{
		Registry:  checks.Registry(),
		Policy:    r.policy(),
		Namespace: f.namespace,
		Logger:    logger(cmd),
	}
	res := scan.Run(cmd.Context(), src.Items(cmd.Context()), opts)
	for _, w := range calendarWarnings(v, opts.Policy.Now) {
		fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: warning: %s\n", w)
	}
	res = scan.Merge(res, scan.RunCluster(clustercheck.Target{Version: v, Name: name}, opts))
	return r.finish(cmd, res)
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
