package helmfix

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// A switch is a boolean value a chart offers that turns a hardening on
// (seccompProfile.enable, readOnlyRootFilesystem) or a risk off
// (serviceAccount.automount): set to its secure value, it may clear the
// findings of its checks.
type switchRule struct {
	secure bool
	// checks are those whose findings the switch may clear; a switch is
	// only tried when one of them has findings.
	checks []string
}

// switchFor returns the rule of a values key, if it is a switch.
func switchFor(path string) (switchRule, bool) {
	segs := strings.Split(strings.ToLower(path), ".")
	last := segs[len(segs)-1]
	parent := ""
	if len(segs) > 1 {
		parent = segs[len(segs)-2]
	}
	pss := []string{"pss-baseline", "pss-restricted"}
	switch {
	case (last == "enable" || last == "enabled") && strings.Contains(parent, "seccomp"),
		strings.Contains(last, "seccomp") && (strings.HasSuffix(last, "enable") || strings.HasSuffix(last, "enabled")):
		return switchRule{true, append([]string{"seccomp-profile"}, pss...)}, true
	case last == "readonlyrootfilesystem":
		return switchRule{true, []string{"read-only-root-filesystem"}}, true
	case last == "runasnonroot":
		return switchRule{true, append([]string{"run-as-non-root"}, pss...)}, true
	case last == "allowprivilegeescalation":
		return switchRule{false, append([]string{"allow-privilege-escalation"}, pss...)}, true
	case last == "privileged":
		return switchRule{false, append([]string{"privileged-container"}, pss...)}, true
	case strings.HasPrefix(last, "automount"):
		return switchRule{false, []string{"automount-service-account-token"}}, true
	case last == "hostnetwork" || last == "hostpid" || last == "hostipc":
		return switchRule{false, append([]string{"host-namespaces"}, pss...)}, true
	case (last == "enabled" || last == "create") && strings.Contains(parent, "networkpolic"):
		return switchRule{true, []string{"network-policy-coverage", "namespace-default-deny"}}, true
	}
	return switchRule{}, false
}

// findingSet is the findings of a render, by check, object and field.
type findingSet map[string]string // key: check

func findingKey(check, object, path string) string { return check + "\x00" + object + "\x00" + path }

// scanRender renders the chart with set and scans what it renders, with
// the checks and policy of opts.
func scanRender(ctx context.Context, render Render, set []string, opts fix.Options) (findingSet, error) {
	docs, errs := render(ctx, set)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	items := func(yield func(source.Item) bool) {
		if !yield(source.Item{Kind: source.Opened, Path: "chart"}) {
			return
		}
		for _, d := range docs {
			if !yield(source.Item{Kind: source.ManifestDoc, Doc: d}) {
				return
			}
		}
	}
	reg := opts.Registry
	if reg == nil {
		reg = checks.Registry()
	}
	res := scan.Run(ctx, items, scan.Options{Registry: reg, Policy: opts.Policy})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fs := findingSet{}
	for _, f := range res.Findings {
		obj := ""
		if o := f.Object; o != nil {
			obj = o.Kind + "/" + o.Namespace + "/" + o.Name
		}
		fs[findingKey(f.Check, obj, f.Path)] = f.Check
	}
	return fs, nil
}

// diff returns the findings of a that b lacks.
func (a findingSet) minus(b findingSet) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (a findingSet) has(checks []string) bool {
	for _, c := range a {
		if slices.Contains(checks, c) {
			return true
		}
	}
	return false
}

// switches tries, one by one, each switch the chart offers that is not at
// its secure value, on top of set: a switch is kept when the render with
// it clears findings and adds none. It returns the kept settings, the
// settings to render with from now on, and the findings left.
func switches(ctx context.Context, keys []helm.ValueKey, render Render, set []string, before findingSet, opts fix.Options) ([]Setting, []string, findingSet) {
	var kept []Setting
	for _, k := range keys {
		if k.Type != "boolean" && k.Type != "" {
			continue
		}
		rule, ok := switchFor(k.Path)
		if !ok || !before.has(rule.checks) || strings.ContainsAny(k.Path, "[]=,{}\\") {
			continue
		}
		if b, isBool := k.Default.(bool); k.Set && isBool && b == rule.secure {
			continue
		}
		if k.Set && k.Default != nil {
			if _, isBool := k.Default.(bool); !isBool {
				continue // a map or a string under a switch's name
			}
		}
		v := strconv.FormatBool(rule.secure)
		trial := append(slices.Clone(set), k.Path+"="+v)
		after, err := scanRender(ctx, render, trial, opts)
		if err != nil {
			continue // the chart rejects it: its schema, a required value
		}
		cleared, added := before.minus(after), after.minus(before)
		if len(cleared) == 0 || len(added) > 0 {
			continue
		}
		var fixed []fix.Applied
		for _, c := range cleared {
			parts := strings.SplitN(c, "\x00", 3)
			fixed = append(fixed, fix.Applied{Check: parts[0], Object: strings.Replace(parts[1], "//", "/", 1), Path: parts[2]})
		}
		kept = append(kept, Setting{
			Key: k.Path, Value: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v}, Set: k.Path + "=" + v,
			Fixes: fixed, Clears: cleared, Declared: k.From,
		})
		set, before = trial, after
	}
	return kept, set, before
}

// ClearsSummary says how many findings a setting clears, by check.
func (s Setting) ClearsSummary() string {
	if len(s.Clears) == 0 {
		return "clears no finding by itself"
	}
	by := map[string]int{}
	for _, k := range s.Clears {
		c, _, _ := strings.Cut(k, "\x00")
		by[c]++
	}
	ids := make([]string, 0, len(by))
	for c := range by {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, c := range ids {
		parts[i] = fmt.Sprintf("%s %d", c, by[c])
	}
	n := "findings"
	if len(s.Clears) == 1 {
		n = "finding"
	}
	return fmt.Sprintf("clears %d %s (%s)", len(s.Clears), n, strings.Join(parts, ", "))
}
