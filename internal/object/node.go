package object

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resolve follows aliases so that callers always see the aliased value.
// Alias chains are bounded because yaml.v3 rejects an anchor that contains
// itself; the bound is a second guard for hostile input.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return Resolve(n.Content[0])
	}
	return n
}

// Get returns the value of key in mapping n, or nil when n is not a mapping
// or has no such key. Merge keys (<<) are honoured because real manifests
// use them to share container settings.
func Get(n *yaml.Node, key string) *yaml.Node {
	return getDepth(Resolve(n), key, 0)
}

func getDepth(n *yaml.Node, key string, depth int) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
		return nil
	}
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Value == key && k.Kind == yaml.ScalarNode {
			return Resolve(n.Content[i+1])
		}
		if k.Value == "<<" && k.Tag == "!!merge" {
			merge = Resolve(n.Content[i+1])
		}
	}
	if merge != nil {
		switch merge.Kind {
		case yaml.MappingNode:
			return getDepth(merge, key, depth+1)
		case yaml.SequenceNode:
			for _, m := range merge.Content {
				if v := getDepth(Resolve(m), key, depth+1); v != nil {
					return v
				}
			}
		}
	}
	return nil
}

// Field returns the value of key written directly in mapping m, without
// following aliases or merge keys: the node to edit when m is edited
// (Get reads what the API server reads).
func Field(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// KeyNode returns the key node of key in mapping n; findings about a field
// point at its key, which is where a reader looks.
func KeyNode(n *yaml.Node, key string) *yaml.Node {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Scalar returns the value of a scalar node, "" for anything else.
func Scalar(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// GetStr is Scalar(Get(n, key)).
func GetStr(n *yaml.Node, key string) string { return Scalar(Get(n, key)) }

// StringMap reads a map of strings (labels, annotations). Non-string values
// are skipped: the API server would reject them, and they carry no meaning
// for selectors or suppression.
func StringMap(n *yaml.Node) map[string]string {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := Resolve(n.Content[i+1])
		if v != nil && v.Kind == yaml.ScalarNode {
			m[n.Content[i].Value] = v.Value
		}
	}
	return m
}

// plainScalar reports whether the scalar was written without quotes, so
// that YAML 1.1 resolution (what kubectl applies) can be used for it.
func plainScalar(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// ParseBool interprets n as kubectl would: kubectl converts YAML to JSON
// with YAML 1.1 rules, so an unquoted yes/on/y is true and no/off/n false.
// ok is false when the node is not a boolean at all.
func ParseBool(n *yaml.Node) (v, ok bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || !plainScalar(n) || n.Tag == "!!str" && n.Style&yaml.TaggedStyle != 0 {
		return false, false
	}
	switch n.Value {
	case "true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON":
		return true, true
	case "false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

// ParseInt interprets n as an integer the way kubectl's YAML 1.1 reader does
// (decimal, 0x hex, 0o/0 octal, underscores). ok is false for anything else.
func ParseInt(n *yaml.Node) (v int64, ok bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || !plainScalar(n) {
		return 0, false
	}
	s := strings.ReplaceAll(n.Value, "_", "")
	if strings.HasPrefix(s, "0o") {
		s = "0" + s[2:]
	}
	i, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, false
	}
	return i, true
}

// Describe names a node's type for error messages.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		if len(n.Value) > 40 {
			return strconv.Quote(n.Value[:40] + "...")
		}
		return strconv.Quote(n.Value)
	}
	return "an unknown node"
}
