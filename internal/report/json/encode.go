package json

import (
	"strconv"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/check"
)

// appendFinding writes one finding exactly as encoding/json would with
// SetIndent("    ", "  ") and SetEscapeHTML(false), without reflection: a
// large scan writes hundreds of thousands of them. TestAppendFinding holds
// it to encoding/json byte for byte.
func appendFinding(b []byte, f *check.Finding, remediation string) []byte {
	b = append(b, "{\n      \"check\": "...)
	b = appendString(b, f.Check)
	b = append(b, ",\n      \"severity\": "...)
	b = appendString(b, f.Severity.String())
	b = append(b, ",\n      \"message\": "...)
	b = appendString(b, f.Message)
	b = append(b, ",\n      \"remediation\": "...)
	b = appendString(b, remediation)
	b = append(b, ",\n      \"object\": "...)
	if o := f.Object; o == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, "{\n        \"kind\": "...)
		b = appendString(b, o.Kind)
		b = append(b, ",\n        \"name\": "...)
		b = appendString(b, o.Name)
		b = append(b, ",\n        \"namespace\": "...)
		b = appendString(b, o.Namespace)
		b = append(b, ",\n        \"apiVersion\": "...)
		b = appendString(b, o.APIVersion)
		if o.Origin != "" {
			b = append(b, ",\n        \"origin\": "...)
			b = appendString(b, o.Origin)
		}
		b = append(b, "\n      }"...)
	}
	b = append(b, ",\n      \"location\": {\n        \"file\": "...)
	b = appendString(b, f.Location.File)
	b = append(b, ",\n        \"line\": "...)
	b = strconv.AppendInt(b, int64(f.Location.Line), 10)
	b = append(b, ",\n        \"column\": "...)
	b = strconv.AppendInt(b, int64(f.Location.Column), 10)
	b = append(b, "\n      },\n      \"path\": "...)
	b = appendString(b, f.Path)
	if s := f.Suppression; s != nil {
		b = append(b, ",\n      \"suppression\": {\n        \"kind\": "...)
		b = appendString(b, s.Kind)
		b = append(b, ",\n        \"reason\": "...)
		b = appendString(b, s.Reason)
		b = append(b, ",\n        \"source\": "...)
		b = appendString(b, s.Source)
		b = append(b, "\n      }"...)
	}
	return append(b, "\n    }"...)
}

const hex = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping off.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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
	b = append(b, s[start:]...)
	return append(b, '"')
}
