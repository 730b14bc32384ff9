package dockerfix

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// line is one line of the Dockerfile: its text and its terminator ("\n",
// "\r\n", or for a last line without a newline "" or "\r", which
// BuildKit drops as it does before a newline).
type line struct {
	text, eol string
}

// splitLines cuts data into lines the way BuildKit numbers them: at "\n",
// with a "\r" before it taken as part of the terminator.
func splitLines(data []byte) []line {
	s := string(data)
	var out []line
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			t, eol := s, ""
			if strings.HasSuffix(t, "\r") {
				t, eol = t[:len(t)-1], "\r"
			}
			out = append(out, line{text: t, eol: eol})
			break
		}
		t, eol := s[:i], "\n"
		if strings.HasSuffix(t, "\r") {
			t, eol = t[:len(t)-1], "\r\n"
		}
		out = append(out, line{text: t, eol: eol})
		s = s[i+1:]
	}
	return out
}

// edits are line replacements and insertions on the original lines.
// Every line neither replaced nor inserted is written back with its
// bytes, terminator included.
type edits struct {
	lines []line
	// repl maps the first line (0-based) of a replaced range to the range
	// and its new text; inside marks every line of a replaced range.
	repl   map[int]replacement
	inside map[int]bool
	// ins maps a line (0-based; len(lines) for the end) to the lines
	// inserted before it.
	ins map[int][]string
	// inserted counts the instructions inserted, for verification.
	inserted int
}

type replacement struct {
	last  int
	lines []string
}

func newEdits(ls []line) *edits {
	return &edits{lines: ls, repl: map[int]replacement{}, inside: map[int]bool{}, ins: map[int][]string{}}
}

// replace replaces lines first..last (0-based, inclusive) with text. It
// refuses a range that overlaps an earlier replacement.
func (e *edits) replace(first, last int, text ...string) bool {
	if first < 0 || last < first || last >= len(e.lines) {
		return false
	}
	for i := first; i <= last; i++ {
		if e.inside[i] {
			return false
		}
	}
	for i := first; i <= last; i++ {
		e.inside[i] = true
	}
	e.repl[first] = replacement{last: last, lines: text}
	return true
}

// insertBefore inserts instructions, one a line, before line i (0-based;
// len(lines) appends them).
func (e *edits) insertBefore(i int, text ...string) {
	e.ins[i] = append(e.ins[i], text...)
	e.inserted += len(text)
}

// changed reports whether any edit was made.
func (e *edits) changed() bool { return len(e.repl) > 0 || len(e.ins) > 0 }

// eolNear is the terminator for a new line written next to line i: that
// line's own, or the file's first, or "\n".
func (e *edits) eolNear(i int) string {
	if i >= 0 && i < len(e.lines) && strings.HasSuffix(e.lines[i].eol, "\n") {
		return e.lines[i].eol
	}
	for _, l := range e.lines {
		if strings.HasSuffix(l.eol, "\n") {
			return l.eol
		}
	}
	return "\n"
}

// openEnd reports whether the file ends without a newline, and how: ""
// or "\r".
func (e *edits) openEnd() (string, bool) {
	if n := len(e.lines); n > 0 && !strings.HasSuffix(e.lines[n-1].eol, "\n") {
		return e.lines[n-1].eol, true
	}
	return "", false
}

// render writes the edited file. A file without a final newline still
// ends without one.
func (e *edits) render() []byte {
	var out []line
	n := len(e.lines)
	for i := 0; i <= n; i++ {
		for _, t := range e.ins[i] {
			near := i
			if i > 0 {
				near = i - 1
			}
			out = append(out, line{text: t, eol: e.eolNear(near)})
		}
		if i == n {
			break
		}
		if r, ok := e.repl[i]; ok {
			for _, t := range r.lines {
				out = append(out, line{text: t, eol: e.eolNear(r.last)})
			}
			i = r.last
			continue
		}
		l := e.lines[i]
		if !strings.HasSuffix(l.eol, "\n") {
			// The last line, which lines may follow now.
			if l.eol == "\r" {
				l.eol = "\r\n"
			} else {
				l.eol = e.eolNear(i)
			}
		}
		out = append(out, l)
	}
	if end, open := e.openEnd(); open && len(out) > 0 {
		out[len(out)-1].eol = end
	}
	var b strings.Builder
	for _, l := range out {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return []byte(b.String())
}

// lineParts splits an instruction's first line as BuildKit does: the
// leading white space (with a byte order mark on the first line), the
// keyword as written, up to ASCII white space.
func lineParts(text string) (indent, keyword string) {
	i := 0
	if strings.HasPrefix(text, "\ufeff") {
		i = len("\ufeff")
	}
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	j := i
	for j < len(text) && !asciiSpace(text[j]) {
		j++
	}
	return text[:i], text[i:j]
}

// asciiSpace are the bytes BuildKit splits arguments at.
func asciiSpace(c byte) bool { return strings.IndexByte(" \t\r\f\v", c) >= 0 }

// plainIndent is the indentation for a new line: indent when it is
// spaces and tabs, else none.
func plainIndent(indent string) string {
	if strings.Trim(indent, " \t") != "" {
		return ""
	}
	return indent
}

// keywordCase writes keyword (upper case) in the case of the file's
// instruction kw: lower case when kw is lower case.
func keywordCase(keyword, kw string) string {
	if kw != "" && kw == strings.ToLower(kw) {
		return strings.ToLower(keyword)
	}
	return keyword
}
