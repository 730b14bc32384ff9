package object

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Trace says where a field of a rendered object comes from in the
// template that rendered it (a Helm chart's template file).
type Trace struct {
	// Line and Column are in the template; 0 when unknown.
	Line, Column int
	// Via is how the line relates to the field: TraceKey, TraceEmitted
	// or TraceParent.
	Via string
	// Rendered is the field's line in the template's rendered output.
	Rendered int
	// ValueFile and ValueLine are the values file and line that supplied
	// the field's value, when one did and it could be found.
	ValueFile string
	ValueLine int
	// Uncertain says why no template line could be established; "" when
	// one was. Line is then the rendered line, a guess.
	Uncertain string
}

// Kinds of Trace.Via.
const (
	// TraceKey: the template line holds the field's key.
	TraceKey = "key"
	// TraceEmitted: the template line is the include, toYaml, tpl or
	// other action that emitted the field.
	TraceEmitted = "emitted"
	// TraceParent: the field is missing; the line is that of its nearest
	// parent, as the template holds or emits it.
	TraceParent = "parent"
)

// Tracer maps the lines of a rendered template's output back to the
// template.
type Tracer interface {
	// Place traces the field at path, at line of the rendered output,
	// whose key is key (its nearest parent's when missing is true; "-"
	// for an item of a list) and whose node is n.
	Place(line int, key, path string, n *yaml.Node, missing bool) Trace
	// ReleaseNamespace reports whether the rendered line holds the
	// namespace the render defaulted (Helm's .Release.Namespace without
	// -n) rather than one the template wrote.
	ReleaseNamespace(line int) bool
}

// Place returns where a ref lies and, for a rendered object with a
// Tracer, where in its template it comes from (nil otherwise). line and
// col are then the template's.
func (o *Object) Place(r Ref) (line, col int, t *Trace) {
	line, col = o.Pos(r)
	if o.Tracer == nil {
		return line, col, nil
	}
	n, key, missing := r.Node, lastKey(r.Path), false
	if n == nil {
		n = o.Node
	}
	rendered := line
	if n != nil {
		rendered = n.Line + o.LineOffset
	}
	if at := At(o.Node, r.Path); at == nil {
		// The field is missing: r.Node is its nearest parent. A parent
		// mapping's node starts at its first key; the template holds the
		// parent's own key on the line before.
		missing = true
		var parent string
		parent, key = parentOf(o.Node, r.Path)
		if n != nil && n.Kind != yaml.ScalarNode && key != "-" {
			gp, last := "", parent
			if i := strings.LastIndexByte(parent, '.'); i >= 0 {
				gp, last = parent[:i], parent[i+1:]
			}
			if k := KeyNode(At(o.Node, gp), last); k != nil {
				rendered = k.Line + o.LineOffset
			}
		}
	} else {
		// r.Node may be the field's key; the tracer compares values.
		n = at
	}
	tr := o.Tracer.Place(rendered, key, r.Path, n, missing)
	tr.Rendered = rendered
	if tr.Uncertain != "" {
		return line, col, &tr
	}
	return tr.Line, tr.Column, &tr
}

// At follows a field path (a.b[0].c) from a mapping node; nil when a part
// of it is missing.
func At(root *yaml.Node, path string) *yaml.Node {
	n := Resolve(root)
	if path == "" {
		return n
	}
	for seg := range strings.SplitSeq(path, ".") {
		name, idx := splitIndex(seg)
		if name != "" {
			n = Field(n, name)
		}
		if idx >= 0 {
			n = Resolve(n)
			if n == nil || n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// splitIndex splits "containers[2]" into "containers" and 2; idx is -1
// without an index.
func splitIndex(seg string) (string, int) {
	i := strings.IndexByte(seg, '[')
	if i < 0 || !strings.HasSuffix(seg, "]") {
		return seg, -1
	}
	v, err := strconv.Atoi(seg[i+1 : len(seg)-1])
	if err != nil {
		return seg, -1
	}
	return seg[:i], v
}

// lastKey is the last mapping key of a path, or "-" when the path ends at
// an item of a list ("spec.containers[0]"): a template holds the item's
// "- " there.
func lastKey(path string) string {
	if strings.HasSuffix(path, "]") {
		return "-"
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	name, _ := splitIndex(path)
	return name
}

// parentOf is the path and key of the nearest existing parent of a
// missing field.
func parentOf(root *yaml.Node, path string) (string, string) {
	for path != "" {
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return "", ""
		}
		path = path[:i]
		if At(root, path) != nil {
			return path, lastKey(path)
		}
	}
	return "", ""
}
