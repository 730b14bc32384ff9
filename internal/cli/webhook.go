package cli

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/webhook"
)

type webhookFlags struct {
	listen, cert, key, config, kubeconfig string
	timeout                               time.Duration
}

func newWebhookCommand() *cobra.Command {
	var f webhookFlags
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Serve the validating and mutating admission webhook",
		Long: `Serve AdmissionReview v1 over HTTPS, with the checks, the policy and the fixes
of scan and fix: POST /validate denies, warns or audits by the modes of the
config's admission section; POST /mutate applies the fixes of the checks in
admission.mutate to created objects as a JSON patch. GET /healthz answers
while the process is up, /readyz once the certificate is loaded and the
cluster's facts (ServiceAccounts, NetworkPolicies, RBAC) are synced, and
/metrics serves Prometheus metrics.

The certificate and key are reloaded when they change on disk. The webhook's
own namespace ($POD_NAMESPACE), kube-system and kube-node-lease are never
judged. SIGTERM stops taking requests and lets those in flight finish.

The cluster is reached with the Pod's service account, or --kubeconfig.
See docs/admission.md.`,
		Example: `  kubeharden webhook --listen :8443 --tls-cert /etc/kubeharden/tls/tls.crt --tls-key /etc/kubeharden/tls/tls.key \
    --config /etc/kubeharden/config/.kubeharden.yaml
  kubeharden webhook doctor --context prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWebhook(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":8443", "address of the HTTPS port")
	fl.StringVar(&f.cert, "tls-cert", "/etc/kubeharden/tls/tls.crt", "serving certificate (PEM), reloaded when it changes")
	fl.StringVar(&f.key, "tls-key", "/etc/kubeharden/tls/tls.key", "serving key (PEM), reloaded when it changes")
	fl.StringVar(&f.config, "config", "", "configuration file, with its admission section (default: the defaults; findings warn)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the in-cluster service account)")
	fl.DurationVar(&f.timeout, "request-timeout", webhook.DefaultRequestTimeout, "longest time to answer one AdmissionReview")
	cmd.AddCommand(newWebhookDoctorCommand())
	return cmd
}

func runWebhook(cmd *cobra.Command, f *webhookFlags) error {
	cfg := config.Default()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config, knownCheck); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	var rc *rest.Config
	var err error
	if f.kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("cluster configuration: %w (pass --kubeconfig outside a cluster)", err)}
	}
	level := slog.LevelInfo
	if v, _ := cmd.Flags().GetBool("verbose"); v {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	reg := checks.Registry()
	srv, err := webhook.NewServer(webhook.ServerOptions{
		Options: webhook.Options{
			Registry:  reg,
			Policy:    policy.New(cfg, reg, time.Time{}),
			Namespace: os.Getenv("POD_NAMESPACE"),
			Logger:    log,
		},
		CertFile:       f.cert,
		KeyFile:        f.key,
		Cluster:        rc,
		RequestTimeout: f.timeout,
	})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := srv.Run(cmd.Context(), f.listen); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return nil
}

type doctorFlags struct {
	kubeconfig, context, name, config string
}

func newWebhookDoctorCommand() *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a running webhook installation and say what to fix",
		Long: `Check the ValidatingWebhookConfiguration and MutatingWebhookConfiguration
named --name: the webhook is reachable (a TLS handshake with its service or
URL), the caBundle verifies the certificate it serves, the certificate does
not expire within 30 days, kube-system, kube-node-lease and the webhook's own
namespace are excluded by the namespaceSelector, timeoutSeconds is at most 3
and failurePolicy is stated (and, with --config, is admission.failurePolicy).

Each problem is printed with what to fix. The service is dialled by its
cluster DNS name: run the doctor inside the cluster to check it.

Exit codes: 0 when the installation is sound (warnings allowed), 1 on
problems, 2 when the registrations cannot be read.`,
		Example: `  kubeharden webhook doctor
  kubeharden webhook doctor --context prod --name kubeharden`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, _, err := restConfig(f.kubeconfig, f.context)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			client, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			opts := webhook.DoctorOptions{Client: client, Name: f.name, Out: cmd.OutOrStdout()}
			if f.config != "" {
				cfg, err := config.Load(f.config, knownCheck)
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				opts.FailurePolicy = cfg.Admission.FailurePolicy
			}
			problems, err := webhook.Doctor(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if problems > 0 {
				return &exitError{code: ExitFindings, err: fmt.Errorf("%d problem(s) found", problems)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current context)")
	fl.StringVar(&f.name, "name", "kubeharden", "name of the webhook configurations")
	fl.StringVar(&f.config, "config", "", "configuration file whose admission.failurePolicy the registrations must have")
	return cmd
}
