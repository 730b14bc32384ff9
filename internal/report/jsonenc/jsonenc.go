// Package jsonenc holds the JSON string escaping shared by the JSON and
// SARIF renderers' hand-written encoders: exactly what encoding/json writes
// with HTML escaping off, without its reflection.
package jsonenc

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/object"
)

// AppendString writes s as a quoted JSON string.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = AppendStringContent(b, s)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// AppendStringContent writes s escaped as inside a JSON string, without
// the quotes. Escaping goes rune by rune, so pieces joined by ASCII come
// out as their join would.
func AppendStringContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: most of a report is plain ASCII.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether the 8 bytes of s need no escaping: none is below
// 0x20, a quote, a backslash, or outside ASCII (which goes rune by rune).
func plain8(s string) bool {
	w := binary.LittleEndian.Uint64([]byte(s))
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return (w&highs)|((w-ones*0x20)&^w&highs)|zero(w^(ones*'"'))|zero(w^(ones*'\\')) == 0
}

// AppendTrace writes the object of how a rendered object's finding was
// placed in its template, its fields indented by indent and its closing
// brace by indent less two spaces. The values file is written under
// valuesKey, as values (a path for JSON, a URI for SARIF).
func AppendTrace(b []byte, indent string, t *object.Trace, valuesKey, values string) []byte {
	b = append(b, "{\n"+indent+"\"certain\": "...)
	b = strconv.AppendBool(b, t.Uncertain == "")
	field := func(key string) { b = append(b, ",\n"+indent+"\""+key+"\": "...) }
	if t.Via != "" {
		field("via")
		b = AppendString(b, t.Via)
	}
	if t.Uncertain != "" {
		field("reason")
		b = AppendString(b, t.Uncertain)
	}
	field("renderedLine")
	b = strconv.AppendInt(b, int64(t.Rendered), 10)
	if t.ValueFile != "" {
		field(valuesKey)
		b = AppendString(b, values)
	}
	if t.ValueLine != 0 {
		field("valuesLine")
		b = strconv.AppendInt(b, int64(t.ValueLine), 10)
	}
	return append(b, "\n"+indent[:len(indent)-2]+"}"...)
}
