package yamledit

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
	layout  layout
	replace map[int]string   // 0-based line -> new text
	del     map[int]bool     // 0-based lines removed
	insert  map[int][]string // lines inserted before a 0-based line
	// cmp compares the trees at every level of diff, each node once.
	cmp *comparer
}

// splice returns orig edited so that it parses to root, or an error.
func splice(orig []byte, pristine, root *yaml.Node) ([]byte, error) {
	return spliceLines(orig, pristine, root)
}

func spliceLines(orig []byte, pristine, root *yaml.Node) ([]byte, error) {
	s := &splicer{
		lines:   strings.Split(string(orig), "\n"),
		crlf:    bytes.Contains(orig, []byte("\r\n")),
		replace: map[int]string{},
		del:     map[int]bool{},
		insert:  map[int][]string{},
		cmp:     newComparer(),
	}
	last := len(s.lines)
	if last > 0 && strings.TrimSuffix(s.lines[last-1], "\r") == "" {
		last--
	}
	if pristine.Kind != yaml.DocumentNode || root.Kind != yaml.DocumentNode || len(pristine.Content) != 1 || len(root.Content) != 1 {
		return nil, errNoSplice
	}
	s.layout = layoutOf(pristine.Content[0], detect(orig))
	if err := s.diff(pristine.Content[0], root.Content[0], last+1, 0); err != nil {
		return nil, err
	}
	eol := "\n"
	if s.crlf {
		eol = "\r\n"
	}
	out := make([]byte, 0, len(orig)+len(orig)/2)
	for i, l := range s.lines {
		for _, ins := range s.insert[i] {
			out = append(append(out, ins...), eol...)
		}
		if s.del[i] {
			continue
		}
		if r, ok := s.replace[i]; ok {
			l = r
		}
		out = append(out, l...)
		if i < len(s.lines)-1 {
			out = append(out, '\n')
		}
	}
	for _, ins := range s.insert[len(s.lines)] {
		out = append(append(out, eol...), ins...)
	}
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
	if !s.cmp.same(&got, root) {
		return nil, errNoSplice
	}
	if lostComment([]*yaml.Node{pristine}, []*yaml.Node{&got}) != "" {
		return nil, errNoSplice
	}
	return out, nil
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
	if s.cmp.same(a, b) {
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
	nb.Style &^= yaml.FlowStyle
	tok, err := inline(&nb)
	if err != nil {
		return err
	}
	nl := line[:col] + tok + rest[end:]
	if strings.HasSuffix(s.lines[li], "\r") {
		nl += "\r"
	}
	s.replace[li] = nl
	return nil
}

// layout is how a document writes nested blocks: a mapping's keys indent
// columns right of its key; a sequence's dashes offset columns right of its
// key (0 in kubectl's "key:\n- a"); an item gap columns right of its dash
// (2 for "- a", 4 for the "-   a" of Python's yaml.dump).
type layout struct{ indent, offset, gap int }

// layoutOf reads the layout most of a document's blocks use; st, read
// from its lines, gives what the document does not show.
func layoutOf(n *yaml.Node, st style) layout {
	var votes [3]map[int]int
	for i := range votes {
		votes[i] = map[int]int{}
	}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > 100 || n.Style&yaml.FlowStyle != 0 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 || v.Line <= k.Line {
					walk(v, depth+1)
					continue
				}
				switch v.Kind {
				case yaml.MappingNode:
					votes[0][v.Content[0].Column-k.Column]++
				case yaml.SequenceNode:
					votes[1][v.Column-k.Column]++
				}
				walk(v, depth+1)
			}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				if it.Line == n.Line && it.Kind != yaml.AliasNode {
					votes[2][it.Column-n.Column]++
					break
				}
			}
			for _, it := range n.Content {
				walk(it, depth+1)
			}
		}
	}
	walk(n, 0)
	l := layout{indent: st.indent, offset: st.indent, gap: 2}
	if st.compact {
		l.offset = 0
	}
	for i, p := range []*int{&l.indent, &l.offset, &l.gap} {
		best := 0
		for v, c := range votes[i] {
			if c > best || (c == best && v < *p) {
				*p, best = v, c
			}
		}
	}
	if l.indent < 1 || l.offset < 0 || l.gap < 2 {
		return layout{indent: 2, gap: 2}
	}
	return l
}

