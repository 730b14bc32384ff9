// Package deploy renders the Helm chart of deploy/helm/kubeharden into the
// plain manifests of deploy/manifests, with the project's own renderer
// (internal/source/helm), so that the two never drift: its tests compare
// them, scan both, and have a real API server accept what they hold.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/releaseutil"

	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// What the plain manifests are rendered with: the chart's defaults, in a
// namespace of kubeharden's own that the manifests create.
const (
	ReleaseName = "kubeharden"
	Namespace   = "kubeharden"
)

// Paths below the repository root.
var (
	ChartDir      = filepath.Join("deploy", "helm", "kubeharden")
	ManifestsFile = filepath.Join("deploy", "manifests", "kubeharden.yaml")
)

// ManifestOptions are the options of the plain manifests' rendering.
func ManifestOptions() helm.Options {
	return helm.Options{ReleaseName: ReleaseName, Namespace: Namespace, Set: []string{"namespace.create=true"}}
}

// Render renders the chart at chartDir, every document after a
// `# Source:` line naming its template, in the order `helm install`
// creates them (by kind: the Namespace first, the webhook registrations
// last, after the Deployment that serves them), so that `kubectl apply`
// of the output works in one pass.
func Render(ctx context.Context, chartDir string, opts helm.Options) ([]byte, error) {
	docs, errs := helm.Render(ctx, chartDir, opts)
	if len(errs) > 0 {
		var all []error
		for _, e := range errs {
			all = append(all, e)
		}
		return nil, fmt.Errorf("rendering %s: %w", chartDir, errors.Join(all...))
	}
	rank := func(d source.Document) int {
		var m struct {
			Kind string `yaml:"kind"`
		}
		_ = yaml.Unmarshal(d.Data, &m)
		if i := slices.Index(releaseutil.InstallOrder, m.Kind); i >= 0 {
			return i
		}
		return len(releaseutil.InstallOrder)
	}
	slices.SortStableFunc(docs, func(a, b source.Document) int { return rank(a) - rank(b) })
	var b bytes.Buffer
	for _, d := range docs {
		rel, err := filepath.Rel(filepath.Dir(chartDir), d.File)
		if err != nil {
			rel = d.File
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n", filepath.ToSlash(rel))
		// A document after the first of its template starts with the
		// separator the template wrote.
		data := bytes.TrimPrefix(bytes.TrimLeft(d.Data, "\n"), []byte("---\n"))
		b.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// Header opens the plain manifests.
const Header = `# kubeharden: the admission webhook and the nightly cluster audit, as plain
# manifests. Generated from deploy/helm/kubeharden with its default values
# (release kubeharden, namespace kubeharden, --set namespace.create=true) by
# ` + "`make deploy-manifests`" + `: do not edit; change the chart. deploy/README.md
# says how to install them (the TLS Secret and caBundle are yours to set).
`

// Manifests returns the plain manifests of the chart at chartDir.
func Manifests(ctx context.Context, chartDir string) ([]byte, error) {
	out, err := Render(ctx, chartDir, ManifestOptions())
	if err != nil {
		return nil, err
	}
	return append([]byte(Header), out...), nil
}
