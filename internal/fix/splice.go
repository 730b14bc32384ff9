package fix

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Splicing: a changed document is rewritten by editing its original lines
// (a scalar token replaced, key lines inserted or deleted, sequence items
// appended), so every line the fix does not touch keeps its bytes. The
// edits come from comparing the document as parsed with the tree the
// fixers produced; anything the splicer cannot do safely, and any result
// that does not parse back to that tree, falls back to re-encoding.

var errNoSplice = errors.New("cannot splice")

// splicer collects line edits of one document.
type splicer struct {
	lines   []string // without "\n"; a "\r" stays at the end
	crlf    bool
	st      style
	replace map[int]string   // 0-based line -> new text
	del     map[int]bool     // 0-based lines removed
	insert  map[int][]string // lines inserted before a 0-based line
}

// splice returns orig edited so that it parses to root, or an error.
func splice(orig []byte, pristine, root *yaml.Node) ([]byte, error) {
	s := &splicer{
		lines:   strings.Split(string(orig), "\n"),
		crlf:    bytes.Contains(orig, []byte("\r\n")),
		st:      detect(orig),
		replace: map[int]string{},
		del:     map[int]bool{},
		insert:  map[int][]string{},
	}
	last := len(s.lines)
	if last > 0 && strings.TrimSuffix(s.lines[last-1], "\r") == "" {
		last--
	}
	if pristine.Kind != yaml.DocumentNode || root.Kind != yaml.DocumentNode || len(pristine.Content) != 1 || len(root.Content) != 1 {
		return nil, errNoSplice
	}
	if err := s.diff(pristine.Content[0], root.Content[0], last+1, 0); err != nil {
		return nil, err
	}
	var b strings.Builder
	nl := "\n"
	for i, l := range s.lines {
		for _, ins := range s.insert[i] {
			b.WriteString(ins)
			if s.crlf {
				b.WriteString("\r")
			}
			b.WriteString(nl)
		}
		if s.del[i] {
			continue
		}
		if r, ok := s.replace[i]; ok {
			l = r
		}
		b.WriteString(l)
		if i < len(s.lines)-1 {
			b.WriteString(nl)
		}
	}
	if tail := s.insert[len(s.lines)]; len(tail) > 0 {
		for _, ins := range tail {
			if s.crlf {
				b.WriteString("\r")
			}
			b.WriteString(nl)
			b.WriteString(ins)
		}
	}
	out := []byte(b.String())
	// Verify: the spliced bytes must mean exactly what the fixers made.
	dec := yaml.NewDecoder(bytes.NewReader(out))
	var got yaml.Node
	if err := dec.Decode(&got); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errNoSplice
	}
	if !sameNode(&got, root, 0) {
		return nil, errNoSplice
	}
	if lostComment(orig, out) != "" {
		return nil, errNoSplice
	}
	return out, nil
}

// sameNode compares two trees ignoring positions, comments and style.
func sameNode(a, b *yaml.Node, depth int) bool {
	if depth > 200 {
		return false
	}
	for a != nil && a.Kind == yaml.AliasNode {
		a = a.Alias
	}
	for b != nil && b.Kind == yaml.AliasNode {
		b = b.Alias
	}
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode && a.Value != b.Value {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i], depth+1) {
			return false
		}
	}
	return true
}

// content reports whether 0-based line i holds YAML (not blank or a
// comment only).
func (s *splicer) content(i int) bool {
	t := strings.TrimSpace(s.lines[i])
	return t != "" && !strings.HasPrefix(t, "#")
}

// lastLine returns the last 0-based content line before the 1-based line
// next.
func (s *splicer) lastLine(next int) int {
	i := next - 2
	if i >= len(s.lines) {
		i = len(s.lines) - 1
	}
	for i >= 0 && !s.content(i) {
		i--
	}
	return i
}

func (s *splicer) addInsert(before int, lines []string) {
	s.insert[before] = append(s.insert[before], lines...)
}

// diff records the edits that turn a (parsed, pristine) into b; next is
// the 1-based line where whatever follows a starts.
func (s *splicer) diff(a, b *yaml.Node, next, depth int) error {
	if depth > 100 {
		return errNoSplice
	}
	if sameNode(a, b, 0) {
		return nil
	}
	if a.Kind != b.Kind || a.Kind == yaml.AliasNode || a.Style&yaml.FlowStyle != 0 || b.Style&yaml.FlowStyle != 0 {
		if a.Kind == yaml.ScalarNode && b.Kind == yaml.ScalarNode {
			return s.scalar(a, b)
		}
		return errNoSplice
	}
	switch a.Kind {
	case yaml.ScalarNode:
		return s.scalar(a, b)
	case yaml.MappingNode:
		return s.mapping(a, b, next, depth)
	case yaml.SequenceNode:
		return s.sequence(a, b, next, depth)
	}
	return errNoSplice
}

