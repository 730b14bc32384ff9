package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

// Pods must not get a Kubernetes API token they do not use: by default
// every container has the service account's token on disk, and whoever
// takes over the container can call the API with it.
//
// Fields: spec.automountServiceAccountToken, and automountServiceAccountToken
// of the pod's ServiceAccount (spec.serviceAccountName, "default" when
// unset) when it is part of the same scan. The pod's field wins.
// Allowed: false in the pod, or unset in the pod and false in the
// ServiceAccount
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "automount-service-account-token",
			Title:    "Service account token mounted",
			Severity: check.Medium,
			Description: "Unless told otherwise, Kubernetes mounts a token of the pod's service account into every container at " +
				"/var/run/secrets/kubernetes.io/serviceaccount. Most applications never call the Kubernetes API, " +
				"but an attacker who gets code execution in the container can read the token and use every permission the service account has, " +
				"often more than anyone intended because RBAC bindings accumulate.",
			Remediation: "Set automountServiceAccountToken: false in the pod spec, or in its ServiceAccount so that every pod using it inherits it; " +
				"a pod that does need the API should use a dedicated service account with minimal RBAC permissions.",
			References: []string{
				seed003 + "automountServiceAccountToken",
				nsaCISA + "pod security (service account tokens)",
			},
		},
		// ServiceAccounts are visited to keep what they say about tokens.
		Applies: func(o *object.Object) bool { return o.Kind == "ServiceAccount" || check.PodSpecs(o) },
		Run:     automountServiceAccountToken,
		Fix:     &check.Fix{Apply: fixAutomountServiceAccountToken, Order: orderAutomount},
	})
}

// automountSAKey is the key of what a ServiceAccount says about tokens.
func automountSAKey(namespace, name string) string {
	return "automount-service-account-token/sa\x00" + namespace + "\x00" + name
}

func automountServiceAccountToken(p *check.Pass) {
	if p.Object.Kind == "ServiceAccount" {
		v, ok := object.ParseBool(object.Get(p.Object.Node, "automountServiceAccountToken"))
		p.Keep(automountSAKey(p.Namespace, p.Object.Name), ok && !v)
		return
	}
	a := p.Pod.AutomountServiceAccountToken
	if a.Set {
		if a.V {
			p.Report(a.Ref, "pod must not set automountServiceAccountToken=true")
		}
		return
	}
	ns, name := p.Namespace, p.Pod.ServiceAccountName.V
	if name == "" {
		name = "default"
	}
	// The ServiceAccount may come later in the input, or in another file.
	p.ReportUnless(a.Ref, func(idx check.Facts) bool {
		// The first ServiceAccount of that name counts, as with kubectl apply.
		kept := idx.Kept(automountSAKey(ns, name))
		return len(kept) > 0 && kept[0].(bool)
	}, "pod must set automountServiceAccountToken=false, or its service account %q must", name)
}

// fixAutomountServiceAccountToken turns the token off in the pod spec. A
// pod that asked for it explicitly may use it: that change is risky.
func fixAutomountServiceAccountToken(p *check.FixPass) {
	n := object.Get(p.Pod.Node, "automountServiceAccountToken")
	v, ok := object.ParseBool(n)
	if ok && !v {
		return
	}
	risk := ""
	if ok && v {
		risk = "no service account token"
	}
	path := p.Pod.Ref.Path + ".automountServiceAccountToken"
	if yamledit.KeyIndex(p.Pod.Node, "automountServiceAccountToken") >= 0 {
		yamledit.SetScalar(p.Pod.Node, "automountServiceAccountToken", "!!bool", "false")
	} else {
		yamledit.InsertKey(p.Pod.Node, "automountServiceAccountToken", yamledit.Scalar("!!bool", "false"),
			append([]string{"securityContext"}, podKeysAfterSC...)...)
	}
	p.Risky(path, risk)
}
