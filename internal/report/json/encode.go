package json

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/jsonenc"
)

// appendFinding writes one finding exactly as encoding/json would with
// SetIndent("    ", "  ") and SetEscapeHTML(false), without reflection: a
// large scan writes hundreds of thousands of them. TestAppendFinding holds
// it to encoding/json byte for byte.
//
// Writing it by hand is worth its tests: with encoding/json encoding each
// finding into a reused buffer, a report of 110,000 findings takes about
// seven times as long (306 ms against 43 ms, BenchmarkRenderLarge), most
// of it json.Encoder scanning its own output again to indent it.
func appendFinding(b []byte, f *check.Finding, remediation string, fixable bool) []byte {
	return appendQuoted(b, f, jsonenc.AppendString(nil, remediation), fixable)
}

// appendQuoted is appendFinding with the remediation already written as a
// JSON string: it is the same for every finding of a check, and escaping
// it once per check, not per finding, saves a sixth of a large report's
// time (BenchmarkRenderLarge: 38 to 32 ms).
func appendQuoted(b []byte, f *check.Finding, remediation []byte, fixable bool) []byte {
	b = append(b, "{\n      \"check\": "...)
	b = jsonenc.AppendString(b, f.Check)
	b = append(b, ",\n      \"severity\": "...)
	b = jsonenc.AppendString(b, f.Severity.String())
	b = append(b, ",\n      \"message\": "...)
	b = jsonenc.AppendString(b, f.Message)
	b = append(b, ",\n      \"remediation\": "...)
	b = append(b, remediation...)
	b = append(b, ",\n      \"fixable\": "...)
	b = strconv.AppendBool(b, fixable)
	b = append(b, ",\n      \"object\": "...)
	if o := f.Object; o == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, "{\n        \"kind\": "...)
		b = jsonenc.AppendString(b, o.Kind)
		b = append(b, ",\n        \"name\": "...)
		b = jsonenc.AppendString(b, o.Name)
		b = append(b, ",\n        \"namespace\": "...)
		b = jsonenc.AppendString(b, o.Namespace)
		b = append(b, ",\n        \"apiVersion\": "...)
		b = jsonenc.AppendString(b, o.APIVersion)
		if o.Origin != "" {
			b = append(b, ",\n        \"origin\": "...)
			b = jsonenc.AppendString(b, o.Origin)
		}
		b = append(b, "\n      }"...)
	}
	b = append(b, ",\n      \"location\": {\n        \"file\": "...)
	b = jsonenc.AppendString(b, f.Location.File)
	b = append(b, ",\n        \"line\": "...)
	b = strconv.AppendInt(b, int64(f.Location.Line), 10)
	b = append(b, ",\n        \"column\": "...)
	b = strconv.AppendInt(b, int64(f.Location.Column), 10)
	b = append(b, "\n      },\n      \"path\": "...)
	b = jsonenc.AppendString(b, f.Path)
	if v := f.Vulnerability; v != nil {
		b = appendVulnerability(b, v)
	}
	if s := f.Suppression; s != nil {
		b = append(b, ",\n      \"suppression\": {\n        \"kind\": "...)
		b = jsonenc.AppendString(b, s.Kind)
		b = append(b, ",\n        \"reason\": "...)
		b = jsonenc.AppendString(b, s.Reason)
		b = append(b, ",\n        \"source\": "...)
		b = jsonenc.AppendString(b, s.Source)
		b = append(b, "\n      }"...)
	}
	return append(b, "\n    }"...)
}

// appendVulnerability writes the vulnerability of an image-vulnerability
// finding.
func appendVulnerability(b []byte, v *check.Vulnerability) []byte {
	b = append(b, ",\n      \"vulnerability\": {\n        \"id\": "...)
	b = jsonenc.AppendString(b, v.ID)
	if len(v.Aliases) > 0 {
		b = append(b, ",\n        \"aliases\": ["...)
		for i, a := range v.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n          "...)
			b = jsonenc.AppendString(b, a)
		}
		b = append(b, "\n        ]"...)
	}
	for _, kv := range [...]struct{ k, v string }{
		{"package", v.Package}, {"ecosystem", v.Ecosystem}, {"purl", v.PURL}, {"installed", v.Installed}, {"fixed", v.Fixed},
	} {
		b = append(b, ",\n        \""...)
		b = append(b, kv.k...)
		b = append(b, "\": "...)
		b = jsonenc.AppendString(b, kv.v)
	}
	b = append(b, ",\n        \"score\": "...)
	b = strconv.AppendFloat(b, v.Score, 'f', -1, 64)
	return append(b, "\n      }"...)
}
