package cluster

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestOrigin(t *testing.T) {
	for _, c := range []struct {
		annotations, labels map[string]string
		want                string
	}{
		{nil, nil, ""},
		{map[string]string{"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "prod"}, map[string]string{"helm.sh/chart": "shop-2.1.0"}, "Helm release prod/shop (chart shop-2.1.0)"},
		{map[string]string{"argocd.argoproj.io/tracking-id": "guestbook:apps/Deployment:default/web"}, nil, "Argo CD application guestbook"},
		{nil, map[string]string{"argocd.argoproj.io/instance": "guestbook"}, "Argo CD application guestbook"},
		{nil, map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, "Flux Kustomization flux-system/apps"},
		{nil, map[string]string{"helm.toolkit.fluxcd.io/name": "redis", "helm.toolkit.fluxcd.io/namespace": "cache"}, "Flux HelmRelease cache/redis"},
		{map[string]string{"config.kubernetes.io/origin": "path: base/deploy.yaml\nrepo: https://github.com/acme/app\nref: v1.2\n"}, nil, "kustomize base/deploy.yaml in https://github.com/acme/app@v1.2"},
		{map[string]string{"config.kubernetes.io/origin": "configuredIn: overlays/prod/kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n"}, nil, "kustomize overlays/prod/kustomization.yaml"},
		{
			map[string]string{"meta.helm.sh/release-name": "web", "config.kubernetes.io/origin": "path: web.yaml"},
			map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"},
			"Helm release web; Flux Kustomization apps; kustomize web.yaml",
		},
	} {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetAnnotations(c.annotations)
		u.SetLabels(c.labels)
		if got := origin(u); got != c.want {
			t.Errorf("%v %v: origin %q, want %q", c.annotations, c.labels, got, c.want)
		}
	}
}
