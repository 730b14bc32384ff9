package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeharden/kubeharden/internal/admissionpolicy"
	"github.com/kubeharden/kubeharden/internal/checks"
)

func newGenerateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write hardened manifests to start from",
	}
	cmd.AddCommand(newGenerateNetworkPolicyCommand(), newGenerateAdmissionPolicyCommand())
	return cmd
}

func newGenerateAdmissionPolicyCommand() *cobra.Command {
	var (
		actions, only, skip []string
		cfgPath             string
		mutate, list        bool
	)
	cmd := &cobra.Command{
		Use:   "admission-policy",
		Short: "Write ValidatingAdmissionPolicies (and MutatingAdmissionPolicies) for the checks CEL can express",
		Long: `Write a ValidatingAdmissionPolicy and its binding, in CEL, for every enabled
check that needs no other object: the API server then enforces the checks
with no webhook to run (admissionregistration.k8s.io/v1, Kubernetes 1.36+).
The policies honour the configuration (--config or .kubeharden.yaml found
from the working directory): the parameters are written into the
expressions, disabled checks get no policy, exemptions by kind, namespace
and name become match conditions, and an object annotated
ignore.kubeharden.io/<check-id>: "<reason>" is not judged by that check's
policy. An UPDATE is denied only for what it introduces. kube-system and
kube-node-lease are never matched.

--action sets the bindings' validationActions: Deny, Warn or Audit (or two
joined with +, as Deny+Audit) for every check, or SEVERITY=ACTION for the
checks of one severity. By default critical and high checks deny and the
others warn.

--mutate also writes MutatingAdmissionPolicies (apply configurations) for
the fixes that can be written that way: allowPrivilegeEscalation=false,
capabilities.drop ALL and seccompProfile RuntimeDefault, never where the
API server would reject the result.

Checks that need other objects are listed as not covered in the output's
header and on stderr; --list prints the coverage of every check.`,
		Example: `  kubeharden generate admission-policy > policies.yaml
  kubeharden generate admission-policy --action Warn --mutate | kubectl apply -f -
  kubeharden generate admission-policy --action Deny --action low=Warn --skip fs-group
  kubeharden generate admission-policy --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := checks.Registry()
			if list {
				return writeCoverage(cmd.OutOrStdout(), admissionpolicy.CoverageOf(reg))
			}
			acts, err := admissionpolicy.ParseActions(actions)
			if err != nil {
				return usageError("--action: %v", err)
			}
			for _, id := range append(slices.Clone(only), skip...) {
				if reg.Get(id) == nil {
					return usageError("unknown check %q (see kubeharden checks)", id)
				}
			}
			cfg, err := loadConfig(cfgPath, nil)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			out, err := admissionpolicy.Generate(admissionpolicy.Options{
				Registry: reg,
				Policy:   admissionpolicy.NewPolicy(cfg, reg),
				Only:     only,
				Skip:     skip,
				Actions:  acts,
				Mutate:   mutate,
			})
			if err != nil {
				return usageError("%v", err)
			}
			y, err := out.YAML()
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			for _, c := range out.NotCovered {
				fmt.Fprintf(errw, "kubeharden: not covered: %s: %s\n", c.ID, c.Reason)
			}
			for _, n := range out.Notes {
				fmt.Fprintf(errw, "kubeharden: note: %s\n", n)
			}
			_, err = cmd.OutOrStdout().Write(y)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&actions, "action", nil, "validationActions: Deny, Warn, Audit (or two joined with +), or SEVERITY=ACTION (repeatable; default: critical and high Deny, others Warn)")
	fl.StringSliceVar(&only, "checks", nil, "generate only these checks (comma-separated IDs)")
	fl.StringSliceVar(&skip, "skip", nil, "leave these checks out (comma-separated IDs)")
	fl.StringVar(&cfgPath, "config", "", "configuration file (default: .kubeharden.yaml found from the working directory)")
	fl.BoolVar(&mutate, "mutate", false, "also write MutatingAdmissionPolicies for the fixes they can apply")
	fl.BoolVar(&list, "list", false, "print which checks the policies cover, and why the others are not")
	return cmd
}

func writeCoverage(w io.Writer, cov []admissionpolicy.Coverage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSEVERITY\tPOLICY\tMUTATION\tWHY NOT")
	for _, c := range cov {
		pol, mut := "no", "-"
		if c.Covered {
			pol, mut = "yes", "no"
			if c.Mutated {
				mut = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Severity, pol, mut, c.Reason)
	}
	return tw.Flush()
}

func newGenerateNetworkPolicyCommand() *cobra.Command {
	var egress bool
	cmd := &cobra.Command{
		Use:   "network-policy NAMESPACE...",
		Short: "Write default-deny and same-namespace-only NetworkPolicies for namespaces",
		Long: `Write, for each namespace, the NetworkPolicies seed 000 recommends: deny all
ingress by default, then admit ingress from pods of the same namespace
only ("deny from other namespaces"). With --egress, egress is denied by
default too, except to the same namespace and to the cluster DNS.

The output is YAML on stdout, ready for kubectl apply -f - or to commit.`,
		Example: `  kubeharden generate network-policy shop payments > netpol.yaml
  kubeharden generate network-policy --egress shop | kubectl apply -f -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, ns := range args {
				if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
					return usageError("namespace %q: %s", ns, strings.Join(errs, "; "))
				}
			}
			return writeNetworkPolicies(cmd.OutOrStdout(), args, egress)
		},
	}
	cmd.Flags().BoolVar(&egress, "egress", false, "also deny egress by default, except to the same namespace and the cluster DNS")
	return cmd
}

func writeNetworkPolicies(w io.Writer, namespaces []string, egress bool) error {
	var b strings.Builder
	for i, ns := range namespaces {
		if i > 0 {
			b.WriteString("---\n")
		}
		types := "  - Ingress\n"
		if egress {
			types += "  - Egress\n"
		}
		fmt.Fprintf(&b, `# Deny all traffic to the pods of %[1]q unless another policy admits it.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: %[1]s
spec:
  podSelector: {}
  policyTypes:
%[2]s---
# Admit traffic from pods of the same namespace only.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-same-namespace
  namespace: %[1]s
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector: {}
`, ns, types)
		if egress {
			fmt.Fprintf(&b, `---
# Let pods of %[1]q reach the same namespace and the cluster DNS.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-same-namespace-and-dns
  namespace: %[1]s
spec:
  podSelector: {}
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector: {}
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
`, ns)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
