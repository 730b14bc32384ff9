package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Objects must use API versions the target cluster serves, and should not
// use ones it has deprecated: an object on a removed API cannot be
// applied, and one on a deprecated API blocks the next upgrade, so old
// APIs keep clusters on unpatched releases.
//
// Fields: apiVersion and kind, against the deprecated API migration guide
// (package k8sversion).
// Target: --kubernetes-version or parameters.kubernetesVersion; without
// one, the newest release of kubeharden's calendar, where every API of the
// table is removed.
// Allowed: API versions that the target release neither deprecated nor
// removed. Deprecated (still served) and removed APIs are both reported,
// the message saying which.
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "deprecated-api",
			Title:    "Deprecated or removed API version",
			Severity: check.Medium,
			Description: "Kubernetes deprecates beta API versions once a stable one exists and stops serving them a few releases later. " +
				"A manifest on a removed API cannot be applied to the cluster at all, and one on a deprecated API breaks at the upgrade that removes it, " +
				"which is how clusters end up held back on releases that no longer get security fixes. " +
				"The check reads the apiVersion and kind of every object against the deprecated API migration guide, for the version given by " +
				"--kubernetes-version (or parameters.kubernetesVersion), or, without one, the newest release kubeharden knows.",
			Remediation: "Change apiVersion to the replacement the finding names and adapt the fields that changed " +
				"(for example, apps/v1 requires spec.selector; networking.k8s.io/v1 Ingress backends name service.name and service.port); " +
				"`kubectl convert` rewrites most of them.",
			References: []string{
				seed000 + "keep your Kubernetes cluster as updated as possible",
				"Kubernetes: deprecated API migration guide",
			},
		},
		Applies: func(o *object.Object) bool { _, ok := k8sversion.LookupAPI(o.APIVersion, o.Kind); return ok },
		Run:     deprecatedAPI,
	})
}

func deprecatedAPI(p *check.Pass) {
	o := p.Object
	api, _ := k8sversion.LookupAPI(o.APIVersion, o.Kind)
	target := k8sversion.Latest()
	if v, err := k8sversion.Parse(p.Params.KubernetesVersion); err == nil {
		target = v
	}
	if target.Less(api.Deprecated) {
		return
	}
	advice := api.Note
	if api.Replacement != "" {
		advice = "use " + api.Replacement
	}
	ref := object.Ref{Path: "apiVersion", Node: object.Get(o.Node, "apiVersion")}
	if target.Less(api.Removed) {
		p.Report(ref, "%s uses %s, deprecated in %s and removed in %s: %s", o.Kind, o.APIVersion, api.Deprecated, api.Removed, advice)
		return
	}
	p.Report(ref, "%s uses %s, removed in %s: %s", o.Kind, o.APIVersion, api.Removed, advice)
}