func (s *splicer) scalar(a, b *yaml.Node) error {
	if a.Kind != yaml.ScalarNode || b.Kind != yaml.ScalarNode || strings.Contains(a.Value, "\n") || a.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return errNoSplice
	}
	li, col := a.Line-1, a.Column-1
	if li < 0 || li >= len(s.lines) || s.replace[li] != "" || s.del[li] {
		return errNoSplice
	}
	line := strings.TrimSuffix(s.lines[li], "\r")
	if col < 0 || col >= len(line) || a.Anchor != "" || (a.Tag != "" && a.Style&yaml.TaggedStyle != 0) {
		return errNoSplice
	}
	rest := line[col:]
	end := -1
	switch {
	case a.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		q := rest[0]
		for j := 1; j < len(rest); j++ {
			if rest[j] != q {
				continue
			}
			var v string
			if yaml.Unmarshal([]byte(rest[:j+1]), &v) == nil && v == a.Value {
				end = j + 1
				break
			}
		}
	case strings.HasPrefix(rest, a.Value) && a.Value != "":
		end = len(a.Value)
	}
	if end < 0 {
		return errNoSplice
	}
	nb := *b
	nb.HeadComment, nb.LineComment, nb.FootComment = "", "", ""
	nb.Style &^= yaml.FlowStyle
	out, err := yaml.Marshal(&nb)
	if err != nil {
		return err
	}
	tok := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(tok, "\n") || tok == "" {
		return errNoSplice
	}
	nl := line[:col] + tok + rest[end:]
	if strings.HasSuffix(s.lines[li], "\r") {
		nl += "\r"
	}
	s.replace[li] = nl
	return nil
}

// render encodes n in the document's style, one string a line.
func (s *splicer) render(n *yaml.Node) ([]string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(s.st.indent)
	if s.st.compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), nil
}

func (s *splicer) mapping(a, b *yaml.Node, next, depth int) error {
	if len(a.Content) == 0 || len(a.Content)%2 != 0 || len(b.Content)%2 != 0 {
		return errNoSplice
	}
	idx := func(m *yaml.Node) (map[string]int, bool) {
		r := map[string]int{}
		for i := 0; i < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, false
			}
			if _, dup := r[k.Value]; dup {
				return nil, false
			}
			r[k.Value] = i
		}
		return r, true
	}
	ai, ok1 := idx(a)
	bi, ok2 := idx(b)
	if !ok1 || !ok2 {
		return errNoSplice
	}
	keyCol := a.Content[0].Column - 1
	// Common keys must keep their order.
	prev := -1
	for i := 0; i < len(b.Content); i += 2 {
		if j, ok := ai[b.Content[i].Value]; ok {
			if j < prev {
				return errNoSplice
			}
			prev = j
		}
	}
	nextOf := func(j int) int {
		if j+2 < len(a.Content) {
			return a.Content[j+2].Line
		}
		return next
	}
	// Deletions.
	for j := 0; j < len(a.Content); j += 2 {
		if _, ok := bi[a.Content[j].Value]; ok {
			continue
		}
		k := a.Content[j]
		kl := k.Line - 1
		if kl < 0 || kl >= len(s.lines) || strings.TrimLeft(s.lines[kl], " ") != s.lines[kl][k.Column-1:] || k.Column-1 != keyCol {
			return errNoSplice
		}
		end := s.lastLine(nextOf(j))
		if end < kl {
			return errNoSplice
		}
		for l := kl; l <= end; l++ {
			s.del[l] = true
		}
	}
	// Changes and insertions.
	var pending []*yaml.Node
	flush := func(before int) error {
		if len(pending) == 0 {
			return nil
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: pending}
		lines, err := s.render(m)
		if err != nil {
			return err
		}
		for i := range lines {
			lines[i] = strings.Repeat(" ", keyCol) + lines[i]
		}
		s.addInsert(before, lines)
		pending = nil
		return nil
	}
	for i := 0; i < len(b.Content); i += 2 {
		j, ok := ai[b.Content[i].Value]
		if !ok {
			pending = append(pending, b.Content[i], b.Content[i+1])
			continue
		}
		if len(pending) > 0 {
			k := a.Content[j]
			kl := k.Line - 1
			if kl < 0 || kl >= len(s.lines) || strings.TrimLeft(s.lines[kl], " ") != s.lines[kl][k.Column-1:] {
				return errNoSplice
			}
			// Keep a key's comment lines above it.
			for kl > 0 && strings.HasPrefix(strings.TrimSpace(s.lines[kl-1]), "#") {
				kl--
			}
			if err := flush(kl); err != nil {
				return err
			}
		}
		if !sameNode(a.Content[j], b.Content[i], 0) {
			return errNoSplice
		}
		if err := s.diff(a.Content[j+1], b.Content[i+1], nextOf(j), depth+1); err != nil {
			return err
		}
	}
	return flush(s.lastLine(next) + 1)
}

func (s *splicer) sequence(a, b *yaml.Node, next, depth int) error {
	if len(a.Content) == 0 || len(b.Content) < len(a.Content) {
		return errNoSplice
	}
	for i := range a.Content {
		n := next
		if i+1 < len(a.Content) {
			n = a.Content[i+1].Line
		}
		if err := s.diff(a.Content[i], b.Content[i], n, depth+1); err != nil {
			return err
		}
	}
	if len(b.Content) == len(a.Content) {
		return nil
	}
	dashCol, itemCol := a.Column-1, a.Content[0].Column-1
	if itemCol <= dashCol || a.Content[0].Line != a.Line {
		return errNoSplice
	}
	var lines []string
	for _, it := range b.Content[len(a.Content):] {
		r, err := s.render(it)
		if err != nil {
			return err
		}
		for i, l := range r {
			if i == 0 {
				lines = append(lines, strings.Repeat(" ", dashCol)+"-"+strings.Repeat(" ", itemCol-dashCol-1)+l)
			} else {
				lines = append(lines, strings.Repeat(" ", itemCol)+l)
			}
		}
	}
	s.addInsert(s.lastLine(next)+1, lines)
	return nil
}
