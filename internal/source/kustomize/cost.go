package kustomize

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
)

// kyaml, under krusty, looks a field or a list item up by scanning its
// mapping or list (RNode.Field, ElementMatcher), and does so for each of
// them when it visits, patches or merges one: its time grows with the
// square of a mapping's or list's length. Measured with kyaml v0.21.1, a
// strategic-merge patch over a Pod with 8,000 env entries takes 77 s, a
// patch of 40,000 annotations minutes; and it appends each resource by
// comparing it with those before (3,000 resources: 14 s). kubeharden cannot make krusty
// faster nor stop it midway, so it estimates that time before the build
// and refuses a kustomization whose estimate is past the render time
// limit.
const (
	// pairCost is krusty's time per pair of entries of one list or
	// mapping, the worst measured (a keyed list under a patch), with
	// margin.
	pairCost = 1500 * time.Nanosecond
	// shortCollection is the length up to which a list or mapping is not
	// counted: its cost is linear in the input, bounded by its size.
	shortCollection = 256
)

// collection is the longest list or mapping seen, for the error.
type collection struct {
	file    string
	line, n int
}

// costCheck adds up the squared lengths of the lists and mappings of
// YAML documents, aliases expanded (kyaml copies every alias).
type costCheck struct {
	memo    map[*yaml.Node]int64
	longest collection
	file    string
	// inline is the depth to which multi-line strings are read as YAML
	// too (inline patches in a kustomization file).
	inline int
}

func (c *costCheck) doc(file string, d *yaml.Node, inline int) int64 {
	c.memo = map[*yaml.Node]int64{}
	c.file, c.inline = file, inline
	return c.cost(d, 0)
}

// cost is called on documents checkAliases accepted: aliases form no
// cycle and expand boundedly.
func (c *costCheck) cost(n *yaml.Node, depth int) int64 {
	if n == nil {
		return 0
	}
	if v, ok := c.memo[n]; ok {
		return v
	}
	var total int64
	length := 0
	switch n.Kind {
	case yaml.MappingNode:
		length = len(n.Content) / 2
	case yaml.SequenceNode:
		length = len(n.Content)
	case yaml.AliasNode:
		total = c.cost(n.Alias, depth)
	case yaml.ScalarNode:
		if depth < c.inline && strings.Contains(n.Value, "\n") {
			if docs, err := source.DecodeNodes([]byte(n.Value)); err == nil {
				for _, d := range docs {
					if checkAliases(d, 0) == nil {
						total = saturatingAdd(total, c.cost(d, depth+1))
					}
				}
			}
		}
	}
	if length > shortCollection {
		total = saturatingAdd(total, int64(length)*int64(length))
		if length > c.longest.n {
			c.longest = collection{file: c.file, line: n.Line, n: length}
		}
	}
	for _, ch := range n.Content {
		total = saturatingAdd(total, c.cost(ch, depth))
	}
	c.memo[n] = total
	return total
}

func saturatingMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// estimate is krusty's time for a cost, saturating.
func estimate(cost int64) time.Duration {
	if cost > math.MaxInt64/int64(pairCost) {
		return math.MaxInt64
	}
	return time.Duration(cost) * pairCost
}

func (c collection) String() string {
	return fmt.Sprintf("%s:%d has a list or mapping of %d entries", c.file, c.line, c.n)
}
