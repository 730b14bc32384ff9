package checks

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Service account tokens should not be stored in Secrets: a Secret of type
// kubernetes.io/service-account-token holds a legacy token that never
// expires and is not bound to a pod, so a copy that leaks (from a backup,
// a CI log, a laptop) works until someone deletes the Secret.
//
// Objects: Secrets of the core API group
// Fields: type
// Allowed: any type but kubernetes.io/service-account-token
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "service-account-token-secret",
			Title:    "Long-lived service account token Secret",
			Severity: check.Low,
			Description: "For a Secret of type kubernetes.io/service-account-token, the token controller writes a token of the service account " +
				"named in its kubernetes.io/service-account.name annotation. That token has no expiry and is not bound to a pod: " +
				"whoever reads the Secret, or a copy of it, acts as the service account until the Secret is deleted. " +
				"Since Kubernetes 1.22 pods get short-lived tokens that the kubelet rotates, and since 1.24 such Secrets are no longer created automatically; " +
				"one defined in a manifest is a deliberate long-lived credential.",
			Remediation: "Delete the Secret. Pods get a rotated token through the default projected volume; a client outside the cluster " +
				"can request a token with an expiry through the TokenRequest API (kubectl create token).",
			References: []string{
				nsaCISA + "authentication and authorization",
				seed000 + "enable RBAC and give permissions as strictly as possible",
			},
		},
		Applies: func(o *object.Object) bool { return o.Kind == "Secret" && o.Group() == "" },
		Run:     serviceAccountTokenSecret,
	})
}

func serviceAccountTokenSecret(p *check.Pass) {
	o := p.Object
	if object.GetStr(o.Node, "type") != "kubernetes.io/service-account-token" {
		return
	}
	ref := object.Ref{Path: "type", Node: object.KeyNode(o.Node, "type")}
	of := "a service account"
	if sa := o.Annotations["kubernetes.io/service-account.name"]; sa != "" {
		of = "service account " + strconv.Quote(sa)
	}
	p.Report(ref, "secret %s holds a long-lived token of %s that never expires: request short-lived tokens (TokenRequest, kubectl create token) instead",
		strconv.Quote(o.Name), of)
}
