package sarif

import (
	"strconv"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/report/jsonenc"
	"github.com/kubeharden/kubeharden/internal/source"
)

// The functions below write the parts of the log there are many of, a
// result per finding and a notification per input error, exactly as
// encoding/json writes them in the whole log (indented by two spaces, HTML
// escaping off), without reflection: a large scan writes hundreds of
// thousands of results. TestMatchesReference and FuzzMatchesReference hold
// them to encoding/json byte for byte.
//
// Writing them by hand is worth its tests: with encoding/json encoding each
// result into a reused buffer, a log of 110,000 results takes about nine
// times as long (455 ms against 51 ms, BenchmarkRenderLarge), most of it
// json.Encoder scanning its own output again to indent it.

// appendResult writes the result of f, an element of the results array.
// uri is the artifact URI of f's file, "" without a file. suppressed says
// whether f is one of the suppressed findings, which alone carry a
// suppression.
func appendResult(b []byte, f *check.Finding, ruleIndex int, uri string, suppressed bool) []byte {
	b = append(b, "{\n          \"ruleId\": "...)
	b = jsonenc.AppendString(b, f.Check)
	b = append(b, ",\n          \"ruleIndex\": "...)
	b = strconv.AppendInt(b, int64(ruleIndex), 10)
	b = append(b, ",\n          \"level\": \""...)
	b = append(b, level(f.Severity)...)
	b = append(b, "\",\n          \"message\": {\n            \"text\": "...)
	b = jsonenc.AppendString(b, f.Message)
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
			b = jsonenc.AppendString(b, o.Name)
			// kind/namespace/name, or kind/name without a namespace.
			b = append(b, ",\n                  \"fullyQualifiedName\": \""...)
			b = jsonenc.AppendStringContent(b, o.Kind)
			b = append(b, '/')
			if o.Namespace != "" {
				b = jsonenc.AppendStringContent(b, o.Namespace)
				b = append(b, '/')
			}
			b = jsonenc.AppendStringContent(b, o.Name)
			b = append(b, "\",\n                  \"kind\": \"object\""...)
			if o.APIVersion != "" || o.Origin != "" {
				b = append(b, ",\n                  \"properties\": {"...)
				if o.APIVersion != "" {
					b = append(b, "\n                    \"apiVersion\": "...)
					b = jsonenc.AppendString(b, o.APIVersion)
				}
				if o.Origin != "" {
					if o.APIVersion != "" {
						b = append(b, ',')
					}
					b = append(b, "\n                    \"origin\": "...)
					b = jsonenc.AppendString(b, o.Origin)
				}
				b = append(b, "\n                  }"...)
			}
			b = append(b, "\n                }\n              ]"...)
		}
		b = append(b, "\n            }\n          ]"...)
	}
	if t := f.Trace(); t != nil && t.ValueFile != "" {
		// The values file line that set a field of a chart's object: a
		// code scanning service links it beside the template line.
		b = append(b, ",\n          \"relatedLocations\": [\n            {\n              \"id\": 1,"...)
		b = appendPhysicalLocation(b, artifactURI(t.ValueFile), t.ValueLine, 0, 14)
		b = append(b, ",\n              \"message\": {\n                \"text\": \""...)
		b = append(b, valuesMessage...)
		b = append(b, "\"\n              }\n            }\n          ]"...)
	}
	if s := f.Suppression(); suppressed && s != nil {
		kind := "external"
		if s.Kind == "annotation" {
			kind = "inSource"
		}
		b = append(b, ",\n          \"suppressions\": [\n            {\n              \"kind\": \""...)
		b = append(b, kind...)
		b = append(b, "\",\n              \"justification\": "...)
		b = jsonenc.AppendString(b, s.Reason)
		if s.Source != "" {
			// The annotation key or config file and line that suppressed.
			b = append(b, ",\n              \"properties\": {\n                \"source\": "...)
			b = jsonenc.AppendString(b, s.Source)
			b = append(b, "\n              }"...)
		}
		b = append(b, "\n            }\n          ]"...)
	}
	if t := f.Trace(); f.Path != "" || t != nil || f.Vulnerability() != nil {
		// The field path of the finding, which SARIF has no place for, how
		// a rendered object's finding was placed in its template, and the
		// vulnerability of an image-vulnerability finding.
		b = append(b, ",\n          \"properties\": {"...)
		sep := false
		if f.Path != "" {
			b = append(b, "\n            \"path\": "...)
			b = jsonenc.AppendString(b, f.Path)
			sep = true
		}
		if t != nil {
			if sep {
				b = append(b, ',')
			}
			b = appendTemplate(b, t)
			sep = true
		}
		if v := f.Vulnerability(); v != nil {
			if sep {
				b = append(b, ',')
			}
			b = append(b, "\n            \"vulnerability\": "...)
			b = jsonenc.AppendVulnerability(b, "              ", v)
		}
		b = append(b, "\n          }"...)
	}
	return append(b, "\n        }"...)
}

// valuesMessage is the message of a related location at a values file.
const valuesMessage = "the values file line that set the field"

// appendTemplate writes the template property of a result.
func appendTemplate(b []byte, t *object.Trace) []byte {
	b = append(b, "\n            \"template\": "...)
	return jsonenc.AppendTrace(b, "              ", t, "valuesUri", artifactURI(t.ValueFile))
}

// appendNotification writes the notification of an input error, an
// element of toolExecutionNotifications. uri is the artifact URI of its
// file, "" without a file.
func appendNotification(b []byte, e *source.Error, uri string) []byte {
	b = append(b, "{\n              \"level\": \"error\",\n              \"message\": {\n                \"text\": "...)
	b = jsonenc.AppendString(b, e.Message)
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
	b = jsonenc.AppendString(b, uri)
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
