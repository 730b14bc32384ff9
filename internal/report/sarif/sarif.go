// Package sarif renders a scan result as a SARIF 2.1.0 log, the format code
// scanning services (GitHub, GitLab, Azure DevOps) and editors read.
//
// One run holds one rule per check that ran and one result per finding.
// Suppressed findings are results too, marked with a suppression, so that a
// service shows them as dismissed instead of losing them. Input errors are
// tool execution notifications: the scan still succeeded for every other
// input.
package sarif

import (
	"encoding/json"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// schema and sarifVersion identify the SARIF version written.
const (
	schema       = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
)

// Options tune the sarif format.
type Options struct {
	// Version is the tool version, tool.driver.version; left out when empty.
	Version string
	// InformationURI is tool.driver.informationUri; left out when empty.
	InformationURI string
}

type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
}

type run struct {
	Tool        tool         `json:"tool"`
	Invocations []invocation `json:"invocations"`
	Results     []result     `json:"results"`
	// yaml.v3 counts columns in characters, not UTF-16 code units.
	ColumnKind string `json:"columnKind"`
}

type tool struct {
	Driver driver `json:"driver"`
}

type driver struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	InformationURI string `json:"informationUri,omitempty"`
	Rules          []rule `json:"rules"`
}

type rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     *message       `json:"shortDescription,omitempty"`
	FullDescription      *message       `json:"fullDescription,omitempty"`
	Help                 *help          `json:"help,omitempty"`
	DefaultConfiguration configuration  `json:"defaultConfiguration"`
	Properties           ruleProperties `json:"properties"`
}

type message struct {
	Text string `json:"text"`
}

type help struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type configuration struct {
	Level string `json:"level"`
}

type ruleProperties struct {
	// SecuritySeverity is a number in a string, as GitHub reads it.
	SecuritySeverity string   `json:"security-severity"`
	Tags             []string `json:"tags"`
}

type result struct {
	RuleID       string            `json:"ruleId"`
	RuleIndex    int               `json:"ruleIndex"`
	Level        string            `json:"level"`
	Message      message           `json:"message"`
	Locations    []location        `json:"locations,omitempty"`
	Suppressions []suppression     `json:"suppressions,omitempty"`
	Properties   *resultProperties `json:"properties,omitempty"`
}

type resultProperties struct {
	// Path is the field path of the finding, which SARIF has no place for.
	Path string `json:"path"`
}

type location struct {
	PhysicalLocation *physicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []logicalLocation `json:"logicalLocations,omitempty"`
}

type physicalLocation struct {
	ArtifactLocation artifactLocation `json:"artifactLocation"`
	Region           *region          `json:"region,omitempty"`
}

type artifactLocation struct {
	URI string `json:"uri"`
}

type region struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type logicalLocation struct {
	Name               string                   `json:"name"`
	FullyQualifiedName string                   `json:"fullyQualifiedName"`
	Kind               string                   `json:"kind"`
	Properties         *logicalLocationProperty `json:"properties,omitempty"`
}

type logicalLocationProperty struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Origin     string `json:"origin,omitempty"`
}

type suppression struct {
	Kind          string                 `json:"kind"`
	Justification string                 `json:"justification"`
	Properties    *suppressionProperties `json:"properties,omitempty"`
}

type suppressionProperties struct {
	// Source is the annotation key or config file and line that suppressed.
	Source string `json:"source"`
}

type invocation struct {
	ExecutionSuccessful        bool           `json:"executionSuccessful"`
	ToolExecutionNotifications []notification `json:"toolExecutionNotifications,omitempty"`
}

type notification struct {
	Level     string     `json:"level"`
	Message   message    `json:"message"`
	Locations []location `json:"locations,omitempty"`
}