// emitter writes new block nodes in a document's layout, one string a
// line. Scalars and flow collections are encoded by yaml.v3 on one line;
// anything else (a block scalar, an alias) is refused, and the document is
// re-encoded instead.
type emitter struct {
	layout
	lines []string
}

// inline encodes a scalar or a flow or empty collection as one line. The
// values fixers write are done by hand: yaml.Marshal costs a new emitter
// each time, which was half the memory a fix run allocated.
func inline(n *yaml.Node) (string, error) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || (n.Kind != yaml.ScalarNode && len(n.Content) > 0 && n.Style&yaml.FlowStyle == 0) {
		return "", errNoSplice
	}
	if tok, ok := fastInline(n); ok {
		return tok, nil
	}
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	out, err := yaml.Marshal(&c)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSuffix(string(out), "\n")
	if tok == "" || strings.Contains(tok, "\n") {
		return "", errNoSplice
	}
	return tok, nil
}

// fastInline writes what yaml.Marshal would for the simple nodes: plain
// and double-quoted words, decimal integers, booleans, empty collections
// and flow sequences of those.
func fastInline(n *yaml.Node) (string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := n.Value
		switch {
		case n.Style == 0 && n.Tag == "!!bool" && (v == "true" || v == "false"):
			return v, true
		case n.Style == 0 && n.Tag == "!!int" && decimal(v):
			return v, true
		case n.Tag == "!!str" && word(v) && n.Style == 0:
			return v, true
		case n.Tag == "!!str" && word(v) && n.Style == yaml.DoubleQuotedStyle:
			return `"` + v + `"`, true
		}
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "{}", true
		}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "[]", true
		}
		if n.Style&yaml.FlowStyle == 0 {
			return "", false
		}
		var b strings.Builder
		b.WriteByte('[')
		for i, it := range n.Content {
			tok, ok := fastInline(it)
			if !ok || it.Kind != yaml.ScalarNode || it.Anchor != "" {
				return "", false
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tok)
		}
		b.WriteByte(']')
		return b.String(), true
	}
	return "", false
}

