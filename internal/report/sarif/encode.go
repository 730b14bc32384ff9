package sarif

import (
	"strconv"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/source"
)

// The functions below write the parts of the log there are many of, a
// result per finding and a notification per input error, exactly as
// encoding/json writes them in the whole log (indented by two spaces, HTML
// escaping off), without reflection: a large scan writes hundreds of
// thousands of results. TestMatchesReference and FuzzMatchesReference hold
// them to encoding/json byte for byte.

// appendResult writes the result of f, an element of the results array.
// uri is the artifact URI of f's file, "" without a file. suppressed says
// whether f is one of the suppressed findings, which alone carry a
// suppression.
func appendResult(b []byte, f *check.Finding, ruleIndex int, uri string, suppressed bool) []byte {
	b = append(b, "{\n          \"ruleId\": "...)
	b = appendString(b, f.Check)
	b = append(b, ",\n          \"ruleIndex\": "...)
	b = strconv.AppendInt(b, int64(ruleIndex), 10)
	b = append(b, ",\n          \"level\": \""...)
	b = append(b, level(f.Severity)...)
	b = append(b, "\",\n          \"message\": {\n            \"text\": "...)
	b = appendString(b, f.Message)
	b = append(b, "\n          }"...)
	if o := f.Object; uri != "" || o != nil {
		b = append(b, ",\n          \"locations\": [\n            {"...)
		if uri != "" {
			b = appendPhysicalLocation(b, uri, f.Location.Line, f.Location.Column, 14)
		}
		if o != nil {
			if uri != "" {
				b = append(b, ',')
			}
			b = append(b, "\n              \"logicalLocations\": [\n                {\n                  \"name\": "...)
			b = appendString(b, o.Name)
			// kind/namespace/name, or kind/name without a namespace.
			b = append(b, ",\n                  \"fullyQualifiedName\": \""...)
			b = appendStringContent(b, o.Kind)
			b = append(b, '/')
			if o.Namespace != "" {
				b = appendStringContent(b, o.Namespace)
				b = append(b, '/')
			}
			b = appendStringContent(b, o.Name)
			b = append(b, "\",\n                  \"kind\": \"object\""...)
			if o.APIVersion != "" || o.Origin != "" {
				b = append(b, ",\n                  \"properties\": {"...)
				if o.APIVersion != "" {
					b = append(b, "\n                    \"apiVersion\": "...)
					b = appendString(b, o.APIVersion)
				}
				if o.Origin != "" {
					if o.APIVersion != "" {
						b = append(b, ',')
					}
					b = append(b, "\n                    \"origin\": "...)
					b = appendString(b, o.Origin)
				}
				b = append(b, "\n                  }"...)
			}
			b = append(b, "\n                }\n              ]"...)
		}
		b = append(b, "\n            }\n          ]"...)
	}
	if s := f.Suppression; suppressed && s != nil {
		kind := "external"
		if s.Kind == "annotation" {
			kind = "inSource"
		}
		b = append(b, ",\n          \"suppressions\": [\n            {\n              \"kind\": \""...)
		b = append(b, kind...)
		b = append(b, "\",\n              \"justification\": "...)
		b = appendString(b, s.Reason)
		if s.Source != "" {
			// The annotation key or config file and line that suppressed.
			b = append(b, ",\n              \"properties\": {\n                \"source\": "...)
			b = appendString(b, s.Source)
			b = append(b, "\n              }"...)
		}
		b = append(b, "\n            }\n          ]"...)
	}
	if f.Path != "" {
		// The field path of the finding, which SARIF has no place for.
		b = append(b, ",\n          \"properties\": {\n            \"path\": "...)
		b = appendString(b, f.Path)
		b = append(b, "\n          }"...)
	}
	return append(b, "\n        }"...)
}

// appendNotification writes the notification of an input error, an
// element of toolExecutionNotifications. uri is the artifact URI of its
// file, "" without a file.
func appendNotification(b []byte, e *source.Error, uri string) []byte {
	b = append(b, "{\n              \"level\": \"error\",\n              \"message\": {\n                \"text\": "...)
	b = appendString(b, e.Message)
	b = append(b, "\n              }"...)
	if uri != "" {
		b = append(b, ",\n              \"locations\": [\n                {"...)
		b = appendPhysicalLocation(b, uri, e.Line, e.Column, 18)
		b = append(b, "\n                }\n              ]"...)
	}
	return append(b, "\n            }"...)
}

// appendPhysicalLocation writes the physicalLocation member of a location
// whose members are indented by depth spaces. The region is left out when
// the line is unknown, because SARIF lines start at 1.
func appendPhysicalLocation(b []byte, uri string, line, col, depth int) []byte {
	b = newline(b, depth)
	b = append(b, "\"physicalLocation\": {"...)
	b = newline(b, depth+2)
	b = append(b, "\"artifactLocation\": {"...)
	b = newline(b, depth+4)
	b = append(b, "\"uri\": "...)
	b = appendString(b, uri)
	b = newline(b, depth+2)
	b = append(b, '}')
	if line >= 1 {
		b = append(b, ',')
		b = newline(b, depth+2)
		b = append(b, "\"region\": {"...)
		b = newline(b, depth+4)
		b = append(b, "\"startLine\": "...)
		b = strconv.AppendInt(b, int64(line), 10)
		if col >= 1 {
			b = append(b, ',')
			b = newline(b, depth+4)
			b = append(b, "\"startColumn\": "...)
			b = strconv.AppendInt(b, int64(col), 10)
		}
		b = newline(b, depth+2)
		b = append(b, '}')
	}
	b = newline(b, depth)
	return append(b, '}')
}

const spaces = "                                "

// newline writes a line break and depth spaces of indent.
func newline(b []byte, depth int) []byte {
	b = append(b, '\n')
	return append(b, spaces[:depth]...)
}

// appendString quotes s as encoding/json does with HTML escaping off.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringContent(b, s)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendStringContent writes s escaped as inside a JSON string, without
// the quotes. Escaping goes rune by rune, so pieces joined by ASCII come
// out as their join would.
func appendStringContent(b []byte, s string) []byte {
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
	return append(b, s[start:]...)
}
