// Package report turns a scan result into one of kubeharden's output
// formats. Each format lives in its own package below this one and knows
// nothing of the others; this package names them for the CLI and hands each
// the options it uses.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report/html"
	"github.com/kubeharden/kubeharden/internal/report/json"
	"github.com/kubeharden/kubeharden/internal/report/junit"
	"github.com/kubeharden/kubeharden/internal/report/openreports"
	"github.com/kubeharden/kubeharden/internal/report/sarif"
	"github.com/kubeharden/kubeharden/internal/report/text"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// DefaultFormat is the format used when the user names none.
const DefaultFormat = "text"

// DefaultToolURI is the SARIF informationUri used when Options.ToolURI is
// empty.
const DefaultToolURI = "https://github.com/kubeharden/kubeharden"

// Options are what the CLI knows that a report may show. Each format uses
// only some of them.
type Options struct {
	// Color turns on ANSI colours in the text format. The CLI sets it only
	// when stdout is a terminal and NO_COLOR is unset.
	Color bool
	// Version is the tool's version, shown by json and sarif.
	Version string
	// FailOn is the --fail-on threshold. No format shows it yet: the zero
	// value cannot tell --fail-on none from --fail-on info.
	FailOn check.Severity
	// ToolURI is sarif's tool.driver.informationUri; DefaultToolURI when
	// empty.
	ToolURI string
	// HTMLMaxFindings bounds the findings the html format lists one by
	// one; zero means html.DefaultMaxFindings.
	HTMLMaxFindings int
	// Baseline compares the result with an earlier report (--baseline):
	// the status of each finding by its index in the result's Findings,
	// and the baseline's fixed findings. nil without --baseline.
	Baseline *baseline.Comparison
}

// Renderer writes res to w in one format. It fails only when w does.
type Renderer func(w io.Writer, res *scan.Result, opts Options) error

var formats = []struct {
	name   string
	render Renderer
}{
	{"text", func(w io.Writer, res *scan.Result, opts Options) error {
		return text.Render(w, res, text.Options{Color: opts.Color, Baseline: opts.Baseline})
	}},
	{"json", func(w io.Writer, res *scan.Result, opts Options) error {
		return json.Render(w, res, json.Options{Version: opts.Version, Baseline: opts.Baseline})
	}},
	{"sarif", func(w io.Writer, res *scan.Result, opts Options) error {
		uri := opts.ToolURI
		if uri == "" {
			uri = DefaultToolURI
		}
		return sarif.Render(w, res, sarif.Options{Version: opts.Version, InformationURI: uri, Baseline: opts.Baseline})
	}},
	{"junit", func(w io.Writer, res *scan.Result, _ Options) error {
		return junit.Render(w, res)
	}},
	{"html", func(w io.Writer, res *scan.Result, opts Options) error {
		return html.Render(w, res, html.Options{Version: opts.Version, MaxFindings: opts.HTMLMaxFindings, Baseline: opts.Baseline})
	}},
	{"openreports", func(w io.Writer, res *scan.Result, _ Options) error {
		return openreports.RenderResult(w, res, openreports.Options{})
	}},
}

// Formats lists the format names Lookup accepts, the default first.
func Formats() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

// Lookup returns the renderer of a format by its name in Formats.
func Lookup(format string) (Renderer, error) {
	for _, f := range formats {
		if format == f.name {
			return f.render, nil
		}
	}
	return nil, fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}
