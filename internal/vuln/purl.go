package vuln

import (
	"sort"
	"strings"
)

// purl builds a package URL (https://github.com/package-url/purl-spec):
// pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS, each part percent-encoded
// but for the unreserved characters, qualifiers sorted by key and empty
// ones left out. namespace may hold several segments ("github.com/x").
func purl(typ, namespace, name, version string, qualifiers ...[2]string) string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(typ)
	b.WriteByte('/')
	if namespace != "" {
		for _, seg := range strings.Split(namespace, "/") {
			if seg == "" {
				continue
			}
			b.WriteString(purlEscape(seg))
			b.WriteByte('/')
		}
	}
	b.WriteString(purlEscape(name))
	if version != "" {
		b.WriteByte('@')
		b.WriteString(purlEscape(version))
	}
	q := make([][2]string, 0, len(qualifiers))
	for _, kv := range qualifiers {
		if kv[1] != "" {
			q = append(q, kv)
		}
	}
	sort.Slice(q, func(i, j int) bool { return q[i][0] < q[j][0] })
	for i, kv := range q {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(purlEscape(kv[1]))
	}
	return b.String()
}

// purlEscape percent-encodes everything but RFC 3986's unreserved
// characters.
func purlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
