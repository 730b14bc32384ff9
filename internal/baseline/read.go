package baseline

import (
	"bufio"
	"bytes"
	"context"
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

// jsonFinding is a finding of the JSON contract as read: only what a
// comparison needs, every other field (of this version or a later one)
// skipped.
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

// Load reads the baseline report at name, at most l.BaselineSize bytes,
// streaming: memory grows with its findings, not with its bytes. Only a
// regular file is read: a named pipe or a device is an error, never a
// read that blocks. A bad report's error names the file and the line and
// column where reading it failed. A cancelled ctx stops the reading.
func Load(ctx context.Context, name string, l limits.Limits) (*Report, error) {
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
	if info.Size() > l.BaselineSize {
		return nil, fmt.Errorf("reading baseline %s: %w", name, l.BaselineSizeExceeded())
	}
	lr := &limitedReader{r: bufio.NewReaderSize(f, 256<<10), n: l.BaselineSize}
	rep, err := decode(ctx, lr, name)
	if lr.over {
		// The file grew past the limit while it was read.
		return nil, fmt.Errorf("reading baseline %s: %w", name, l.BaselineSizeExceeded())
	}
	var pe *posError
	if errors.As(err, &pe) {
		// Where it failed, counted again from the start of the file.
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			return nil, pe.at(position(f, pe.off))
		}
		return nil, pe.at(fmt.Sprintf("offset %d", pe.off))
	}
	return rep, err
}

// Parse parses a baseline report held in memory; its errors are Load's.
// It accepts a report of any kubeharden version that has the documented
// findings array, and refuses anything else (a SARIF log, a truncated
// file).
func Parse(data []byte, name string) (*Report, error) {
	rep, err := decode(context.Background(), bytes.NewReader(data), name)
	var pe *posError
	if errors.As(err, &pe) {
		return nil, pe.at(position(bytes.NewReader(data), pe.off))
	}
	return rep, err
}

// limitedReader reads at most n bytes and says when there were more.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more tells a file at the limit from one past it.
		var b [1]byte
		if n, _ := l.r.Read(b[:]); n > 0 {
			l.over = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// posError is an error at a byte offset of the report, before the line
// and column are known.
type posError struct {
	name string
	off  int64
	what string
	err  error
}

func (e *posError) Error() string { return e.at(fmt.Sprintf("offset %d", e.off)).Error() }

func (e *posError) at(pos string) error {
	if e.err == nil {
		return fmt.Errorf("%s:%s: %s", e.name, pos, e.what)
	}
	return fmt.Errorf("%s:%s: %s: %w", e.name, pos, e.what, e.err)
}

// decode reads a report token by token: the top-level object's version
// and findings (one at a time), every other member skipped. Errors carry
// the offset where the failing value starts.
func decode(ctx context.Context, r io.Reader, name string) (*Report, error) {
	dec := json.NewDecoder(r)
	rep := &Report{Name: name}
	in := interner{}
	bad := func(off int64, err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &posError{name: name, off: off, what: "baseline is not valid JSON", err: err}
	}
	off := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, bad(off, err)
	}
	if tok != json.Delim('{') {
		return nil, &posError{name: name, off: off, what: fmt.Sprintf("baseline is not a kubeharden JSON report: the document is %s, want an object", tokenKind(tok))}
	}
	sawFindings := false
	for dec.More() {
		off = dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(off, err)
		}
		switch tok {
		case "version":
			off = dec.InputOffset()
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, bad(off, err)
			}
			if s, ok := v.(string); ok {
				rep.Version = s
			}
		case "findings":
			off = dec.InputOffset()
			tok, err := dec.Token()
			if err != nil {
				return nil, bad(off, err)
			}
			if tok == nil {
				continue // null: as if absent
			}
			if tok != json.Delim('[') {
				return nil, &posError{name: name, off: off, what: fmt.Sprintf("baseline is not a kubeharden JSON report: findings is %s, want an array", tokenKind(tok))}
			}
			sawFindings = true
			for i := 0; dec.More(); i++ {
				off = dec.InputOffset()
				if i%4096 == 0 && ctx.Err() != nil {
					return nil, fmt.Errorf("reading baseline %s: %w", name, ctx.Err())
				}
				if i == maxFindings {
					return nil, &posError{name: name, off: off, what: fmt.Sprintf("baseline has more than %d findings", maxFindings)}
				}
				var jf jsonFinding
				if err := dec.Decode(&jf); err != nil {
					var typ *json.UnmarshalTypeError
					if errors.As(err, &typ) {
						field := fmt.Sprintf("findings[%d]", i)
						if typ.Field != "" {
							field += "." + typ.Field
						}
						return nil, &posError{name: name, off: off, what: fmt.Sprintf("baseline is not a kubeharden JSON report: %s is a JSON %s, want %s",
							field, typ.Value, jsonKind(typ.Type))}
					}
					return nil, bad(off, fmt.Errorf("findings[%d]: %w", i, err))
				}
				f, err := in.finding(&jf)
				if err != nil {
					return nil, &posError{name: name, off: off, what: fmt.Sprintf("baseline findings[%d]", i), err: err}
				}
				rep.Findings = append(rep.Findings, f)
			}
			off = dec.InputOffset()
			if _, err := dec.Token(); err != nil {
				return nil, bad(off, err)
			}
		default:
			off = dec.InputOffset()
			if err := skip(dec); err != nil {
				return nil, bad(off, err)
			}
		}
	}
	off = dec.InputOffset()
	if _, err := dec.Token(); err != nil {
		return nil, bad(off, err)
	}
	off = dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("more after the report")
		}
		return nil, bad(off, err)
	}
	if !sawFindings {
		return nil, fmt.Errorf("%s: baseline is not a kubeharden JSON report (from kubeharden scan -o json): it has no findings array", name)
	}
	if rep.Findings == nil {
		rep.Findings = []check.Finding{}
	}
	return rep, nil
}