// level returns the SARIF level of a severity: critical and high are
// errors, medium a warning, low and info notes.
func level(s check.Severity) string {
	switch {
	case s >= check.High:
		return "error"
	case s == check.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity returns the CVSS-like score GitHub sorts and labels
// alerts by: above 9.0 is critical, 7.0 high, 4.0 medium, 0.1 low.
func securitySeverity(s check.Severity) string {
	switch s {
	case check.Critical:
		return "9.5"
	case check.High:
		return "8.0"
	case check.Medium:
		return "5.5"
	case check.Low:
		return "3.0"
	}
	return "0.0"
}

// Render writes res to w as an indented SARIF log and a newline.
func Render(w io.Writer, res *scan.Result, opts Options) error {
	d := driver{Name: "kubeharden", Version: opts.Version, InformationURI: opts.InformationURI, Rules: []rule{}}
	index := map[string]int{}
	for _, m := range res.Checks {
		if _, dup := index[m.ID]; dup {
			continue
		}
		index[m.ID] = len(d.Rules)
		d.Rules = append(d.Rules, newRule(m))
	}
	// A finding of a check the result does not describe still needs a rule
	// for its ruleIndex to point at.
	ruleIndex := func(f check.Finding) int {
		i, ok := index[f.Check]
		if !ok {
			i = len(d.Rules)
			index[f.Check] = i
			d.Rules = append(d.Rules, newRule(check.Meta{ID: f.Check, Severity: f.Severity}))
		}
		return i
	}

	results := make([]result, 0, len(res.Findings)+len(res.Suppressed))
	for _, f := range res.Findings {
		results = append(results, newResult(f, ruleIndex(f)))
	}
	for _, f := range res.Suppressed {
		r := newResult(f, ruleIndex(f))
		if s := f.Suppression; s != nil {
			kind := "external"
			if s.Kind == "annotation" {
				kind = "inSource"
			}
			r.Suppressions = []suppression{{Kind: kind, Justification: s.Reason}}
			if s.Source != "" {
				r.Suppressions[0].Properties = &suppressionProperties{Source: s.Source}
			}
		}
		results = append(results, r)
	}

	inv := invocation{ExecutionSuccessful: true}
	for _, e := range res.Errors {
		n := notification{Level: "error", Message: message{Text: e.Message}}
		if pl := newPhysicalLocation(e.File, e.Line, e.Column); pl != nil {
			n.Locations = []location{{PhysicalLocation: pl}}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}

	log := sarifLog{
		Schema:  schema,
		Version: sarifVersion,
		Runs: []run{{
			Tool:        tool{Driver: d},
			Invocations: []invocation{inv},
			Results:     results,
			ColumnKind:  "unicodeCodePoints",
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

func newRule(m check.Meta) rule {
	r := rule{
		ID:                   m.ID,
		Name:                 m.Title,
		DefaultConfiguration: configuration{Level: level(m.Severity)},
		Properties:           ruleProperties{SecuritySeverity: securitySeverity(m.Severity), Tags: []string{"security", "kubernetes"}},
	}
	if m.Title != "" {
		r.ShortDescription = &message{Text: m.Title}
	}
	if m.Description != "" {
		r.FullDescription = &message{Text: m.Description}
	}
	if m.Remediation != "" || len(m.References) > 0 {
		r.Help = newHelp(m)
	}
	return r
}

func newHelp(m check.Meta) *help {
	var text, md []string
	if m.Description != "" {
		text = append(text, m.Description)
		md = append(md, m.Description)
	}
	if m.Remediation != "" {
		text = append(text, "Fix: "+m.Remediation)
		md = append(md, "**Fix:** "+m.Remediation)
	}
	if len(m.References) > 0 {
		text = append(text, "References:\n- "+strings.Join(m.References, "\n- "))
		md = append(md, "**References:**\n\n- "+strings.Join(m.References, "\n- "))
	}
	return &help{Text: strings.Join(text, "\n\n"), Markdown: strings.Join(md, "\n\n")}
}

func newResult(f check.Finding, ruleIndex int) result {
	r := result{
		RuleID:    f.Check,
		RuleIndex: ruleIndex,
		Level:     level(f.Severity),
		Message:   message{Text: f.Message},
	}
	var loc location
	loc.PhysicalLocation = newPhysicalLocation(f.Location.File, f.Location.Line, f.Location.Column)
	if o := f.Object; o != nil {
		ll := logicalLocation{Name: o.Name, FullyQualifiedName: qualifiedName(o), Kind: "object"}
		if o.APIVersion != "" || o.Origin != "" {
			ll.Properties = &logicalLocationProperty{APIVersion: o.APIVersion, Origin: o.Origin}
		}
		loc.LogicalLocations = []logicalLocation{ll}
	}
	if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
		r.Locations = []location{loc}
	}
	if f.Path != "" {
		r.Properties = &resultProperties{Path: f.Path}
	}
	return r
}

// qualifiedName is kind/namespace/name, or kind/name when the manifest sets
// no namespace.
func qualifiedName(o *check.ObjectRef) string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// newPhysicalLocation returns nil without a file; the region is left out
// when the line is unknown, because SARIF lines start at 1.
func newPhysicalLocation(file string, line, col int) *physicalLocation {
	if file == "" {
		return nil
	}
	pl := &physicalLocation{ArtifactLocation: artifactLocation{URI: artifactURI(file)}}
	if line >= 1 {
		pl.Region = &region{StartLine: line}
		if col >= 1 {
			pl.Region.StartColumn = col
		}
	}
	return pl
}

// artifactURI turns a file path into a SARIF artifact URI: a relative path
// stays a relative reference with forward slashes, so that a code scanning
// service resolves it against the repository root; an absolute path becomes
// a file:// URI. Characters outside a URI path are percent-escaped.
func artifactURI(file string) string {
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // a Windows drive letter
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	// url.URL.String prefixes "./" when the first segment holds a colon,
	// which would otherwise read as a scheme.
	return (&url.URL{Path: path.Clean(p)}).String()
}
