package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
)

func newGenerateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write hardened manifests to start from",
	}
	cmd.AddCommand(newGenerateNetworkPolicyCommand())
	return cmd
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