// decimal reports whether s is a decimal integer as YAML writes one.
func decimal(s string) bool {
	d := strings.TrimPrefix(s, "-")
	if d == "" || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range []byte(d) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// word reports whether s reads back as the string s when written plain:
// a letter or "/" first, then letters, digits and "-_./@+" or a ":" not
// last, and not a word YAML 1.1 reads as a boolean or null.
func word(s string) bool {
	if s == "" || s[0] != '/' && (s[0]|0x20 < 'a' || s[0]|0x20 > 'z') {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("-_./@+", c) >= 0:
		case c == ':' && i < len(s)-1:
		default:
			return false
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return false
	}
	return true
}

// block reports whether n is written as a block below its key or dash.
func block(n *yaml.Node) bool {
	return (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0
}

// comments returns a line's trailing comments, each with a space before.
func comments(cs ...string) (string, error) {
	out := ""
	for _, c := range cs {
		if c == "" {
			continue
		}
		if strings.Contains(c, "\n") || !strings.HasPrefix(c, "#") {
			return "", errNoSplice
		}
		out += " " + c
	}
	return out, nil
}

// head writes a node's head comment lines at col.
func (e *emitter) head(c string, col int) error {
	if c == "" {
		return nil
	}
	for l := range strings.SplitSeq(c, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			return errNoSplice
		}
		e.lines = append(e.lines, strings.Repeat(" ", col)+l)
	}
	return nil
}

// mapping writes the block mapping m with its keys at col.
func (e *emitter) mapping(m *yaml.Node, col int) error {
	if len(m.Content)%2 != 0 || m.FootComment != "" {
		return errNoSplice
	}
	pad := strings.Repeat(" ", col)
	for i := 0; i < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.FootComment != "" || v.HeadComment != "" || v.FootComment != "" {
			return errNoSplice
		}
		if err := e.head(k.HeadComment, col); err != nil {
			return err
		}
		key, err := inline(k)
		if err != nil || k.Kind != yaml.ScalarNode {
			return errNoSplice
		}
		if !block(v) {
			val, err := inline(v)
			if err != nil {
				return err
			}
			c, err := comments(k.LineComment, v.LineComment)
			if err != nil {
				return err
			}
			e.lines = append(e.lines, pad+key+": "+val+c)
			continue
		}
		c, err := comments(k.LineComment, v.LineComment)
		if err != nil {
			return err
		}
		e.lines = append(e.lines, pad+key+":"+c)
		if v.Kind == yaml.MappingNode {
			err = e.mapping(v, col+e.indent)
		} else {
			err = e.sequence(v, col+e.offset, e.gap)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sequence writes the block sequence q with its dashes at col and its
// items gap columns right of them.
func (e *emitter) sequence(q *yaml.Node, col, gap int) error {
	if q.FootComment != "" {
		return errNoSplice
	}
	dash := strings.Repeat(" ", col) + "-" + strings.Repeat(" ", gap-1)
	for _, it := range q.Content {
		if it.FootComment != "" {
			return errNoSplice
		}
		if err := e.head(it.HeadComment, col); err != nil {
			return err
		}
		if !block(it) {
			val, err := inline(it)
			if err != nil {
				return err
			}
			c, err := comments(it.LineComment)
			if err != nil {
				return err
			}
			e.lines = append(e.lines, dash+val+c)
			continue
		}
		if it.LineComment != "" || it.Content[0].HeadComment != "" {
			return errNoSplice
		}
		first := len(e.lines)
		var err error
		if it.Kind == yaml.MappingNode {
			err = e.mapping(it, col+gap)
		} else {
			err = e.sequence(it, col+gap, e.gap)
		}
		if err != nil {
			return err
		}
		// The item's first line goes on the dash.
		e.lines[first] = dash + e.lines[first][col+gap:]
	}
	return nil
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
		e := &emitter{layout: s.layout}
		if err := e.mapping(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: pending}, keyCol); err != nil {
			return err
		}
		s.addInsert(before, e.lines)
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
		if !s.cmp.same(a.Content[j], b.Content[i]) {
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
	// New items copy the dash and gap of the sequence's first item.
	e := &emitter{layout: s.layout}
	if err := e.sequence(&yaml.Node{Kind: yaml.SequenceNode, Content: b.Content[len(a.Content):]}, dashCol, itemCol-dashCol); err != nil {
		return err
	}
	s.addInsert(s.lastLine(next)+1, e.lines)
	return nil
}

// Clone copies a parsed tree before the fixers edit it, as the pristine
// tree splice compares with: much cheaper than parsing the bytes again.
// Aliases point at the copies of their anchors.
func Clone(n *yaml.Node) *yaml.Node {
	anchors := map[*yaml.Node]*yaml.Node{}
	var c func(n *yaml.Node) *yaml.Node
	c = func(n *yaml.Node) *yaml.Node {
		if n == nil {
			return nil
		}
		if m, ok := anchors[n]; ok {
			return m
		}
		cp := *n
		if n.Anchor != "" {
			anchors[n] = &cp
		}
		if len(n.Content) > 0 {
			cp.Content = make([]*yaml.Node, len(n.Content))
			for i, ch := range n.Content {
				cp.Content[i] = c(ch)
			}
		}
		cp.Alias = c(n.Alias)
		return &cp
	}
	return c(n)
}
