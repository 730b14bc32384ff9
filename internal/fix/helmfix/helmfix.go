// Package helmfix tells how to fix a Helm chart's findings without
// rewriting its templates, which are not YAML: it fixes the rendered
// objects, then looks for chart values that produce the same fields
// (podSecurityContext, securityContext, resources, the keys `helm create`
// writes and most charts follow) and keeps only the settings a new render
// proves to work. What no value reaches is listed as a template edit.
package helmfix

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

// Render renders the chart with extra --set values.
type Render func(ctx context.Context, set []string) ([]source.Document, []source.Error)

// Advice is how to fix a chart.
type Advice struct {
	// Values are settings, in strvals (--set) form, that a render proved
	// to fix findings.
	Values []Setting
	// Edits are fixes no value reaches: a template has to change.
	Edits []Edit
	// Skipped are findings the fixers left alone.
	Skipped []fix.Skipped
	// Fixes counts the fixes the rendered chart needs.
	Fixes int
}

// Setting is one chart value.
type Setting struct {
	// Key is the value's dotted path (podSecurityContext.runAsNonRoot).
	Key string
	// Value is its YAML value.
	Value *yaml.Node
	// Set is the setting in --set form (key=value).
	Set string
	// Fixes are the fixes it makes.
	Fixes []fix.Applied
	// Clears are the findings the render with it no longer has (keys of
	// check, object and field); see ClearsSummary.
	Clears []string
	// Declared is where the chart offers the value: "values.yaml",
	// "values.schema.json" or "templates" (read, never declared); "" for
	// a field below a declared object.
	Declared string
}

// Edit is a field to set in a template.
type Edit struct {
	// File is the template.
	File string
	fix.Applied
	// Value is the field's fixed value, as YAML.
	Value string
	// place is where the edit goes in the template, nil when no template
	// line is certain for it.
	place *placement
}

// fieldClass is the kind of chart value that may hold a fixed field.
type fieldClass int

const (
	noValue fieldClass = iota
	podSC
	containerSC
	resources
)

// Fields a chart value may set: the pod's securityContext, a container's
// securityContext or resources.
var (
	podSCPath       = regexp.MustCompile(`^(?:.*\.)?spec\.securityContext\.(.+)$`)
	containerSCPath = regexp.MustCompile(`^.*\.(?:initContainers|containers)\[\d+\]\.securityContext\.(.+)$`)
	resourcesPath   = regexp.MustCompile(`^.*\.(?:initContainers|containers)\[\d+\]\.resources\.(.+)$`)
)

func classify(path string) (fieldClass, string) {
	if m := containerSCPath.FindStringSubmatch(path); m != nil {
		return containerSC, m[1]
	}
	if m := resourcesPath.FindStringSubmatch(path); m != nil {
		return resources, m[1]
	}
	if m := podSCPath.FindStringSubmatch(path); m != nil && !strings.Contains(path, "ontainers[") {
		return podSC, m[1]
	}
	return noValue, ""
}

// matches reports whether a values key (its last segment) may feed a field
// class.
func (c fieldClass) matches(key string) bool {
	k := strings.ToLower(key)
	switch c {
	case podSC:
		// Many charts (cert-manager) name the pod's securityContext and
		// the container's containerSecurityContext: a render tells which.
		return strings.HasSuffix(k, "podsecuritycontext") || k == "securitycontext"
	case containerSC:
		return k == "securitycontext" || k == "containersecuritycontext"
	case resources:
		return k == "resources"
	}
	return false
}

// pending is a fix of the rendered chart.
type pending struct {
	file  string
	a     fix.Applied
	class fieldClass
	field string // below the securityContext or resources
	value *yaml.Node
	place *placement
}

func (p *pending) key() string { return p.a.Check + "\x00" + p.a.Object + "\x00" + p.a.Path }

// Advise renders the chart (values holds its default values, for the
// candidate keys), fixes what it rendered, and finds the values that make
// the same fixes.
func Advise(ctx context.Context, values map[string]any, render Render, opts fix.Options) (*Advice, error) {
	return AdviseChart(ctx, nil, values, render, opts)
}

