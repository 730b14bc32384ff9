package yamledit

import (
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// The helpers below edit a mapping in place. They look keys up directly in the
// mapping (not through merge keys): a key written directly overrides a
// merged one, so a shared anchor is never edited through an alias.

// KeyIndex returns the index of key's key node in mapping m, or -1.
func KeyIndex(m *yaml.Node, key string) int {
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

// DeepCopy copies a node tree, resolving aliases, so that an edit of the
// copy never reaches an anchor shared with other places. depth is the
// depth n is at, 0 for the top.
//
// Its cost is bounded by the tree as written, not as its aliases expand:
// the copy expands aliases while it stays within maxCopyNodes nodes (as
// every real manifest does); past that, aliases below the top are copied
// as aliases of the same anchors. The helpers of this file copy an alias
// before they edit below it, so the edits of a fix stay local either way.
func DeepCopy(n *yaml.Node, depth int) *yaml.Node {
	n = object.Resolve(n)
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	budget := maxCopyNodes
	return deepCopy(n, expandable(n, &budget, map[*yaml.Node]bool{}, depth))
}

// maxCopyNodes bounds the nodes DeepCopy makes by expanding aliases.
const maxCopyNodes = 1 << 14

// expandable reports whether n, its aliases expanded, has at most *budget
// nodes (and no alias cycle), taking them from the budget.
func expandable(n *yaml.Node, budget *int, busy map[*yaml.Node]bool, depth int) bool {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 16 {
			return false
		}
		n = n.Alias
	}
	*budget--
	if n == nil {
		return true
	}
	if *budget < 0 || depth > maxCompareDepth || busy[n] {
		return false
	}
	busy[n] = true
	defer delete(busy, n)
	for _, ch := range n.Content {
		if !expandable(ch, budget, busy, depth+1) {
			return false
		}
	}
	return true
}

// deepCopy copies n; it expands the aliases below n when expand is set,
// and otherwise copies them as aliases.
func deepCopy(n *yaml.Node, expand bool) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		if !expand {
			c := *n
			return &c
		}
		n = object.Resolve(n)
		if n == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch, expand)
	}
	return &c
}

// Scalar returns a new scalar node.
func Scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// NewMap returns a new, empty block mapping.
func NewMap() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

// InsertKey adds key: v to m before the first of the keys in before that m
// has, or at the end.
func InsertKey(m *yaml.Node, key string, v *yaml.Node, before ...string) {
	k := Scalar("!!str", key)
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

// EnsureMap returns the mapping under key in m, creating it (before the
// given keys) when absent or null. An aliased or merged mapping is copied
// so that the edit stays local. It returns nil when the key holds
// something other than a mapping, which the fixer leaves alone.
func EnsureMap(m *yaml.Node, key string, before ...string) *yaml.Node {
	if i := KeyIndex(m, key); i >= 0 {
		v := m.Content[i+1]
		switch r := object.Resolve(v); {
		case object.IsNull(v):
			nm := NewMap()
			nm.HeadComment, nm.LineComment, nm.FootComment = v.HeadComment, v.LineComment, v.FootComment
			m.Content[i+1] = nm
			return nm
		case r == nil || r.Kind != yaml.MappingNode:
			return nil
		case v.Kind == yaml.AliasNode:
			c := DeepCopy(v, 0)
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
		nm = DeepCopy(merged, 0)
	} else {
		nm = NewMap()
	}
	InsertKey(m, key, nm, before...)
	return nm
}

// SetScalar sets key in m to a scalar, replacing the value in place (its
// comments kept) or adding the key at the end.
func SetScalar(m *yaml.Node, key, tag, value string) {
	if i := KeyIndex(m, key); i >= 0 {
		old := m.Content[i+1]
		n := Scalar(tag, value)
		n.HeadComment, n.LineComment, n.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[i+1] = n
		return
	}
	InsertKey(m, key, Scalar(tag, value))
}

// DeleteKey removes key from m.
func DeleteKey(m *yaml.Node, key string) {
	if i := KeyIndex(m, key); i >= 0 {
		m.Content = slices.Delete(m.Content, i, i+2)
	}
}

// SeqItems returns the resolved mappings of the sequence under key of m
// (through merge keys, as the API server reads it).
func SeqItems(m *yaml.Node, key string) []*yaml.Node {
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

// AppendItem appends item to the sequence under key of m, creating it; it
// returns false when key holds something else, or a sequence merged in
// through a merge key, which is left alone.
func AppendItem(m *yaml.Node, key string, item *yaml.Node) bool {
	i := KeyIndex(m, key)
	if i < 0 {
		if merged := object.Get(m, key); merged != nil {
			return false
		}
		InsertKey(m, key, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}})
		return true
	}
	v := m.Content[i+1]
	switch r := object.Resolve(v); {
	case object.IsNull(v):
		m.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}}
	case r.Kind != yaml.SequenceNode:
		return false
	default:
		if v.Kind == yaml.AliasNode {
			v = DeepCopy(v, 0)
			m.Content[i+1] = v
		}
		if v.Style&yaml.FlowStyle != 0 {
			item.Style = yaml.FlowStyle
		}
		v.Content = append(v.Content, item)
	}
	return true
}
