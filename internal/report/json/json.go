// Package json renders a scan result as one JSON document for programs to
// read. The document is a contract: docs/output.md describes it field by
// field, fields are only ever added, and the golden files under testdata/
// fail the tests when it drifts.
//
// Every array is present and empty rather than null; object is null for a
// finding outside Kubernetes objects; map keys are sorted, so the output of
// one result is always the same bytes.
package json

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/report/jsonenc"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// Options tune the json format.
type Options struct {
	// Version is the tool version written at the top of the document.
	Version string
	// Baseline, when set, adds each finding's baseline status, the
	// baseline's fixed findings and a baseline summary.
	Baseline *baseline.Comparison
}

type inError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type summary struct {
	Files      int            `json:"files"`
	Objects    int            `json:"objects"`
	Findings   int            `json:"findings"`
	Suppressed int            `json:"suppressed"`
	Errors     int            `json:"errors"`
	BySeverity bySeverity     `json:"bySeverity"`
	ByCheck    map[string]int `json:"byCheck"`
	// Baseline is present only with --baseline.
	Baseline *baselineSummary `json:"baseline,omitempty"`
}

// baselineSummary sums up a comparison with a baseline report.
type baselineSummary struct {
	Report        string `json:"report"`
	Version       string `json:"version"`
	New           int    `json:"new"`
	Unchanged     int    `json:"unchanged"`
	Fixed         int    `json:"fixed"`
	NowSuppressed int    `json:"nowSuppressed"`
}

// bySeverity is a struct, not a map, to keep the keys in severity order.
type bySeverity struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
}

func (b *bySeverity) add(s check.Severity) {
	switch s {
	case check.Critical:
		b.Critical++
	case check.High:
		b.High++
	case check.Medium:
		b.Medium++
	case check.Low:
		b.Low++
	case check.Info:
		b.Info++
	}
}

// Render writes res to w as one indented JSON document and a newline. It
// streams: a large scan's findings are encoded one at a time, so memory
// does not grow with the size of the report.
func Render(w io.Writer, res *scan.Result, opts Options) error {
	return renderWith(w, res, opts, nil)
}

// findingAppender writes a finding, an element of a findings array, to b.
// Render's (nil) is appendQuoted with each check's remediation written
// once; the benchmark swaps in encoding/json to show what writing it by
// hand saves.
type findingAppender func(b []byte, f *check.Finding, remediation string, fixable bool) []byte

