package helmfix

import (
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// placement is where a template edit goes: below the template line that
// holds the nearest existing parent of the field (insert), or on the line
// that holds the field itself (replace).
type placement struct {
	line int // 1-based, in the template
	// indent is the indentation of the inserted lines.
	indent int
	// rest is the path below the parent, for an insert ("" to replace).
	rest string
	// old is the rendered scalar a replace swaps out.
	old string
}

// place finds where the fix at path of a rendered document goes in its
// template, through the document's tracer; nil when no template line is
// certain, or the edit is not a plain insert or replace there.
func place(d source.Document, root *yaml.Node, path string, files map[string][]string) *placement {
	if d.Tracer == nil || root == nil {
		return nil
	}
	lines, ok := files[d.File]
	if !ok {
		if src, err := os.ReadFile(d.File); err == nil {
			lines = strings.Split(string(src), "\n")
		}
		files[d.File] = lines
	}
	if lines == nil {
		return nil
	}
	at := func(n *yaml.Node, key, p string) (object.Trace, string, bool) {
		tr := d.Tracer.Place(n.Line+d.LineOffset, key, p, n, false)
		if tr.Uncertain != "" || tr.Via != object.TraceKey || tr.Line < 1 || tr.Line > len(lines) {
			return tr, "", false
		}
		return tr, lines[tr.Line-1], true
	}
	if n := object.At(root, path); n != nil {
		// The field is there with a wrong value: replace a literal.
		if n.Kind != yaml.ScalarNode || strings.HasSuffix(path, "]") {
			return nil
		}
		key := path[strings.LastIndexByte(path, '.')+1:]
		tr, text, ok := at(n, key, path)
		if !ok {
			return nil
		}
		_, value, found := strings.Cut(text[tr.Column-1:], ":")
		value = strings.TrimSpace(value)
		if !found || strings.Contains(value, "{{") || strings.Trim(value, `"'`) != n.Value {
			return nil
		}
		return &placement{line: tr.Line, old: value}
	}
	// The field is missing: insert it below its nearest parent.
	parent := path
	for {
		i := strings.LastIndexByte(parent, '.')
		if i < 0 {
			return nil
		}
		parent = parent[:i]
		if n := object.At(root, parent); n != nil {
			rest := path[len(parent)+1:]
			if strings.Contains(rest, "[") || n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 {
				return nil // a list item or a flow mapping: not a line insert
			}
			if len(n.Content) == 0 {
				return nil
			}
			// The inserted lines take the indentation of the parent's
			// keys in the rendered output, which they join.
			indent := n.Content[0].Column - 1
			// The line to insert below: the parent's key line, or for an
			// item of a list its "- " line (that of its first key).
			kn, key := n.Content[0], "-"
			if !strings.HasSuffix(parent, "]") {
				gp, last := "", parent
				if i := strings.LastIndexByte(parent, '.'); i >= 0 {
					gp, last = parent[:i], parent[i+1:]
				}
				key = last
				if kn = object.KeyNode(object.At(root, gp), last); kn == nil {
					return nil
				}
			}
			tr, text, ok := at(kn, key, parent)
			if !ok {
				return nil
			}
			if key != "-" {
				_, v, _ := strings.Cut(text[tr.Column-1:], ":")
				if v = strings.TrimSpace(v); v != "" && !strings.HasPrefix(v, "#") {
					return nil // key: value on one line: not a block mapping
				}
			}
			return &placement{line: tr.Line, indent: indent, rest: rest}
		}
	}
}

// TemplateDiff turns the edits whose template line is certain into a
// unified diff of the templates, and returns the others.
func TemplateDiff(edits []Edit) (string, []Edit) {
	edited, rest := templateEdits(edits)
	files := make([]string, 0, len(edited))
	for f := range edited {
		files = append(files, f)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		b.WriteString(fix.UnifiedDiff("a/"+f, "b/"+f, edited[f][0], edited[f][1]))
	}
	return b.String(), rest
}

// templateEdits applies the edits whose template line is certain to the
// templates: each file's text before and after. The others are returned.
func templateEdits(edits []Edit) (map[string][2]string, []Edit) {
	byFile := map[string][]Edit{}
	var rest []Edit
	for _, e := range edits {
		if e.place == nil {
			rest = append(rest, e)
			continue
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	out := map[string][2]string{}
	for f, es := range byFile {
		data, err := os.ReadFile(f)
		if err != nil {
			rest = append(rest, es...)
			continue
		}
		lines := strings.SplitAfter(string(data), "\n")
		// Inserts after a line, replacements on it; a block once per
		// line: one template line serves every copy of an object.
		inserts := map[int][]string{}
		done := map[string]bool{}
		for _, e := range es {
			p := e.place
			if p.line > len(lines) {
				rest = append(rest, e)
				continue
			}
			if p.rest == "" {
				l := lines[p.line-1]
				i := strings.LastIndex(l, p.old)
				if i < 0 {
					rest = append(rest, e)
					continue
				}
				lines[p.line-1] = l[:i] + strings.TrimSpace(e.Value) + l[i+len(p.old):]
				continue
			}
			block := nested(p.rest, e.Value, p.indent)
			if k := strconv.Itoa(p.line) + "\x00" + block; !done[k] {
				done[k] = true
				inserts[p.line] = append(inserts[p.line], block)
			}
		}
		var b strings.Builder
		for i, l := range lines {
			b.WriteString(l)
			for _, blk := range inserts[i+1] {
				if !strings.HasSuffix(l, "\n") {
					b.WriteString("\n")
				}
				b.WriteString(blk)
			}
		}
		if b.String() != string(data) {
			out[f] = [2]string{string(data), b.String()}
		}
	}
	return out, rest
}

// nested writes path: value as block YAML at indent.
func nested(path, value string, indent int) string {
	var b strings.Builder
	segs := strings.Split(path, ".")
	for i, s := range segs {
		b.WriteString(strings.Repeat(" ", indent+2*i))
		b.WriteString(s)
		b.WriteString(":")
		if i < len(segs)-1 {
			b.WriteString("\n")
		}
	}
	pad := strings.Repeat(" ", indent+2*len(segs))
	// yaml.Marshal quotes a scalar holding ": ", so one unquoted is a
	// mapping; "- " starts a list.
	block := strings.Contains(value, "\n") || strings.Contains(value, ": ") || strings.HasSuffix(value, ":") || strings.HasPrefix(value, "- ")
	if !block {
		b.WriteString(" " + value + "\n")
		return b.String()
	}
	b.WriteString("\n")
	for l := range strings.SplitSeq(value, "\n") {
		b.WriteString(pad + l + "\n")
	}
	return b.String()
}
