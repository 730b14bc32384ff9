package sarif

import (
	"encoding/json"
	"io"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// renderReference is Render as it was before it streamed: the whole log
// built as Go values and written by encoding/json at once. It is the
// specification Render is held to byte for byte (TestMatchesReference,
// FuzzMatchesReference).
func renderReference(w io.Writer, res *scan.Result, opts Options) error {
	d := driver{Name: "kubeharden", Version: opts.Version, InformationURI: opts.InformationURI, Rules: []rule{}}
	index := map[string]int{}
	for _, m := range res.Checks {
		if _, dup := index[m.ID]; dup {
			continue
		}
		index[m.ID] = len(d.Rules)
		d.Rules = append(d.Rules, newRule(m))
	}
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
	for i, f := range res.Findings {
		r := newResult(f, ruleIndex(f))
		r.BaselineState = opts.Baseline.Of(i).String()
		results = append(results, r)
	}
	for _, f := range res.Suppressed {
		r := newResult(f, ruleIndex(f))
		if s := f.Suppression(); s != nil {
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

type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
}

type run struct {
	Tool        tool         `json:"tool"`
	Invocations []invocation `json:"invocations"`
	Results     []result     `json:"results"`
	ColumnKind  string       `json:"columnKind"`
}

type result struct {
	RuleID       string            `json:"ruleId"`
	RuleIndex    int               `json:"ruleIndex"`
	Level        string            `json:"level"`
	Message      message           `json:"message"`
	Locations    []location        `json:"locations,omitempty"`
	Related      []relatedLocation `json:"relatedLocations,omitempty"`
	Suppressions []suppression     `json:"suppressions,omitempty"`
	Properties   *resultProperties `json:"properties,omitempty"`
	// BaselineState is "new" or "unchanged" with --baseline.
	BaselineState string `json:"baselineState,omitempty"`
}

type resultProperties struct {
	Path          string         `json:"path,omitempty"`
	Template      *templateProp  `json:"template,omitempty"`
	Vulnerability *vulnerability `json:"vulnerability,omitempty"`
}

type templateProp struct {
	Certain      bool   `json:"certain"`
	Via          string `json:"via,omitempty"`
	Reason       string `json:"reason,omitempty"`
	RenderedLine int    `json:"renderedLine"`
	ValuesURI    string `json:"valuesUri,omitempty"`
	ValuesLine   int    `json:"valuesLine,omitempty"`
}

type relatedLocation struct {
	ID               int               `json:"id"`
	PhysicalLocation *physicalLocation `json:"physicalLocation"`
	Message          message           `json:"message"`
}

type vulnerability struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases,omitempty"`
	Package   string   `json:"package"`
	Ecosystem string   `json:"ecosystem"`
	PURL      string   `json:"purl"`
	Installed string   `json:"installed"`
	Fixed     string   `json:"fixed"`
	Score     float64  `json:"score"`
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
		fqn := o.Kind + "/" + o.Namespace + "/" + o.Name
		if o.Namespace == "" {
			fqn = o.Kind + "/" + o.Name
		}
		ll := logicalLocation{Name: o.Name, FullyQualifiedName: fqn, Kind: "object"}
		if o.APIVersion != "" || o.Origin != "" {
			ll.Properties = &logicalLocationProperty{APIVersion: o.APIVersion, Origin: o.Origin}
		}
		loc.LogicalLocations = []logicalLocation{ll}
	}
	if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
		r.Locations = []location{loc}
	}
	if f.Path != "" || f.Vulnerability() != nil {
		r.Properties = &resultProperties{Path: f.Path}
		if v := f.Vulnerability(); v != nil {
			r.Properties.Vulnerability = &vulnerability{ID: v.ID, Aliases: v.Aliases, Package: v.Package, Ecosystem: v.Ecosystem, PURL: v.PURL, Installed: v.Installed, Fixed: v.Fixed, Score: v.Score}
		}
	}
	r.Related = relatedLocations(&f)
	if tp := templateProps(&f); tp != nil {
		if r.Properties == nil {
			r.Properties = &resultProperties{}
		}
		r.Properties.Template = tp
	}
	return r
}

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

// templateProps is the template property of f's result, nil for none.
func templateProps(f *check.Finding) *templateProp {
	t := f.Trace()
	if t == nil {
		return nil
	}
	tp := &templateProp{Certain: t.Uncertain == "", Via: t.Via, Reason: t.Uncertain, RenderedLine: t.Rendered, ValuesLine: t.ValueLine}
	if t.ValueFile != "" {
		tp.ValuesURI = artifactURI(t.ValueFile)
	}
	return tp
}

// relatedLocations are a result's values file line, nil for none.
func relatedLocations(f *check.Finding) []relatedLocation {
	t := f.Trace()
	if t == nil || t.ValueFile == "" {
		return nil
	}
	return []relatedLocation{{ID: 1, PhysicalLocation: newPhysicalLocation(t.ValueFile, t.ValueLine, 0), Message: message{Text: valuesMessage}}}
}
