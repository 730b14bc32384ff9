package yamledit

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// SameNode reports whether two trees mean the same YAML, ignoring
// positions, comments and style (aliases followed).
//
// The cost is linear in the size of the trees as written, not as their
// aliases expand: a document of nine nested aliases, each used nine
// times, means 9^9 nodes but is compared in microseconds.
func SameNode(a, b *yaml.Node) bool { return newComparer().same(a, b) }

// maxCompareDepth bounds the nesting compare follows; deeper trees (or
// an alias that contains itself) are never the same as anything, so that
// the caller falls back to its safe path.
const maxCompareDepth = 10000

// comparer decides whether nodes mean the same YAML by hash-consing: each
// node gets the number of its meaning (kind, tag, value and the numbers
// of its children), computed once per node however many aliases reach
// it. Two nodes mean the same exactly when their numbers are equal.
type comparer struct {
	ids map[*yaml.Node]int
	// meanings numbers each distinct meaning, keyed by its encoding.
	meanings map[string]int
	// busy marks the nodes being numbered, to catch an alias cycle.
	busy map[*yaml.Node]bool
	key  []byte
}

func newComparer() *comparer {
	return &comparer{ids: map[*yaml.Node]int{}, meanings: map[string]int{}, busy: map[*yaml.Node]bool{}}
}

// same reports whether a and b mean the same YAML. Trees without aliases
// (nearly all manifests) are compared node by node, which costs less than
// numbering them; an alias anywhere sends the comparison to the numbers.
func (c *comparer) same(a, b *yaml.Node) bool {
	if a == b {
		return true
	}
	if same, ok := plainSame(a, b, 0); ok {
		return same
	}
	ia, ib := c.id(a, 0), c.id(b, 0)
	return ia >= 0 && ia == ib
}

// plainSame compares two trees node by node; ok is false when it meets an
// alias (or a tree too deep), which it leaves to the numbers.
func plainSame(a, b *yaml.Node, depth int) (same, ok bool) {
	if a == nil || b == nil {
		return a == b, true
	}
	if a.Kind == yaml.AliasNode || b.Kind == yaml.AliasNode || depth > maxCompareDepth {
		return false, false
	}
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) || (a.Kind == yaml.ScalarNode && a.Value != b.Value) || a.ShortTag() != b.ShortTag() {
		// The nodes themselves differ, whatever is below them.
		return false, true
	}
	for i := range a.Content {
		if same, ok := plainSame(a.Content[i], b.Content[i], depth+1); !ok || !same {
			return same, ok
		}
	}
	return true, true
}

// id returns the number of n's meaning: 0 for nil, -1 when it has none
// (too deep, or an alias cycle).
func (c *comparer) id(n *yaml.Node, depth int) int {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxCompareDepth {
			return -1
		}
		n = n.Alias
	}
	if n == nil {
		return 0
	}
	if id, ok := c.ids[n]; ok {
		return id
	}
	if depth > maxCompareDepth || c.busy[n] {
		return -1
	}
	c.busy[n] = true
	children := make([]int, len(n.Content))
	for i, ch := range n.Content {
		children[i] = c.id(ch, depth+1)
	}
	delete(c.busy, n)
	id := -1
	if !containsNegative(children) {
		k := c.key[:0]
		k = strconv.AppendInt(k, int64(n.Kind), 10)
		k = append(k, ' ')
		k = strconv.AppendQuote(k, n.ShortTag())
		if n.Kind == yaml.ScalarNode {
			k = strconv.AppendQuote(k, n.Value)
		}
		for _, ch := range children {
			k = append(k, ' ')
			k = strconv.AppendInt(k, int64(ch), 10)
		}
		c.key = k
		var ok bool
		if id, ok = c.meanings[string(k)]; !ok {
			id = len(c.meanings) + 1
			c.meanings[string(k)] = id
		}
	}
	c.ids[n] = id
	return id
}

func containsNegative(xs []int) bool {
	for _, x := range xs {
		if x < 0 {
			return true
		}
	}
	return false
}
