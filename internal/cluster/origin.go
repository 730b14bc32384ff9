package cluster

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// origin says where a live object came from, as far as the object says:
// the Helm release that installed it, the Argo CD application or Flux
// Kustomization or HelmRelease that syncs it, the file kustomize built it
// from. It names the chart or repository a person fixes; "" when the
// object says nothing.
func origin(u *unstructured.Unstructured) string {
	a, l := u.GetAnnotations(), u.GetLabels()
	var parts []string
	if r := a["meta.helm.sh/release-name"]; r != "" {
		s := "Helm release " + qualified(a["meta.helm.sh/release-namespace"], r)
		if c := l["helm.sh/chart"]; c != "" {
			s += " (chart " + c + ")"
		}
		parts = append(parts, s)
	}
	if id := a["argocd.argoproj.io/tracking-id"]; id != "" {
		// <application>:<group>/<kind>:<namespace>/<name>
		app, _, _ := strings.Cut(id, ":")
		parts = append(parts, "Argo CD application "+app)
	} else if app := l["argocd.argoproj.io/instance"]; app != "" {
		parts = append(parts, "Argo CD application "+app)
	}
	for _, flux := range []struct{ group, what string }{
		{"kustomize.toolkit.fluxcd.io", "Flux Kustomization "},
		{"helm.toolkit.fluxcd.io", "Flux HelmRelease "},
	} {
		if n := l[flux.group+"/name"]; n != "" {
			parts = append(parts, flux.what+qualified(l[flux.group+"/namespace"], n))
		}
	}
	if o := a["config.kubernetes.io/origin"]; o != "" {
		parts = append(parts, kustomizeOrigin(o))
	}
	return join(parts...)
}

// kustomizeOrigin reads kustomize's origin annotation, a YAML mapping
// (path, repo, ref, and configuredIn/configuredBy for generated objects),
// into one line. Only the scalar keys it knows are read, one per line.
func kustomizeOrigin(v string) string {
	fields := map[string]string{}
	for line := range strings.SplitSeq(v, "\n") {
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(k, " ") {
			continue
		}
		fields[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(val), `"'`)
	}
	path := fields["path"]
	if path == "" {
		path = fields["configuredIn"]
	}
	s := "kustomize " + path
	if r := fields["repo"]; r != "" {
		s += " in " + r
		if ref := fields["ref"]; ref != "" {
			s += "@" + ref
		}
	}
	return strings.TrimSpace(s)
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// join joins the non-empty parts with "; ".
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}