// AdviseChart is Advise with the values the chart offers (helm.ValueKeys):
// first the chart's own switches (seccompProfile.enable,
// serviceAccount.automount...), each kept when a render with it clears
// findings and adds none, then the objects (securityContext, resources,
// per component) that take the fixed fields, kept on the same proof; what
// no value reaches is an edit of a template.
func AdviseChart(ctx context.Context, keys []helm.ValueKey, values map[string]any, render Render, opts fix.Options) (*Advice, error) {
	adv := &Advice{}
	before, err := scanRender(ctx, render, nil, opts)
	if err != nil {
		return nil, err
	}
	var sets []string
	adv.Values, sets, before = switches(ctx, keys, render, nil, before, opts)
	opts.Skip = func(s fix.Skipped) { adv.Skipped = append(adv.Skipped, s) }
	todo, err := fixes(ctx, render, sets, opts)
	if err != nil {
		return nil, err
	}
	adv.Fixes = len(todo)
	for _, s := range adv.Values {
		adv.Fixes += len(s.Clears)
	}
	for _, class := range []fieldClass{podSC, containerSC, resources} {
		for _, cand := range mergeCandidates(candidates(values, class), keyCandidates(keys, class)) {
			var mine []*pending
			for _, p := range todo {
				if p.class == class {
					mine = append(mine, p)
				}
			}
			if len(mine) == 0 {
				break
			}
			trial, settings := settingsFor(cand, mine)
			quiet := opts
			quiet.Skip = nil
			all := append(slices.Clone(sets), trial...)
			after, err := fixes(ctx, render, all, quiet)
			if err != nil {
				continue // the chart rejects this value: not a candidate
			}
			found, err := scanRender(ctx, render, all, quiet)
			if err != nil || len(found.minus(before)) > 0 {
				continue // it brings findings of its own
			}
			left := map[string]bool{}
			for _, p := range after {
				left[p.key()] = true
			}
			for _, p := range todo {
				if p.class != class {
					left[p.key()] = true
				}
			}
			cleared := before.minus(found)
			var kept []Setting
			dropped := false
			for _, s := range settings {
				var done []fix.Applied
				for _, a := range s.Fixes {
					if !left[a.Check+"\x00"+a.Object+"\x00"+a.Path] {
						done = append(done, a)
					}
				}
				s.Fixes = done
				s.Clears = clearedBy(cleared, done)
				if len(done) > 0 && len(s.Clears) > 0 {
					kept = append(kept, s)
				} else {
					dropped = true
				}
			}
			if len(kept) == 0 {
				continue
			}
			if dropped {
				// Proposed is only what the proof rendered: without the
				// settings that clear nothing, render again.
				all = slices.Clone(sets)
				for _, s := range kept {
					all = append(all, s.Set)
				}
				again, err := scanRender(ctx, render, all, quiet)
				if err != nil || len(again.minus(before)) > 0 || len(before.minus(again)) < len(cleared) {
					continue
				}
				found = again
				if after, err = fixes(ctx, render, all, quiet); err != nil {
					continue
				}
				left = map[string]bool{}
				for _, p := range after {
					left[p.key()] = true
				}
				for _, p := range todo {
					if p.class != class {
						left[p.key()] = true
					}
				}
			}
			adv.Values = append(adv.Values, kept...)
			sets, before = all, found
			// A fix of another class stays, even when the new render no
			// longer needs it: readOnlyRootFilesystem set by a value still
			// needs the /tmp volume in the template.
			var rest []*pending
			for _, p := range todo {
				if p.class != class || left[p.key()] {
					rest = append(rest, p)
				}
			}
			todo = rest
		}
	}
	// A securityContext or resources edit that the values made needless
	// (a container's runAsUser set through the key the pod's was tried
	// with) is dropped; other edits stay, as above.
	if final, err := fixes(ctx, render, sets, quietOpts(opts)); err == nil {
		need := map[string]bool{}
		for _, p := range final {
			need[p.key()] = true
		}
		var rest []*pending
		for _, p := range todo {
			if p.class == noValue || need[p.key()] {
				rest = append(rest, p)
			}
		}
		todo = rest
	}
	for _, p := range todo {
		v, _ := yaml.Marshal(p.value)
		adv.Edits = append(adv.Edits, Edit{File: p.file, Applied: p.a, Value: strings.TrimSpace(string(v)), place: p.place})
	}
	return adv, nil
}

func quietOpts(o fix.Options) fix.Options {
	o.Skip = nil
	return o
}

