package cluster

import (
	"fmt"
	"slices"

	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// Needed returns the kinds of Kinds that applies accepts, judged on a
// representative object of each: one with a pod spec for the kinds that
// carry one, a service account token for Secret, metadata only for the
// rest. applies is what the enabled checks apply to (each check's
// Applies, or-ed); the audit lists only these kinds, and --print-rbac
// asks only for them.
func Needed(applies func(*object.Object) bool) []Kind {
	var out []Kind
	for _, k := range Kinds() {
		objs, _, _ := source.Parse(source.Document{File: k.Kind, Data: []byte(representative(k))})
		if slices.ContainsFunc(objs, applies) {
			out = append(out, k)
		}
	}
	return out
}

// representative is a minimal object of kind k, as YAML.
func representative(k Kind) string {
	const pod = "{containers: [{name: c, image: i}]}"
	head := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: x", k.Resource.GroupVersion(), k.Kind)
	if k.Namespaced {
		head += ", namespace: x"
	}
	head += "}\n"
	switch {
	case k.Kind == "Pod":
		return head + "spec: " + pod + "\n"
	case k.Kind == "CronJob":
		return head + "spec: {jobTemplate: {spec: {template: {spec: " + pod + "}}}}\n"
	case k.PodTemplate:
		return head + "spec: {template: {spec: " + pod + "}}\n"
	case k.Kind == "Secret":
		return head + "type: " + tokenSecretType + "\n"
	}
	return head
}
