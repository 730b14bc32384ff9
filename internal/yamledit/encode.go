package yamledit

import (
	"bytes"
	"fmt"
	"strings"

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
// when a comment of the original would be lost.
func encode(orig []byte, root *yaml.Node) ([]byte, error) {
	st := detect(orig)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(st.indent)
	if st.compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(root); err != nil {
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
	if c := LostComment(orig, out); c != "" {
		return nil, fmt.Errorf("cannot rewrite the document without losing the comment %q", c)
	}
	return out, nil
}

// LostComment returns a comment of orig that out no longer has.
func LostComment(orig, out []byte) string {
	for _, l := range strings.Split(string(orig), "\n") {
		i := strings.Index(l, "#")
		if i < 0 {
			continue
		}
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") && !bytes.Contains(out, []byte(strings.TrimSpace(l[i:]))) {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}
