// Package kustomizefix fixes a kustomization without editing its bases:
// it builds the kustomization, fixes the built objects, and writes the
// difference as strategic-merge patches in one file that the
// kustomization lists under `patches:`. A base shared by several overlays,
// or fetched from elsewhere, stays as it is.
package kustomizefix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

// PatchFile is the name of the patch file written next to the
// kustomization.
const PatchFile = "kubeharden-patch.yaml"

// Build builds a kustomization directory.
type Build func(ctx context.Context, dir string) ([]source.Document, []source.Error)

// Result is what fixing a kustomization changes. Files maps each path to
// its new content; nothing is written.
type Result struct {
	// Kustomization is the kustomization file.
	Kustomization string
	// Files are the new contents of the patch file and, when it does not
	// list the patch yet, of the kustomization file.
	Files   map[string][]byte
	Applied []fix.Applied
	// Objects are the fixed objects' Kind/namespace/name, in build order,
	// one per Applied, for reports.
	Objects []string
}

// kustomizationNames are the file names kustomize reads, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Patch builds the kustomization in dir and returns the patch that fixes
// it. A second run on the patched kustomization finds nothing to fix.
func Patch(ctx context.Context, dir string, build Build, opts fix.Options) (*Result, error) {
	kfile := ""
	for _, n := range kustomizationNames {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			kfile = filepath.Join(dir, n)
			break
		}
	}
	if kfile == "" {
		return nil, fmt.Errorf("%s: not a kustomization", dir)
	}
	docs, errs := build(ctx, dir)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	kdata, err := os.ReadFile(kfile)
	if err != nil {
		return nil, err
	}
	lv, err := readLevel(kdata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	res := &Result{Kustomization: kfile, Files: map[string][]byte{}}
	var patches []*yaml.Node
	for _, d := range docs {
		out, applied, err := fix.Manifest(d.Data, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: built object: %w", d.File, err)
		}
		if len(applied) == 0 {
			continue
		}
		var before, after yaml.Node
		if err := yaml.Unmarshal(d.Data, &before); err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(out, &after); err != nil {
			return nil, err
		}
		p := objectPatch(body(&before), body(&after))
		if p == nil {
			continue
		}
		if err := lv.rename(p); err != nil {
			return nil, fmt.Errorf("%s: %w", kfile, err)
		}
		patches = append(patches, p)
		res.Applied = append(res.Applied, applied...)
	}
	if len(patches) == 0 {
		return res, nil
	}
	patchPath := filepath.Join(dir, PatchFile)
	old, err := os.ReadFile(patchPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		old = nil
	case err != nil:
		return nil, err
	}
	content, err := mergeInto(old, patches)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", patchPath, err)
	}
	res.Files[patchPath] = content
	newK, err := yamledit.Edit(kdata, listPatch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	if !bytes.Equal(newK, kdata) {
		res.Files[kfile] = newK
	}
	return res, nil
}

// level is what a kustomization's own transformers do to names. Its
// patches apply before them, to the objects as its resources produce
// them, so a patch names an object the way it was before this level's
// namePrefix, nameSuffix and namespace.
type level struct {
	prefix, suffix string
	namespace      bool
}

