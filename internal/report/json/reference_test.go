package json

import "github.com/kubeharden/kubeharden/internal/check"

// The reflective form of a finding: the JSON contract as Go types, which
// encoding/json writes the way appendFinding must (TestAppendFinding,
// FuzzAppendString). The renderer itself hand-encodes findings; the
// benchmark encodes these to show what that saves.

type finding struct {
	Check         string         `json:"check"`
	Severity      string         `json:"severity"`
	Message       string         `json:"message"`
	Remediation   string         `json:"remediation"`
	Fixable       bool           `json:"fixable"`
	Object        *object        `json:"object"`
	Location      location       `json:"location"`
	Path          string         `json:"path"`
	Vulnerability *vulnerability `json:"vulnerability,omitempty"`
	Suppression   *suppression   `json:"suppression,omitempty"`
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

type object struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	APIVersion string `json:"apiVersion"`
	Origin     string `json:"origin,omitempty"`
}

type location struct {
	File     string    `json:"file"`
	Line     int       `json:"line"`
	Column   int       `json:"column"`
	Template *template `json:"template,omitempty"`
}

type template struct {
	Certain      bool   `json:"certain"`
	Via          string `json:"via,omitempty"`
	Reason       string `json:"reason,omitempty"`
	RenderedLine int    `json:"renderedLine"`
	ValuesFile   string `json:"valuesFile,omitempty"`
	ValuesLine   int    `json:"valuesLine,omitempty"`
}

type suppression struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	Source string `json:"source"`
}

// toJSON maps a finding to its reflective form.
func toJSON(f *check.Finding, remediation string, fixable bool) finding {
	jf := finding{
		Check:       f.Check,
		Severity:    f.Severity.String(),
		Message:     f.Message,
		Remediation: remediation,
		Fixable:     fixable,
		Location:    location{File: f.Location.File, Line: f.Location.Line, Column: f.Location.Column},
		Path:        f.Path,
	}
	if t := f.Trace(); t != nil {
		jf.Location.Template = &template{Certain: t.Uncertain == "", Via: t.Via, Reason: t.Uncertain,
			RenderedLine: t.Rendered, ValuesFile: t.ValueFile, ValuesLine: t.ValueLine}
	}
	if o := f.Object; o != nil {
		jf.Object = &object{Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, APIVersion: o.APIVersion, Origin: o.Origin}
	}
	if v := f.Vulnerability(); v != nil {
		jf.Vulnerability = &vulnerability{ID: v.ID, Aliases: v.Aliases, Package: v.Package, Ecosystem: v.Ecosystem, PURL: v.PURL, Installed: v.Installed, Fixed: v.Fixed, Score: v.Score}
	}
	if s := f.Suppression(); s != nil {
		jf.Suppression = &suppression{Kind: s.Kind, Reason: s.Reason, Source: s.Source}
	}
	return jf
}
