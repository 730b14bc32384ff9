package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"syscall"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// Report is the part of a kubeharden JSON report (docs/output.md) a
// comparison needs.
type Report struct {
	// Name is the report's file as given.
	Name string
	// Version is the kubeharden version that wrote it.
	Version string
	// Findings are its counted findings, in its order.
	Findings []check.Finding
}

// jsonReport is the JSON contract as read: only what a comparison needs,
// every other field (of this version or a later one) ignored.
type jsonReport struct {
	Version  string         `json:"version"`
	Findings *[]jsonFinding `json:"findings"`
}

type jsonFinding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Object   *struct {
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		Namespace  string `json:"namespace"`
		APIVersion string `json:"apiVersion"`
		Origin     string `json:"origin"`
	} `json:"object"`
	Location struct {
		File   string `json:"file"`
		Line   int    `json:"line"`
		Column int    `json:"column"`
	} `json:"location"`
	Path string `json:"path"`
}

// Load reads the baseline report at name, at most l.InputSize bytes. Only
// a regular file is read: a named pipe or a device is an error, never a
// read that blocks.
func Load(name string, l limits.Limits) (*Report, error) {
	l = l.WithDefaults()
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	defer f.Close() //nolint:errcheck // read only
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading baseline %s: not a regular file", name)
	}
	if info.Size() > l.InputSize {
		return nil, fmt.Errorf("reading baseline %s: %w", name, l.InputSizeExceeded())
	}
	return Read(f, name, l.InputSize)
}

// Read parses a baseline report of at most maxSize bytes from r; name
// names it in errors, which give the line and column of bad JSON.
func Read(r io.Reader, name string, maxSize int64) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading baseline %s: %w", name, err)
	}
	if int64(len(data)) > maxSize {
		lim := limits.Limits{InputSize: maxSize}
		return nil, fmt.Errorf("reading baseline %s: %w", name, lim.InputSizeExceeded())
	}
	return Parse(data, name)
}

// Parse parses a baseline report. It accepts a report of any kubeharden
// version that has the documented findings array; it refuses anything
// else (a SARIF log, a truncated file) with an error naming the file and,
// for bad JSON, the line and column.
func Parse(data []byte, name string) (*Report, error) {
	var doc jsonReport
	if err := json.Unmarshal(data, &doc); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("%s:%s: baseline is not valid JSON: %w", name, position(data, syn.Offset), err)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("%s:%s: baseline is not a kubeharden JSON report: %s is a JSON %s, want %s",
				name, position(data, typ.Offset), fieldName(typ.Field), typ.Value, jsonKind(typ.Type))
		}
		return nil, fmt.Errorf("%s: baseline is not valid JSON: %w", name, err)
	}
	if doc.Findings == nil {
		return nil, fmt.Errorf("%s: baseline is not a kubeharden JSON report (from kubeharden scan -o json): it has no findings array", name)
	}
	rep := &Report{Name: name, Version: doc.Version, Findings: make([]check.Finding, 0, len(*doc.Findings))}
	for i, jf := range *doc.Findings {
		if jf.Check == "" {
			return nil, fmt.Errorf("%s: baseline findings[%d] has no check", name, i)
		}
		sev, err := check.ParseSeverity(jf.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: baseline findings[%d]: %w", name, i, err)
		}
		f := check.Finding{
			Check: jf.Check, Severity: sev, Message: jf.Message, Path: jf.Path,
			Location: check.Location{File: jf.Location.File, Line: jf.Location.Line, Column: jf.Location.Column},
		}
		if o := jf.Object; o != nil {
			f.Object = &check.ObjectRef{Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, APIVersion: o.APIVersion, Origin: o.Origin}
		}
		rep.Findings = append(rep.Findings, f)
	}
	return rep, nil
}

// jsonKind names what a Go type reads from, as the JSON contract does.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

func fieldName(f string) string {
	if f == "" {
		return "the document"
	}
	return f
}

// position turns the offset encoding/json reports, just past the bad
// byte, into the "line:column" (both from 1) of that byte, or of the end
// of data when the input ended too soon.
func position(data []byte, off int64) string {
	if off < int64(len(data)) {
		off--
	}
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%d:%d", line, col)
}
