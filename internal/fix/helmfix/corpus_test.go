package helmfix

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// adviseChart runs AdviseChart on a chart directory as `kubeharden fix`
// does.
func adviseChart(t *testing.T, dir string) (*Advice, Render) {
	t.Helper()
	values, err := helm.DefaultValues(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := helm.ValueKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	render := chartRender(dir)
	adv, err := AdviseChart(context.Background(), keys, values, render, fix.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return adv, render
}

func settingSets(adv *Advice) []string {
	var sets []string
	for _, s := range adv.Values {
		sets = append(sets, s.Set)
	}
	return sets
}

// proveValues renders the chart with the advised values: it must have
// fewer findings than without, and none the chart did not have.
func proveValues(t *testing.T, render Render, adv *Advice) {
	t.Helper()
	ctx := context.Background()
	before, err := scanRender(ctx, render, nil, fix.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := scanRender(ctx, render, settingSets(adv), fix.Options{})
	if err != nil {
		t.Fatalf("the chart does not render with the advised values: %v", err)
	}
	if added := after.minus(before); len(added) > 0 {
		t.Errorf("the advised values add findings: %q", added)
	}
	if len(after) >= len(before) {
		t.Errorf("the advised values leave %d findings of %d", len(after), len(before))
	}
	cleared := 0
	for _, s := range adv.Values {
		if len(s.Clears) == 0 {
			t.Errorf("%s is proposed but clears nothing", s.Set)
		}
		cleared += len(s.Clears)
	}
	t.Logf("%d findings, %d with the values (%d values, %d cleared as attributed); %d template edits",
		len(before), len(after), len(adv.Values), cleared, len(adv.Edits))
}

// TestAdviseSwitch is the case: a chart whose own switch
// (seccompProfile.enable, off by default) clears every seccomp-profile
// and pss-restricted finding, and a value the templates read that
// values.yaml does not declare.
func TestAdviseSwitch(t *testing.T) {
	adv, render := adviseChart(t, "testdata/shop")
	var sw *Setting
	for i, s := range adv.Values {
		if s.Key == "seccompProfile.enable" {
			sw = &adv.Values[i]
		}
	}
	if sw == nil {
		t.Fatalf("seccompProfile.enable not proposed: %q", settingSets(adv))
	}
	if sw.Set != "seccompProfile.enable=true" || sw.Declared != "values.yaml" {
		t.Errorf("switch = %s (declared in %q)", sw.Set, sw.Declared)
	}
	for _, want := range []string{"seccomp-profile 2", "pss-restricted 2"} {
		if !strings.Contains(sw.ClearsSummary(), want) {
			t.Errorf("switch summary %q lacks %q", sw.ClearsSummary(), want)
		}
	}
	for _, key := range []string{"frontend.automountServiceAccountToken", "cart.automountServiceAccountToken"} {
		i := slices.IndexFunc(adv.Values, func(s Setting) bool { return s.Key == key })
		if i < 0 {
			t.Errorf("%s (read by the templates only) not proposed: %q", key, settingSets(adv))
		} else if adv.Values[i].Declared != "templates" {
			t.Errorf("%s declared in %q, want templates", key, adv.Values[i].Declared)
		}
	}
	// A switch the schema declares but no template reads clears nothing:
	// not proposed.
	if slices.ContainsFunc(adv.Values, func(s Setting) bool { return s.Key == "networkPolicy.enabled" }) {
		t.Error("networkPolicy.enabled proposed, though nothing reads it")
	}
	proveValues(t, render, adv)
	// What no value reaches is a template edit (the AppArmor profile),
	// certain and so in the diff.
	diff, rest := TemplateDiff(adv.Edits)
	if !strings.Contains(diff, "+        appArmorProfile:\n+          type: RuntimeDefault\n") {
		t.Errorf("template diff:\n%s", diff)
	}
	if len(rest) > 0 {
		t.Errorf("edits without a certain template line: %+v", rest)
	}
}

// corpusWants are values each real chart offers that fix must propose.
var corpusWants = map[string][]string{
	"cert-manager": {
		"automountServiceAccountToken", "webhook.automountServiceAccountToken", "cainjector.automountServiceAccountToken",
		"securityContext.fsGroup", "webhook.securityContext.runAsUser",
	},
	"external-dns":     {"automountServiceAccountToken", "podSecurityContext.appArmorProfile.type"},
	"metrics-server":   {"podSecurityContext.fsGroup", "securityContext.runAsUser"},
	"kyverno":          {"admissionController.podSecurityContext.runAsUser", "reportsController.podSecurityContext.fsGroup"},
	"external-secrets": {"serviceAccount.automount", "webhook.serviceAccount.automount", "certController.podSecurityContext.fsGroup"},
}

// TestAdviseCorpus runs fix on the real charts: it proposes the charts'
// own values, the render with them has fewer findings and no new ones,
// and the template edits, applied to a copy of the chart, clear their
// findings without adding any.
func TestAdviseCorpus(t *testing.T) {
	for name, wants := range corpusWants {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "source", "helm", "testdata", "charts", name)
			adv, render := adviseChart(t, dir)
			for _, k := range wants {
				if !slices.ContainsFunc(adv.Values, func(s Setting) bool { return s.Key == k }) {
					t.Errorf("%s not proposed: %q", k, settingSets(adv))
				}
			}
			proveValues(t, render, adv)
			checkTemplateEdits(t, dir, adv)
		})
	}
}

// checkTemplateEdits applies the certain template edits to a copy of the
// chart and renders it with the advised values: the findings the edits
// fix must be gone, and no finding added.
func checkTemplateEdits(t *testing.T, dir string, adv *Advice) {
	t.Helper()
	edited, rest := templateEdits(adv.Edits)
	t.Logf("%d template edits: %d files in the diff, %d listed", len(adv.Edits), len(edited), len(rest))
	if len(edited) == 0 {
		return
	}
	tmp := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for f, texts := range edited {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, rel), []byte(texts[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	sets := settingSets(adv)
	before, err := scanRender(ctx, chartRender(dir), sets, fix.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := scanRender(ctx, chartRender(tmp), sets, fix.Options{})
	if err != nil {
		t.Fatalf("the edited chart does not render: %v", err)
	}
	if added := after.minus(before); len(added) > 0 {
		t.Errorf("the template edits add findings: %q", added)
	}
	for _, e := range adv.Edits {
		if e.place == nil {
			continue
		}
		for k := range after {
			parts := strings.SplitN(k, "\x00", 3)
			if parts[0] == e.Check && objectMatch(parts[1], e.Object) && e.Check != "pss-restricted" && e.Check != "pss-baseline" {
				t.Errorf("edit %s of %s %s left its finding", e.Check, e.Object, e.Path)
			}
		}
	}
}

// TestAdviseSubchart proposes a subchart's values under its name in the
// parent's values.
func TestAdviseSubchart(t *testing.T) {
	adv, render := adviseChart(t, filepath.Join("..", "..", "source", "helm", "testdata", "traced"))
	for _, k := range []string{"sub.containerSecurityContext.privileged", "securityContext.runAsUser"} {
		if !slices.ContainsFunc(adv.Values, func(s Setting) bool { return s.Key == k }) {
			t.Errorf("%s not proposed: %q", k, settingSets(adv))
		}
	}
	proveValues(t, render, adv)
}
