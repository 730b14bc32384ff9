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
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
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
	// Baseline, when set, gives each result of a finding its
	// baselineState: "new" or "unchanged".
	Baseline *baseline.Comparison
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

// Render writes res to w as an indented SARIF log and a newline, as
// encoding/json would write the whole log with SetIndent("", "  ") and
// SetEscapeHTML(false). It streams: the rules and invocations come first,
// then each result is encoded on its own through a reused buffer, so memory
// does not grow with the number of findings.
func Render(w io.Writer, res *scan.Result, opts Options) error {
	return renderWith(w, res, opts, handWritten)
}

// appenders write the parts of the log there are many of, a result per
// finding and a notification per input error. Render's are written by
// hand; the benchmark swaps in encoding/json to show what that saves.
type appenders struct {
	result       func(b []byte, f *check.Finding, ruleIndex int, uri string, suppressed bool) []byte
	notification func(b []byte, e *source.Error, uri string) []byte
}

var handWritten = appenders{result: appendResult, notification: appendNotification}

func renderWith(w io.Writer, res *scan.Result, opts Options, app appenders) error {
	d := driver{Name: "kubeharden", Version: opts.Version, InformationURI: opts.InformationURI, Rules: []rule{}}
	rules := ruleIndex{index: map[string]int{}, rules: &d.Rules}
	for _, m := range res.Checks {
		if _, dup := rules.index[m.ID]; dup {
			continue
		}
		rules.index[m.ID] = len(d.Rules)
		d.Rules = append(d.Rules, newRule(m))
	}
	// A finding of a check the result does not describe still needs a rule
	// for its ruleIndex to point at, and the rules are written before the
	// results: find them all first.
	for i := range res.Findings {
		rules.of(&res.Findings[i])
	}
	for i := range res.Suppressed {
		rules.of(&res.Suppressed[i])
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	s := &stream{w: bw, app: app}
	s.raw("{\n  \"$schema\": \"" + schema + "\",\n  \"version\": \"" + sarifVersion + "\",\n  \"runs\": [\n    {\n      \"tool\": ")
	s.value(tool{Driver: d}, "      ")
	s.raw(",\n      \"invocations\": [\n        {\n          \"executionSuccessful\": true")
	if len(res.Errors) > 0 {
		s.raw(",\n          \"toolExecutionNotifications\": [")
		for i := range res.Errors {
			if i > 0 {
				s.raw(",")
			}
			e := &res.Errors[i]
			s.raw("\n            ")
			s.write(s.app.notification(s.buf[:0], e, s.uris.get(e.File)))
		}
		s.raw("\n          ]")
	}
	s.raw("\n        }\n      ],\n      \"results\": ")
	if len(res.Findings)+len(res.Suppressed) == 0 {
		s.raw("[]")
	} else {
		s.raw("[")
		s.results(res.Findings, &rules, false, true, opts.Baseline)
		s.results(res.Suppressed, &rules, true, len(res.Findings) == 0, nil)
		s.raw("\n      ]")
	}
	s.raw(",\n      \"columnKind\": \"unicodeCodePoints\"\n    }\n  ]\n}\n")
	if s.err != nil {
		return s.err
	}
	return bw.Flush()
}

// ruleIndex maps a check ID to the index of its rule, adding a rule for a
// check the result does not describe.
type ruleIndex struct {
	index map[string]int
	rules *[]rule
	// last and lastIndex spare the map look-up for a run of findings of
	// one check.
	last      string
	lastIndex int
	cached    bool
}

func (r *ruleIndex) of(f *check.Finding) int {
	if r.cached && f.Check == r.last {
		return r.lastIndex
	}
	i, ok := r.index[f.Check]
	if !ok {
		i = len(*r.rules)
		r.index[f.Check] = i
		*r.rules = append(*r.rules, newRule(check.Meta{ID: f.Check, Severity: f.Severity}))
	}
	r.last, r.lastIndex, r.cached = f.Check, i, true
	return i
}

// stream writes the log piece by piece.
type stream struct {
	w    *bufio.Writer
	buf  []byte
	app  appenders
	uris uriCache
	err  error
}

func (s *stream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// write writes b, which is s.buf grown, and keeps it for the next one.
func (s *stream) write(b []byte) {
	s.buf = b[:0]
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

// value writes v as encoding/json does at an indent of indent.
func (s *stream) value(v any, indent string) {
	if s.err != nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(indent, "  ")
	enc.SetEscapeHTML(false)
	if s.err = enc.Encode(v); s.err != nil {
		return
	}
	_, s.err = s.w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// results writes fs as elements of the results array, the first one
// without a leading comma when first is set; cmp, when set, gives each its
// baselineState by its index.
func (s *stream) results(fs []check.Finding, rules *ruleIndex, suppressed, first bool, cmp *baseline.Comparison) {
	for i := range fs {
		if s.err != nil {
			return
		}
		if i > 0 || !first {
			s.raw(",")
		}
		s.raw("\n        ")
		f := &fs[i]
		b := s.app.result(s.buf[:0], f, rules.of(f), s.uris.get(f.Location.File), suppressed)
		if state := cmp.Of(i).String(); state != "" {
			// The last member of the result, before its closing brace.
			b = append(append(b[:len(b)-len(resultEnd)], ",\n          \"baselineState\": \""+state+"\""...), resultEnd...)
		}
		s.write(b)
	}
}

// resultEnd closes a result, as appendResult writes it.
const resultEnd = "\n        }"

// uriCache remembers the artifact URI of the last file: findings come
// sorted by file, and a URI takes allocations to build.
type uriCache struct {
	file, uri string
	ok        bool
}

// get returns the URI of file, or "" for no file.
func (c *uriCache) get(file string) string {
	if file == "" {
		return ""
	}
	if !c.ok || file != c.file {
		c.file, c.uri, c.ok = file, artifactURI(file), true
	}
	return c.uri
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
	if c := m.FixCommand(); c != "" {
		text = append(text, "Automatic fix: "+c)
		md = append(md, "**Automatic fix:** `"+c+"`")
	}
	if len(m.References) > 0 {
		text = append(text, "References:\n- "+strings.Join(m.References, "\n- "))
		md = append(md, "**References:**\n\n- "+strings.Join(m.References, "\n- "))
	}
	return &help{Text: strings.Join(text, "\n\n"), Markdown: strings.Join(md, "\n\n")}
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