// MaxFindings bounds the findings of a baseline report. Memory grows
// with them: a report of findings with no message costs more than ten
// times its size in memory. A 100,000-object scan has about 600,000.
const MaxFindings = 4 << 20

// maxFindings is MaxFindings, lowered by tests.
var maxFindings = MaxFindings

// maxDepth bounds the nesting of a member skip reads past, as
// encoding/json bounds what it decodes: the decoder keeps a stack entry
// per open bracket, and a file of a billion "[" must not cost gigabytes.
const maxDepth = 10000

// skip reads past one value token by token, so that a large member this
// reader does not need (suppressed, fixed, images) is never held whole.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if depth++; depth > maxDepth {
				return fmt.Errorf("nested deeper than %d", maxDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// interner shares the strings and objects that repeat from finding to
// finding (check IDs, files, field paths, the object of a run of
// findings), so that a baseline of 600,000 findings holds each once.
type interner struct {
	strings map[string]string
	objects map[check.ObjectRef]*check.ObjectRef
}

func (in *interner) str(s string) string {
	if in.strings == nil {
		in.strings = map[string]string{}
	}
	if v, ok := in.strings[s]; ok {
		return v
	}
	in.strings[s] = s
	return s
}

func (in *interner) finding(jf *jsonFinding) (check.Finding, error) {
	if jf.Check == "" {
		return check.Finding{}, errors.New("has no check")
	}
	sev, err := check.ParseSeverity(jf.Severity)
	if err != nil {
		return check.Finding{}, err
	}
	f := check.Finding{
		Check: in.str(jf.Check), Severity: sev, Message: jf.Message, Path: in.str(jf.Path),
		Location: check.Location{File: in.str(jf.Location.File), Line: jf.Location.Line, Column: jf.Location.Column},
	}
	if o := jf.Object; o != nil {
		ref := check.ObjectRef{Kind: in.str(o.Kind), Name: o.Name, Namespace: in.str(o.Namespace), APIVersion: in.str(o.APIVersion), Origin: in.str(o.Origin)}
		if in.objects == nil {
			in.objects = map[check.ObjectRef]*check.ObjectRef{}
		}
		p, ok := in.objects[ref]
		if !ok {
			p = &ref
			in.objects[ref] = p
		}
		f.Object = p
	}
	return f, nil
}

// tokenKind names a JSON token's type as the contract does.
func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
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

// position returns the "line:column" (both from 1) in r of the value
// that starts after byte off: past the separators (space, comma, colon)
// that follow the last value read.
func position(r io.Reader, off int64) string {
	line, col := 1, 1
	br := bufio.NewReader(r)
	for n := int64(0); ; n++ {
		c, err := br.ReadByte()
		if err != nil || (n >= off && !bytes.ContainsRune([]byte(" \t\r\n,:"), rune(c))) {
			break
		}
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%d:%d", line, col)
}
