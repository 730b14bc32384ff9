package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
)

// style is how a document was written.
type style struct {
	indent int
	// compact is true for sequences at the indentation of their key
	// ("containers:\n- name: a"), kubectl's style.
	compact bool
	crlf    bool
}

// detect reads a document's indentation and sequence style from its lines.
func detect(data []byte) style {
	s := style{indent: 2, compact: true, crlf: bytes.Contains(data, []byte("\r\n"))}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	minIndent, seqSeen := 0, false
	prevKeyIndent := -1
	for _, l := range lines {
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := len(l) - len(t)
		if ind > 0 && !strings.HasPrefix(t, "- ") && t != "-" && (minIndent == 0 || ind < minIndent) {
			minIndent = ind
		}
		if (strings.HasPrefix(t, "- ") || t == "-") && prevKeyIndent >= 0 && !seqSeen {
			seqSeen = true
			s.compact = ind == prevKeyIndent
		}
		prevKeyIndent = -1
		if strings.HasSuffix(t, ":") && !strings.HasPrefix(t, "- ") {
			prevKeyIndent = ind
		}
	}
	if minIndent == 4 {
		s.indent = 4
	}
	return s
}

// encode serializes a changed document in the style of its original bytes,
// keeping a leading `---` line and a missing final newline, and refuses
// when a comment of the original would be lost or the bytes would not
// read back as root. pristine is orig as parsed.
func encode(orig []byte, pristine, root *yaml.Node) ([]byte, error) {
	st := detect(orig)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(st.indent)
	if st.compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(keepComments(root)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	var out []byte
	if first, _, _ := bytes.Cut(orig, []byte("\n")); bytes.HasPrefix(first, []byte("---")) {
		out = append(out, first...)
		out = append(out, '\n')
		if bytes.HasPrefix(body, []byte("---\n")) {
			body = body[4:]
		}
	}
	out = append(out, body...)
	if !bytes.HasSuffix(orig, []byte("\n")) {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	if st.crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	got, err := source.DecodeNodes(out)
	if err != nil {
		return nil, fmt.Errorf("the re-encoded document does not parse: %w", err)
	}
	if len(got) != 1 || !SameNode(got[0], root) {
		return nil, errors.New("the re-encoded document does not read back as the fixed one")
	}
	if c := lostComment([]*yaml.Node{pristine}, got); c != "" {
		return nil, fmt.Errorf("cannot rewrite the document without losing the comment %q", c)
	}
	return out, nil
}

// keepComments returns root, or a copy of it in which the line comment of
// a collection that is now written as a block moves to where the encoder
// writes it on the same line: a flow mapping the fixes added block keys
// to (`spec: {...} # note`) gets it on its key (`spec: # note`), a flow
// item of a sequence (`- {name: c} # note`) on its first line (`- name: c
// # note`). Left on the collection, the encoder would drop it or write it
// lines below.
func keepComments(root *yaml.Node) *yaml.Node {
	var moves [][2]*yaml.Node // from, to
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || seen[n] || depth > maxCompareDepth {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if block(v) && v.LineComment != "" && k.LineComment == "" {
					moves = append(moves, [2]*yaml.Node{v, k})
				}
			}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				if !block(it) || it.LineComment == "" || it.Kind != yaml.MappingNode || len(it.Content) < 2 {
					continue
				}
				k0, v0 := it.Content[0], it.Content[1]
				switch {
				case k0.LineComment != "" || v0.LineComment != "":
				case block(v0):
					moves = append(moves, [2]*yaml.Node{it, k0})
				default:
					moves = append(moves, [2]*yaml.Node{it, v0})
				}
			}
		}
		for _, ch := range n.Content {
			walk(ch, depth+1)
		}
	}
	walk(root, 0)
	if len(moves) == 0 {
		return root
	}
	// Comments are moved on copies of the nodes, never on the caller's.
	swap := map[*yaml.Node]*yaml.Node{}
	copyOf := func(n *yaml.Node) *yaml.Node {
		if c, ok := swap[n]; ok {
			return c
		}
		c := *n
		swap[n] = &c
		return &c
	}
	for _, m := range moves {
		from, to := copyOf(m[0]), copyOf(m[1])
		to.LineComment, from.LineComment = from.LineComment, ""
	}
	return replaceNodes(root, swap, map[*yaml.Node]*yaml.Node{}, 0)
}

// replaceNodes copies the spine of n down to the nodes in swap, which are
// replaced; everything else is shared.
func replaceNodes(n *yaml.Node, swap, done map[*yaml.Node]*yaml.Node, depth int) *yaml.Node {
	if r, ok := swap[n]; ok {
		n = r
	}
	if d, ok := done[n]; ok {
		return d
	}
	if depth > maxCompareDepth || len(n.Content) == 0 {
		return n
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	changed := false
	for i, ch := range n.Content {
		c.Content[i] = replaceNodes(ch, swap, done, depth+1)
		changed = changed || c.Content[i] != ch
	}
	out := n
	if changed {
		out = &c
	}
	done[n] = out
	return out
}

// LostComment returns a comment of orig that out no longer has. Comments
// are those the YAML parser reads: head, line and foot comments, after a
// flow collection or inside one too; each comment of orig must be a
// comment of out as often. When either does not parse, every `#` at the
// start of a line or after a blank is taken for a comment, and must be in
// out.
func LostComment(orig, out []byte) string {
	a, errA := source.DecodeNodes(orig)
	b, errB := source.DecodeNodes(out)
	if errA != nil || errB != nil {
		return lostCommentText(orig, out)
	}
	return lostComment(a, b)
}

// lostComment returns a comment of the trees orig that the trees out do
// not have.
func lostComment(orig, out []*yaml.Node) string {
	have := map[string]int{}
	for _, n := range out {
		forComments(n, func(c string) { have[c]++ })
	}
	lost := ""
	for _, n := range orig {
		forComments(n, func(c string) {
			if have[c] == 0 && lost == "" {
				lost = c
			}
			have[c]--
		})
	}
	return lost
}

// forComments calls f with each comment line of the tree n, trimmed.
// Aliases are not followed: their anchors are in the tree already.
func forComments(n *yaml.Node, f func(string)) {
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > maxCompareDepth {
			return
		}
		for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			for l := range strings.SplitSeq(c, "\n") {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "#") {
					f(l)
				}
			}
		}
		for _, ch := range n.Content {
			walk(ch, depth+1)
		}
	}
	walk(n, 0)
}

// lostCommentText is LostComment for bytes that do not parse.
func lostCommentText(orig, out []byte) string {
	for l := range strings.SplitSeq(string(orig), "\n") {
		for i := 0; i < len(l); i++ {
			if l[i] != '#' || (i > 0 && l[i-1] != ' ' && l[i-1] != '\t') {
				continue
			}
			if c := strings.TrimSpace(l[i:]); !bytes.Contains(out, []byte(c)) {
				return c
			}
			break
		}
	}
	return ""
}
