package json

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	khobject "github.com/kubeharden/kubeharden/internal/object"
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
	return appendQuoted(b, f, jsonenc.AppendString(nil, remediation), fixable, "")
}

// appendQuoted is appendFinding with the remediation already written as a
// JSON string: it is the same for every finding of a check, and escaping
// it once per check, not per finding, saves a sixth of a large report's
// time (BenchmarkRenderLarge: 38 to 32 ms). status, the finding's
// baseline status, is written only when not empty (with --baseline).
func appendQuoted(b []byte, f *check.Finding, remediation []byte, fixable bool, status string) []byte {
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
	if t := f.Trace(); t != nil {
		b = appendTemplate(b, t)
	}
	b = append(b, "\n      },\n      \"path\": "...)
	b = jsonenc.AppendString(b, f.Path)
	if status != "" {
		b = append(b, ",\n      \"baseline\": "...)
		b = jsonenc.AppendString(b, status)
	}
	if v := f.Vulnerability(); v != nil {
		b = appendVulnerability(b, v)
	}
	if s := f.Suppression(); s != nil {
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

// appendTemplate writes location.template: how a rendered object's
// finding was placed in its template.
func appendTemplate(b []byte, t *khobject.Trace) []byte {
	b = append(b, ",\n        \"template\": "...)
	return jsonenc.AppendTrace(b, "          ", t, "valuesFile", t.ValueFile)
}

// appendVulnerability writes the vulnerability of an image-vulnerability
// finding.
func appendVulnerability(b []byte, v *check.Vulnerability) []byte {
	b = append(b, ",\n      \"vulnerability\": "...)
	return jsonenc.AppendVulnerability(b, "        ", v)
}
