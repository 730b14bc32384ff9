package helmfix

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

func chartRender(dir string) Render {
	return func(ctx context.Context, set []string) ([]source.Document, []source.Error) {
		return helm.Render(ctx, dir, helm.Options{Set: set})
	}
}

// TestAdvise renders a real chart: the values it suggests must make the
// fixes when the chart is rendered with them, and what no value reaches
// must be listed as template edits.
func TestAdvise(t *testing.T) {
	const dir = "testdata/web"
	values, err := helm.DefaultValues(dir)
	if err != nil {
		t.Fatal(err)
	}
	render := chartRender(dir)
	adv, err := Advise(context.Background(), values, render, fix.Options{FixValues: check.FixValues{Resources: &fix.DefaultResources}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range adv.Values {
		keys = append(keys, s.Key)
	}
	for _, want := range []string{
		"podSecurityContext.runAsNonRoot", "podSecurityContext.runAsUser", "podSecurityContext.seccompProfile.type",
		"securityContext.allowPrivilegeEscalation", "securityContext.readOnlyRootFilesystem", "securityContext.capabilities.drop",
		"resources.limits.memory",
		"worker.containerSecurityContext.privileged", "worker.containerSecurityContext.capabilities.drop",
	} {
		if !slices.Contains(keys, want) {
			t.Errorf("no setting %s in %q", want, keys)
		}
	}
	var edits []string
	for _, e := range adv.Edits {
		edits = append(edits, e.File+" "+e.Object+" "+e.Path+": "+e.Value)
	}
	for _, want := range []string{
		"web/templates/deployment.yaml Deployment/release-name-web spec.template.spec.automountServiceAccountToken: false",
		"web/templates/deployment.yaml Deployment/release-name-web spec.template.spec.volumes[0]: name: tmp",
	} {
		found := false
		for _, e := range edits {
			if strings.HasPrefix(e, "testdata/"+want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no edit %q in\n%s", want, strings.Join(edits, "\n"))
		}
	}

	// Rendering with the suggested values leaves only the template edits.
	var sets []string
	for _, s := range adv.Values {
		sets = append(sets, s.Set)
	}
	after, err := fixes(context.Background(), render, sets, fix.Options{FixValues: check.FixValues{Resources: &fix.DefaultResources}})
	if err != nil {
		t.Fatal(err)
	}
	var remain []string
	for _, p := range after {
		remain = append(remain, p.a.Path)
	}
	for _, e := range adv.Edits {
		if !slices.Contains(remain, e.Path) && !strings.Contains(e.Path, ".volumes[") && !strings.Contains(e.Path, ".volumeMounts[") {
			t.Errorf("edit %s is fixed by the values already", e.Path)
		}
	}
	for _, p := range after {
		if p.class != noValue && !strings.Contains(p.file, "worker") {
			t.Errorf("with the values set, %s still needs %s", p.a.Object, p.a.Path)
		}
	}

	snippet, err := ValuesYAML(adv.Values)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(snippet), "podSecurityContext:\n  runAsNonRoot: true\n") {
		t.Errorf("values snippet:\n%s", snippet)
	}
}