// clearedBy picks, of the findings a render cleared, those of the checks
// and objects a setting fixed.
func clearedBy(cleared []string, fixes []fix.Applied) []string {
	var out []string
	for _, k := range cleared {
		parts := strings.SplitN(k, "\x00", 3)
		for _, a := range fixes {
			if parts[0] == a.Check && objectMatch(parts[1], a.Object) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// objectMatch compares a finding's Kind/namespace/name with a fix's
// Kind/namespace/name or Kind/name by kind and name: a finding in the
// release namespace has none, the rendered object the render's default.
func objectMatch(finding, fixed string) bool {
	kindName := func(s string) string {
		kind, rest, _ := strings.Cut(s, "/")
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			rest = rest[i+1:]
		}
		return kind + "/" + rest
	}
	return kindName(finding) == kindName(fixed)
}

// keyCandidates are the keys the chart offers (declared in its schema or
// read by its templates, not only in values.yaml) that may feed a class.
func keyCandidates(keys []helm.ValueKey, class fieldClass) []string {
	var out []string
	for _, k := range keys {
		if k.Type != "object" && k.Type != "" || strings.Count(k.Path, ".") > 2 || strings.ContainsAny(k.Path, "[]=,{}\\") {
			continue
		}
		last := k.Path[strings.LastIndexByte(k.Path, '.')+1:]
		if class.matches(last) {
			out = append(out, k.Path)
		}
	}
	return out
}

// mergeCandidates appends the keys of b that a lacks, shallowest first.
func mergeCandidates(a, b []string) []string {
	for _, k := range b {
		if !slices.Contains(a, k) {
			a = append(a, k)
		}
	}
	sort.SliceStable(a, func(i, j int) bool { return strings.Count(a[i], ".") < strings.Count(a[j], ".") })
	return a
}

// fixes renders the chart with set and returns the fixes its objects need.
func fixes(ctx context.Context, render Render, set []string, opts fix.Options) ([]*pending, error) {
	docs, errs := render(ctx, set)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	var out []*pending
	// Template files by path, read once for the placements.
	files := map[string][]string{}
	for _, d := range docs {
		fixed, applied, err := fix.Manifest(d.Data, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		if len(applied) == 0 {
			continue
		}
		var root, orig yaml.Node
		if err := yaml.Unmarshal(fixed, &root); err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		if yaml.Unmarshal(d.Data, &orig) != nil {
			orig = yaml.Node{}
		}
		seen := map[string]bool{}
		for _, a := range applied {
			p := &pending{file: d.File, a: a}
			if seen[p.key()] {
				continue
			}
			seen[p.key()] = true
			p.value = lookup(&root, a.Path)
			if p.value == nil {
				p.value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			}
			p.class, p.field = classify(a.Path)
			if orig.Kind != 0 {
				p.place = place(d, &orig, a.Path, files)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// candidates lists the values keys (dotted, up to three levels deep) that
// may feed a field class, shallowest first.
func candidates(values map[string]any, class fieldClass) []string {
	var out []string
	var walk func(m map[string]any, prefix string, depth int)
	walk = func(m map[string]any, prefix string, depth int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsAny(k, ".[]=,{}\\") {
				continue // not addressable with --set
			}
			path := prefix + k
			switch v := m[k].(type) {
			case map[string]any:
				if class.matches(k) {
					out = append(out, path)
				} else if depth < 3 {
					walk(v, path+".", depth+1)
				}
			case nil:
				if class.matches(k) {
					out = append(out, path)
				}
			}
		}
	}
	walk(values, "", 1)
	sort.SliceStable(out, func(i, j int) bool { return strings.Count(out[i], ".") < strings.Count(out[j], ".") })
	return out
}

// settingsFor turns the fixes into --set values under key, one per leaf.
func settingsFor(key string, ps []*pending) ([]string, []Setting) {
	var sets []string
	byKey := map[string]int{}
	var settings []Setting
	for _, p := range ps {
		for _, leaf := range leaves(p.field, p.value) {
			k := key + "." + leaf.path
			i, ok := byKey[k]
			if !ok {
				i = len(settings)
				byKey[k] = i
				settings = append(settings, Setting{Key: k, Value: leaf.value, Set: k + "=" + leaf.set})
				sets = append(sets, k+"="+leaf.set)
			}
			settings[i].Fixes = append(settings[i].Fixes, p.a)
		}
	}
	return sets, settings
}

type leaf struct {
	path  string
	value *yaml.Node
	set   string // the value in strvals syntax
}

// leaves flattens a fixed value into --set leaves.
func leaves(path string, n *yaml.Node) []leaf {
	switch n.Kind {
	case yaml.MappingNode:
		var out []leaf
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, leaves(path+"."+n.Content[i].Value, n.Content[i+1])...)
		}
		return out
	case yaml.SequenceNode:
		var items []string
		for _, it := range n.Content {
			items = append(items, it.Value)
		}
		return []leaf{{path, n, "{" + strings.Join(items, ",") + "}"}}
	}
	return []leaf{{path, n, n.Value}}
}

// lookup follows a field path (a.b[0].c) in a document.
func lookup(root *yaml.Node, path string) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, seg := range strings.Split(path, ".") {
		name, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			name = seg[:i]
			v, err := strconv.Atoi(seg[i+1 : len(seg)-1])
			if err != nil {
				return nil
			}
			idx = v
		}
		n = object.Field(n, name)
		if idx >= 0 {
			if n == nil || n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		}
	}
	return n
}

// ValuesYAML renders settings as a values file snippet, keys nested in the
// order they come.
func ValuesYAML(settings []Setting) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range settings {
		m := root
		parts := strings.Split(s.Key, ".")
		for _, k := range parts[:len(parts)-1] {
			var next *yaml.Node
			for i := 0; i+1 < len(m.Content); i += 2 {
				if m.Content[i].Value == k && m.Content[i+1].Kind == yaml.MappingNode {
					next = m.Content[i+1]
				}
			}
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode}
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, next)
			}
			m = next
		}
		v := *s.Value
		v.HeadComment, v.FootComment = "", "" // the line comment says to tune a resource
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: parts[len(parts)-1]}, &v)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
