package cli

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
	"github.com/kubeharden/kubeharden/internal/source/kustomize"
)

// renderFlags are the flags of the rendered sources: Helm charts and
// Kustomize directories found among the scanned paths.
type renderFlags struct {
	values      []string
	set         []string
	releaseName string
	kubeVersion string
	allowRemote bool
}

func (r *renderFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVarP(&r.values, "values", "f", nil, "Helm values file for charts (repeatable, applied in order)")
	fl.StringArrayVar(&r.set, "set", nil, "Helm value for charts, key=value (repeatable)")
	fl.StringVar(&r.releaseName, "release-name", "release-name", "Helm release name for charts")
	fl.StringVar(&r.kubeVersion, "kube-version", "", "Kubernetes version charts are rendered for (default "+helm.DefaultKubeVersion+")")
	fl.BoolVar(&r.allowRemote, "allow-remote", false, "let kustomizations load remote bases and resources (network)")
}

// helmOptions are the chart rendering options the flags give.
func (r *renderFlags) helmOptions(namespace string) helm.Options {
	return helm.Options{ValueFiles: r.values, Set: r.set, ReleaseName: r.releaseName, Namespace: namespace, KubeVersion: r.kubeVersion}
}

// renderers renders charts in the release namespace and kustomizations
// offline unless --allow-remote.
func (r *renderFlags) renderers(namespace string) map[source.Kind]source.Renderer {
	hopts := r.helmOptions(namespace)
	kopts := kustomize.Options{AllowRemote: r.allowRemote}
	return map[source.Kind]source.Renderer{
		source.HelmChart: func(ctx context.Context, p string) ([]source.Document, []source.Error) {
			return helm.Render(ctx, p, hopts)
		},
		source.Kustomization: func(ctx context.Context, p string) ([]source.Document, []source.Error) {
			docs, errs := kustomize.Build(ctx, p, kopts)
			for i := range errs {
				if errors.Is(errs[i], kustomize.ErrRemoteDisabled) {
					errs[i].Message += " (--allow-remote enables them)"
				}
			}
			return docs, errs
		},
	}
}
