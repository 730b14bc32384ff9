package fix

import (
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// Helpers that edit a mapping in place. They look keys up directly in the
// mapping (not through merge keys): a key written directly overrides a
// merged one, so a shared anchor is never edited through an alias.

// keyIndex returns the index of key's key node in mapping m, or -1.
func keyIndex(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i
		}
	}
	return -1
}

// deepCopy copies a node tree, resolving aliases, so that an edit of the
// copy never reaches an anchor shared with other places.
func deepCopy(n *yaml.Node, depth int) *yaml.Node {
	n = object.Resolve(n)
	if n == nil || depth > 64 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch, depth+1)
	}
	return &c
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func newMap() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

// insertKey adds key: v to m before the first of the keys in before that m
// has, or at the end.
func insertKey(m *yaml.Node, key string, v *yaml.Node, before ...string) {
	k := scalar("!!str", key)
	at := len(m.Content)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if slices.Contains(before, m.Content[i].Value) {
			at = i
			break
		}
	}
	m.Content = slices.Insert(m.Content, at, k, v)
	// A flow mapping stays flow; a new block child of an empty flow
	// mapping ({}) becomes block.
	if m.Style&yaml.FlowStyle != 0 && v.Kind != yaml.ScalarNode {
		m.Style &^= yaml.FlowStyle
	}
}

// ensureMap returns the mapping under key in m, creating it (before the
// given keys) when absent or null. An aliased or merged mapping is copied
// so that the edit stays local. It returns nil when the key holds
// something other than a mapping, which the fixer leaves alone.
func ensureMap(m *yaml.Node, key string, before ...string) *yaml.Node {
	if i := keyIndex(m, key); i >= 0 {
		v := m.Content[i+1]
		switch r := object.Resolve(v); {
		case object.IsNull(v):
			nm := newMap()
			nm.HeadComment, nm.LineComment, nm.FootComment = v.HeadComment, v.LineComment, v.FootComment
			m.Content[i+1] = nm
			return nm
		case r == nil || r.Kind != yaml.MappingNode:
			return nil
		case v.Kind == yaml.AliasNode:
			c := deepCopy(v, 0)
			m.Content[i+1] = c
			return c
		}
		return v
	}
	var nm *yaml.Node
	if merged := object.Get(m, key); merged != nil {
		if merged.Kind != yaml.MappingNode {
			return nil
		}
		nm = deepCopy(merged, 0)
	} else {
		nm = newMap()
	}
	insertKey(m, key, nm, before...)
	return nm
}

// setScalar sets key in m to a scalar, replacing the value in place (its
// comments kept) or adding the key at the end.
func setScalar(m *yaml.Node, key, tag, value string) {
	if i := keyIndex(m, key); i >= 0 {
		old := m.Content[i+1]
		n := scalar(tag, value)
		n.HeadComment, n.LineComment, n.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[i+1] = n
		return
	}
	insertKey(m, key, scalar(tag, value))
}

// deleteKey removes key from m.
func deleteKey(m *yaml.Node, key string) {
	if i := keyIndex(m, key); i >= 0 {
		m.Content = slices.Delete(m.Content, i, i+2)
	}
}

// seqItems returns the resolved mappings of the sequence under key of m
// (through merge keys, as the API server reads it).
func seqItems(m *yaml.Node, key string) []*yaml.Node {
	s := object.Get(m, key)
	if s == nil || s.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, it := range s.Content {
		if r := object.Resolve(it); r != nil && r.Kind == yaml.MappingNode {
			out = append(out, r)
		} else {
			out = append(out, nil)
		}
	}
	return out
}
