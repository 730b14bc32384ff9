package helm_test

import (
	"context"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// BenchmarkRenderScanKyverno renders and scans the largest chart of the
// corpus (kyverno with its grafana subchart: 59 objects) as `kubeharden
// scan` does: the cost of a chart scan, traced render included.
func BenchmarkRenderScanKyverno(b *testing.B) {
	ctx := context.Background()
	renderers := map[source.Kind]source.Renderer{
		source.HelmChart: func(ctx context.Context, p string) ([]source.Document, []source.Error) {
			return helm.Render(ctx, p, helm.Options{Set: []string{"grafana.enabled=true"}})
		},
	}
	for b.Loop() {
		res := scan.Run(ctx, source.Walk(ctx, []string{"testdata/charts/kyverno"}, source.Options{Renderers: renderers}),
			scan.Options{Registry: checks.Registry()})
		if len(res.Errors) > 0 || len(res.Findings) == 0 {
			b.Fatalf("errors %v, %d findings", res.Errors, len(res.Findings))
		}
	}
}