func readLevel(data []byte) (level, error) {
	var k struct {
		NamePrefix string `yaml:"namePrefix"`
		NameSuffix string `yaml:"nameSuffix"`
		Namespace  string `yaml:"namespace"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return level{}, err
	}
	return level{prefix: k.NamePrefix, suffix: k.NameSuffix, namespace: k.Namespace != ""}, nil
}

// rename gives a patch built from a built object the name its object has
// when this level's patches apply.
func (l level) rename(p *yaml.Node) error {
	m := object.Field(p, "metadata")
	name := object.Field(m, "name")
	if name == nil {
		return errors.New("a built object has no name")
	}
	n, ok := strings.CutPrefix(name.Value, l.prefix)
	if ok {
		n, ok = strings.CutSuffix(n, l.suffix)
	}
	if !ok || n == "" {
		return fmt.Errorf("cannot tell the name of %s before namePrefix %q and nameSuffix %q", name.Value, l.prefix, l.suffix)
	}
	name.Value = n
	if l.namespace {
		// The namespace is this level's: the resources' own may be
		// anything, and a patch without one matches any.
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "namespace" {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				break
			}
		}
	}
	return nil
}

func body(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// objectPatch is the strategic-merge patch that turns object a into b:
// the object's apiVersion, kind, name and namespace, then every field b
// adds or changes, and null for the fields it removes.
func objectPatch(a, b *yaml.Node) *yaml.Node {
	d := diff(a, b)
	if d == nil {
		return nil
	}
	p := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range []string{"apiVersion", "kind"} {
		if v := object.Field(b, k); v != nil {
			p.Content = append(p.Content, str(k), str(v.Value))
		}
	}
	meta := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	bm := object.Field(b, "metadata")
	for _, k := range []string{"name", "namespace"} {
		if v := object.Field(bm, k); v != nil && v.Value != "" {
			meta.Content = append(meta.Content, str(k), str(v.Value))
		}
	}
	if dm := object.Field(d, "metadata"); dm != nil {
		for i := 0; i+1 < len(dm.Content); i += 2 {
			if k := dm.Content[i].Value; k != "name" && k != "namespace" {
				meta.Content = append(meta.Content, dm.Content[i], dm.Content[i+1])
			}
		}
	}
	p.Content = append(p.Content, str("metadata"), meta)
	for i := 0; i+1 < len(d.Content); i += 2 {
		switch d.Content[i].Value {
		case "apiVersion", "kind", "metadata":
			continue
		}
		p.Content = append(p.Content, d.Content[i], d.Content[i+1])
	}
	return p
}

// mergeKeys are the fields that identify the items of the object lists
// the fixers touch (their patchMergeKey in the Kubernetes API).
var mergeKeys = []string{"name", "mountPath", "containerPort", "devicePath"}

// diff returns the patch from a to b, nil when they are equal.
func diff(a, b *yaml.Node) *yaml.Node {
	if yamledit.SameNode(a, b) {
		return nil
	}
	if a == nil || b == nil || a.Kind != b.Kind {
		return clean(b)
	}
	switch b.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := 0; i+1 < len(b.Content); i += 2 {
			k := b.Content[i].Value
			if d := diff(object.Field(a, k), b.Content[i+1]); d != nil {
				out.Content = append(out.Content, str(k), d)
			}
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			if k := a.Content[i].Value; object.Field(b, k) == nil {
				out.Content = append(out.Content, str(k), removal(a.Content[i+1]))
			}
		}
		if len(out.Content) == 0 {
			return nil
		}
		return out
	case yaml.SequenceNode:
		key := itemKey(b)
		if key == "" || itemKey(a) != key {
			return clean(b) // replaced whole, as strategic merge does for such lists
		}
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, bi := range b.Content {
			kv := object.Field(bi, key).Value
			var ai *yaml.Node
			for _, it := range a.Content {
				if object.Field(it, key).Value == kv {
					ai = it
				}
			}
			d := diff(ai, bi)
			if d == nil {
				continue
			}
			if ai != nil {
				d.Content = append([]*yaml.Node{str(key), clean(object.Field(bi, key))}, d.Content...)
			}
			out.Content = append(out.Content, d)
		}
		if len(out.Content) == 0 {
			return nil
		}
		return out
	}
	return clean(b)
}

// removal is the patch that removes a field: null, or for a mapping (the
// annotations the fixers empty) null for each of its keys, so that keys
// added by other patches or later levels stay.
func removal(n *yaml.Node) *yaml.Node {
	null := func() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"} }
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return null()
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		m.Content = append(m.Content, str(n.Content[i].Value), null())
	}
	return m
}

// itemKey returns the merge key every item of a list of mappings has, ""
// when there is none.
func itemKey(s *yaml.Node) string {
	if s == nil || s.Kind != yaml.SequenceNode || len(s.Content) == 0 {
		return ""
	}
	for _, k := range mergeKeys {
		all := true
		for _, it := range s.Content {
			if v := object.Field(it, k); v == nil || v.Kind != yaml.ScalarNode {
				all = false
				break
			}
		}
		if all {
			return k
		}
	}
	return ""
}

// clean copies n without positions, comments or flow style, for a patch
// written in block style.
func clean(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	c := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value, Style: n.Style &^ yaml.FlowStyle}
	if n.Kind == yaml.MappingNode && len(n.Content) == 0 || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		c.Style = yaml.FlowStyle
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Content[0].Kind == yaml.ScalarNode {
		c.Style = yaml.FlowStyle
	}
	for _, ch := range n.Content {
		c.Content = append(c.Content, clean(ch))
	}
	return c
}

// target names the object a patch applies to.
func target(p *yaml.Node) string {
	m := object.Field(p, "metadata")
	return object.Field(p, "kind").Value + "/" + valueOf(object.Field(m, "namespace")) + "/" + valueOf(object.Field(m, "name"))
}

func valueOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// header starts every patch file kubeharden writes; a file without it is
// the user's and is never overwritten.
const header = "# Written by `kubeharden fix --kustomize-patch`: the security fixes of this\n# kustomization's objects, as strategic-merge patches. Edit freely.\n"

// mergeInto adds patches to an existing patch file's documents: a patch
// for an object the file already patches is merged into that document
// (the new fields win), others are appended.
func mergeInto(old []byte, patches []*yaml.Node) ([]byte, error) {
	if len(old) > 0 && !bytes.HasPrefix(old, []byte(header)) {
		return nil, errors.New("exists and was not written by kubeharden; move it away or merge its patches into the kustomization")
	}
	var docs []*yaml.Node
	if len(bytes.TrimSpace(old)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(old))
		for {
			var d yaml.Node
			if err := dec.Decode(&d); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
			docs = append(docs, body(&d))
		}
	}
	byTarget := map[string]*yaml.Node{}
	for _, d := range docs {
		if d.Kind == yaml.MappingNode && object.Field(d, "kind") != nil {
			byTarget[target(d)] = d
		}
	}
	for _, p := range patches {
		if d, ok := byTarget[target(p)]; ok {
			merge(d, p)
			continue
		}
		docs = append(docs, p)
		byTarget[target(p)] = p
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	for _, d := range docs {
		buf.WriteString("---\n")
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// merge merges patch p into patch d, p's values winning, lists of
// mappings merged by their merge key.
func merge(d, p *yaml.Node) {
	if d.Kind != yaml.MappingNode || p.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		k, pv := p.Content[i].Value, p.Content[i+1]
		j := -1
		for x := 0; x+1 < len(d.Content); x += 2 {
			if d.Content[x].Value == k {
				j = x
			}
		}
		if j < 0 {
			d.Content = append(d.Content, p.Content[i], pv)
			continue
		}
		dv := d.Content[j+1]
		switch {
		case dv.Kind == yaml.MappingNode && pv.Kind == yaml.MappingNode:
			merge(dv, pv)
		case dv.Kind == yaml.SequenceNode && pv.Kind == yaml.SequenceNode && itemKey(dv) != "" && itemKey(dv) == itemKey(pv):
			key := itemKey(dv)
			for _, pi := range pv.Content {
				found := false
				for _, di := range dv.Content {
					if object.Field(di, key).Value == object.Field(pi, key).Value {
						merge(di, pi)
						found = true
					}
				}
				if !found {
					dv.Content = append(dv.Content, pi)
				}
			}
		default:
			d.Content[j+1] = pv
		}
	}
}

// listPatch adds the patch file to the kustomization's patches, unless it
// is listed already (under patches or patchesStrategicMerge).
func listPatch(root *yaml.Node) (bool, error) {
	k := body(root)
	if k.Kind != yaml.MappingNode {
		return false, errors.New("the kustomization is not a mapping")
	}
	for _, field := range []string{"patches", "patchesStrategicMerge"} {
		if s := object.Field(k, field); s != nil && s.Kind == yaml.SequenceNode {
			for _, it := range s.Content {
				if strings.TrimPrefix(valueOf(object.Field(it, "path")), "./") == PatchFile || strings.TrimPrefix(it.Value, "./") == PatchFile {
					return false, nil
				}
			}
		}
	}
	entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str("path"), str(PatchFile)}}
	if s := object.Field(k, "patches"); s != nil {
		if s.Kind != yaml.SequenceNode {
			if s.Tag != "!!null" {
				return false, errors.New("patches is not a list")
			}
			s.Kind, s.Tag, s.Value = yaml.SequenceNode, "!!seq", ""
		}
		if s.Style&yaml.FlowStyle != 0 {
			entry.Style = yaml.FlowStyle
		}
		s.Content = append(s.Content, entry)
		return true, nil
	}
	k.Content = append(k.Content, str("patches"), &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{entry}})
	return true, nil
}