func renderWith(w io.Writer, res *scan.Result, opts Options, appendFinding findingAppender) error {
	fixes := make(map[string]*check.Meta, len(res.Checks))
	for i := range res.Checks {
		fixes[res.Checks[i].ID] = &res.Checks[i]
	}
	sum := summary{
		Files:      res.Files,
		Objects:    res.Objects,
		Findings:   len(res.Findings),
		Suppressed: len(res.Suppressed),
		Errors:     len(res.Errors),
		ByCheck:    map[string]int{},
	}
	for _, f := range res.Findings {
		sum.BySeverity.add(f.Severity)
		sum.ByCheck[f.Check]++
	}
	if c := opts.Baseline; c != nil {
		sum.Baseline = &baselineSummary{Report: c.Report, Version: c.Version, New: c.New, Unchanged: c.Unchanged,
			Fixed: len(c.Fixed), NowSuppressed: len(c.NowSuppressed)}
	}
	errs := make([]inError, 0, len(res.Errors))
	for _, e := range res.Errors {
		errs = append(errs, inError{File: e.File, Line: e.Line, Column: e.Column, Message: e.Message})
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	s := &stream{w: bw, appendFinding: appendFinding}
	s.raw("{\n  \"version\": ")
	s.value(opts.Version)
	s.raw(",\n  \"findings\": ")
	s.findings(res.Findings, fixes, opts.Baseline)
	s.raw(",\n  \"suppressed\": ")
	s.findings(res.Suppressed, fixes, nil)
	s.raw(",\n  \"errors\": ")
	s.value(errs)
	if len(res.Images) > 0 {
		s.raw(",\n  \"images\": ")
		s.value(imagesJSON(res))
	}
	if opts.Baseline != nil {
		s.raw(",\n  \"fixed\": ")
		s.findings(opts.Baseline.Fixed, fixes, nil)
	}
	s.raw(",\n  \"summary\": ")
	s.value(sum)
	s.raw("\n}\n")
	if s.err != nil {
		return s.err
	}
	return bw.Flush()
}

// stream writes an indented document piece by piece, exactly as
// json.Encoder with SetIndent("", "  ") would write it whole.
type stream struct {
	w             *bufio.Writer
	buf           bytes.Buffer
	appendFinding findingAppender
	err           error
}

func (s *stream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

func (s *stream) value(v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	enc.SetIndent("  ", "  ")
	// Messages quote manifests; <, > and & stay readable.
	enc.SetEscapeHTML(false)
	if s.err = enc.Encode(v); s.err != nil {
		return
	}
	_, s.err = s.w.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
}

// findings writes an array of findings; cmp, when set, gives each its
// baseline status by its index.
func (s *stream) findings(fs []check.Finding, fixes map[string]*check.Meta, cmp *baseline.Comparison) {
	if len(fs) == 0 {
		s.raw("[]")
		return
	}
	// The remediation of each check, written as JSON once.
	quoted := make(map[string][]byte, len(fixes))
	for id, m := range fixes {
		quoted[id] = jsonenc.AppendString(nil, m.Remediation)
	}
	empty := []byte(`""`)
	s.raw("[")
	for i := range fs {
		if s.err == nil {
			s.buf.Reset()
			if i > 0 {
				s.buf.WriteByte(',')
			}
			s.buf.WriteString("\n    ")
			fixable := false
			if m := fixes[fs[i].Check]; m != nil {
				fixable = m.Fixable
			}
			if s.appendFinding == nil {
				q := quoted[fs[i].Check]
				if q == nil {
					q = empty
				}
				s.buf.Write(appendQuoted(s.buf.AvailableBuffer(), &fs[i], q, fixable, cmp.Of(i).String()))
			} else {
				remediation := ""
				if m := fixes[fs[i].Check]; m != nil {
					remediation = m.Remediation
				}
				s.buf.Write(s.appendFinding(s.buf.AvailableBuffer(), &fs[i], remediation, fixable))
			}
			_, s.err = s.w.Write(s.buf.Bytes())
		}
	}
	s.raw("\n  ]")
}

// imageJSON describes an inspected image; present only in reports of
// `kubeharden image` and `scan --images`.
type imageJSON struct {
	Ref        string          `json:"ref"`
	Digest     string          `json:"digest"`
	Platform   string          `json:"platform"`
	User       string          `json:"user"`
	Entrypoint []string        `json:"entrypoint"`
	Cmd        []string        `json:"cmd"`
	Layers     int             `json:"layers"`
	Inventory  image.Inventory `json:"inventory"`
}

func imagesJSON(res *scan.Result) []imageJSON {
	out := make([]imageJSON, 0, len(res.Images))
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	for _, img := range res.Images {
		inv := img.Inventory()
		inv.Shells, inv.PackageManagers, inv.NetworkTools = nonNil(inv.Shells), nonNil(inv.PackageManagers), nonNil(inv.NetworkTools)
		inv.FSTools, inv.Setuid = nonNil(inv.FSTools), nonNil(inv.Setuid)
		out = append(out, imageJSON{
			Ref: img.Ref, Digest: img.Digest, Platform: img.OS + "/" + img.Arch, User: img.User,
			Entrypoint: nonNil(img.Entrypoint), Cmd: nonNil(img.Cmd), Layers: img.Layers, Inventory: inv,
		})
	}
	return out
}
