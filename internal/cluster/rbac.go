package cluster

import (
	"cmp"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Rules are the least-privilege RBAC rules for listing kinds, and the
// Namespaces the audit goes through: list only, one rule per API group. Secrets are listed as metadata only and only of
// the service account token type, but RBAC cannot grant less than list
// on secrets, which would also read their data: whoever runs the audit
// with these rules can read Secrets. Leave Secret out (skip the checks
// that read it) where that matters.
func Rules(kinds []Kind) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, k := range append([]Kind{Kinds()[0]}, kinds...) {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{k.Resource.Group}, Resources: []string{k.Resource.Resource}, Verbs: []string{"list"}})
	}
	return MergeRules(rules)
}

// MergeRules merges the resource rules of one API group and the same
// verbs into one, and sorts the result (SortRules).
func MergeRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		i := slices.IndexFunc(out, func(o rbacv1.PolicyRule) bool {
			return len(r.NonResourceURLs) == 0 && len(o.NonResourceURLs) == 0 && len(o.ResourceNames) == 0 && len(r.ResourceNames) == 0 &&
				slices.Equal(o.APIGroups, r.APIGroups) && slices.Equal(o.Verbs, r.Verbs)
		})
		if i < 0 {
			out = append(out, *r.DeepCopy())
			continue
		}
		for _, res := range r.Resources {
			if !slices.Contains(out[i].Resources, res) {
				out[i].Resources = append(out[i].Resources, res)
			}
		}
		slices.Sort(out[i].Resources)
	}
	SortRules(out)
	return out
}

// SortRules orders rules by API group, then resources, so that printed
// roles are stable.
func SortRules(rules []rbacv1.PolicyRule) {
	key := func(r rbacv1.PolicyRule) string {
		s := ""
		for _, g := range r.APIGroups {
			s += g + ","
		}
		s += "/"
		for _, x := range r.Resources {
			s += x + ","
		}
		for _, x := range r.NonResourceURLs {
			s += x + ","
		}
		return s
	}
	slices.SortFunc(rules, func(a, b rbacv1.PolicyRule) int { return cmp.Compare(key(a), key(b)) })
}
