package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
)

// JSON documents (a `.json` manifest, `kubectl get -o json`) parse as
// YAML, but written back as YAML they would no longer be JSON. They are
// written as JSON instead, in the document's own layout: its indentation
// unit (or one line), its spacing after `:` and `,`, its line ends and the
// blanks around the value. Keys keep their order, so a document in one of
// the usual layouts (kubectl's, json.MarshalIndent's, Python's json.dump)
// changes only where the fixes changed it.

// IsJSON reports whether a document's bytes are one JSON object or array.
func IsJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// jsonStyle is how a JSON document is laid out.
type jsonStyle struct {
	// lead and trail are the blanks before and after the value.
	lead, trail string
	// multiline values put each member on its own line, indented by unit
	// per level after base, the indentation of the value's first line.
	multiline  bool
	base, unit string
	// colon and comma are what follows `:` and `,` on one line.
	colon, comma string
	eol          string
}

var (
	colonRE = regexp.MustCompile(`"\s*:( ?)`)
	commaRE = regexp.MustCompile(`[\]}"\d el],( ?)`)
)

// detectJSON reads the layout of a JSON document.
func detectJSON(data []byte) jsonStyle {
	s := string(data)
	body := strings.TrimLeft(s, " \t\r\n")
	st := jsonStyle{lead: s[:len(s)-len(body)], colon: ":", comma: ",", eol: "\n"}
	trimmed := strings.TrimRight(body, " \t\r\n")
	st.trail = body[len(trimmed):]
	body = trimmed
	if strings.Contains(s, "\r\n") {
		st.eol = "\r\n"
	}
	if i := strings.LastIndexByte(st.lead, '\n'); i >= 0 {
		st.base = st.lead[i+1:]
	} else {
		st.base = st.lead
	}
	if m := colonRE.FindStringSubmatch(body); m != nil {
		st.colon = ":" + m[1]
	}
	_, rest, ok := strings.Cut(body, "\n")
	if !ok {
		if m := commaRE.FindStringSubmatch(body); m != nil {
			st.comma = "," + m[1]
		}
		return st
	}
	st.multiline = true
	// The unit is the indentation of the value's second line beyond
	// the base.
	second, _, _ := strings.Cut(rest, "\n")
	second = strings.TrimSuffix(second, "\r")
	ind := second[:len(second)-len(strings.TrimLeft(second, " \t"))]
	st.unit = strings.TrimPrefix(ind, st.base)
	if strings.TrimSpace(second) == "}" || strings.TrimSpace(second) == "]" {
		st.unit = "  "
	}
	return st
}

// encodeJSON writes root, a fixed JSON document, as JSON in the layout of
// orig, its bytes as read.
func encodeJSON(orig []byte, root *yaml.Node) ([]byte, error) {
	st := detectJSON(orig)
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) != 1 {
			return nil, errors.New("not a single JSON value")
		}
		n = n.Content[0]
	}
	w := &jsonWriter{st: st}
	w.buf.WriteString(st.lead)
	if err := w.value(n, 0); err != nil {
		return nil, err
	}
	w.buf.WriteString(st.trail)
	out := w.buf.Bytes()
	if !json.Valid(out) {
		return nil, errors.New("the fixed document is not valid JSON")
	}
	got, err := source.DecodeNodes(out)
	if err != nil || len(got) != 1 || !SameNode(got[0], root) {
		return nil, errors.New("the fixed document does not read back as JSON the same")
	}
	return out, nil
}

// jsonWriter writes a node tree as JSON.
type jsonWriter struct {
	st  jsonStyle
	buf bytes.Buffer
}

// newline starts a line at the given nesting level, or writes sep on a
// one-line document.
func (w *jsonWriter) newline(level int, sep string) {
	if !w.st.multiline {
		w.buf.WriteString(sep)
		return
	}
	w.buf.WriteString(w.st.eol)
	w.buf.WriteString(w.st.base)
	for range level {
		w.buf.WriteString(w.st.unit)
	}
}

func (w *jsonWriter) value(n *yaml.Node, level int) error {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 16 {
			return errors.New("alias chain too long")
		}
		n = n.Alias
	}
	if n == nil {
		w.buf.WriteString("null")
		return nil
	}
	if level > maxCompareDepth {
		return errors.New("too deeply nested")
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content)%2 != 0 {
			return errors.New("malformed mapping")
		}
		if len(n.Content) == 0 {
			w.buf.WriteString("{}")
			return nil
		}
		w.buf.WriteByte('{')
		for i := 0; i < len(n.Content); i += 2 {
			sep := ""
			if i > 0 {
				w.buf.WriteByte(',')
				sep = w.st.comma[1:]
			}
			w.newline(level+1, sep)
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a JSON key must be a string", k.Line)
			}
			if err := w.str(k.Value); err != nil {
				return err
			}
			w.buf.WriteString(w.st.colon)
			if err := w.value(n.Content[i+1], level+1); err != nil {
				return err
			}
		}
		w.newline(level, "")
		w.buf.WriteByte('}')
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			w.buf.WriteString("[]")
			return nil
		}
		w.buf.WriteByte('[')
		for i, it := range n.Content {
			sep := ""
			if i > 0 {
				w.buf.WriteByte(',')
				sep = w.st.comma[1:]
			}
			w.newline(level+1, sep)
			if err := w.value(it, level+1); err != nil {
				return err
			}
		}
		w.newline(level, "")
		w.buf.WriteByte(']')
	case yaml.ScalarNode:
		return w.scalar(n)
	default:
		return fmt.Errorf("line %d: cannot write this node as JSON", n.Line)
	}
	return nil
}

// jsonNumber matches a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func (w *jsonWriter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		w.buf.WriteString("null")
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			w.buf.WriteString("true")
		case "false":
			w.buf.WriteString("false")
		default:
			return fmt.Errorf("line %d: the boolean %q has no JSON form", n.Line, n.Value)
		}
	case "!!int", "!!float":
		if !jsonNumber.MatchString(n.Value) {
			return fmt.Errorf("line %d: the number %q has no JSON form", n.Line, n.Value)
		}
		w.buf.WriteString(n.Value)
	default:
		return w.str(n.Value)
	}
	return nil
}

// str writes s as a JSON string, escaping only what JSON requires (no
// HTML escapes: `<` stays `<`, as the document wrote it).
func (w *jsonWriter) str(s string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	w.buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return nil
}
