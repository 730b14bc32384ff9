// Package fix rewrites Kubernetes manifests so that the fixable checks no
// longer find anything, with the smallest diff: only documents that change
// are edited, line by line where possible (see splice.go) and otherwise
// re-serialized in the indentation they were written in, and spliced back
// between the untouched bytes of the others.
package fix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

// DefaultID is the UID and GID set when Options leave them zero: a high
// number no host user or group has (seed 003 uses the 40000-60000 range).
const DefaultID = 50000

// Options configure a fix run.
type Options struct {
	// UID and GID are set where runAsUser, runAsGroup and fsGroup are
	// missing or low; zero means DefaultID.
	UID, GID int64
	// MinUID and MinGID are the lowest IDs the checks accept (parameters
	// minUID and minGID); a lower value is replaced. Zero means 10000.
	MinUID, MinGID int64
	// MaxUID and MaxGID, when positive, are the highest IDs the checks
	// accept (parameters maxUID and maxGID).
	MaxUID, MaxGID int64
	// Checks limits the fixes to these check IDs; nil means every fixable
	// check.
	Checks map[string]bool
	// Exempt reports whether a check is exempted for an object by the
	// configuration; nil exempts nothing. Suppression annotations are
	// honoured without it.
	Exempt func(check string, o *object.Object) bool
	// Resolve returns the digest ("sha256:...") of an image reference, for
	// the image-digest and dockerfile-base-digest fixes; nil leaves image
	// references alone.
	Resolve func(ref string) (string, error)
	// Resources are the requests and limits written by the
	// resources-requests and resources-limits fixes; nil leaves resources
	// alone (values cannot be guessed).
	Resources *Resources
	// Skip is called for each finding a fixer saw and left alone; nil
	// drops them.
	Skip func(Skipped)
}

// Resources are the default requests and limits the --resources fix
// writes, each marked with a comment saying to tune it. An empty value is
// not written.
type Resources struct {
	RequestsCPU, RequestsMemory string
	LimitsCPU, LimitsMemory     string
}

// Skipped is a finding a fixer saw and left alone, and why: no safe
// rewrite exists, or a value it needs is missing.
type Skipped struct {
	Check string
	// Object is Kind/namespace/name, or the Dockerfile stage.
	Object string
	// Line is the 1-based line in the file, 0 when unknown.
	Line   int
	Reason string
}

// Applied is one change made to a manifest.
type Applied struct {
	Check string
	// Object is Kind/namespace/name.
	Object string
	// Path is the field that was changed or added.
	Path string
	// Risky changes may break the workload and need a test run (a
	// read-only root filesystem, a token the application may use).
	Risky bool
}

// Fixable lists the check IDs this package fixes.
var Fixable = []string{
	"run-as-non-root", "run-as-high-uid", "run-as-high-gid", "fs-group",
	"allow-privilege-escalation", "privileged-container", "read-only-root-filesystem",
	"automount-service-account-token", "capabilities-drop-all", "seccomp-profile", "apparmor-profile",
	"resources-requests", "resources-limits", "image-digest",
}

// withDefaults fills the zero values the Options document.
func (o Options) withDefaults() Options {
	if o.UID == 0 {
		o.UID = DefaultID
	}
	if o.GID == 0 {
		o.GID = DefaultID
	}
	if o.MinUID == 0 {
		o.MinUID = minID
	}
	if o.MinGID == 0 {
		o.MinGID = minID
	}
	return o
}

// Manifest fixes every object with a pod spec in data, a YAML file of one
// or more documents. Documents that need no change keep their bytes. A
// document that does not parse is an error, and nothing is returned.
func Manifest(data []byte, opts Options) (out []byte, applied []Applied, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, applied, err = nil, nil, fmt.Errorf("cannot fix: %v", r)
		}
	}()
	docs, errs := source.Split("", data)
	if len(errs) > 0 {
		return nil, nil, errors.New(strings.TrimPrefix(errs[0].Error(), ": "))
	}
	results := make([]docResult, len(docs))
	fixAll(docs, opts, results)
	var buf bytes.Buffer
	buf.Grow(len(data))
	for _, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		buf.Write(r.out)
		applied = append(applied, r.applied...)
		if opts.Skip != nil {
			for _, s := range r.skipped {
				opts.Skip(s)
			}
		}
	}
	if len(applied) == 0 {
		return data, nil, nil
	}
	return buf.Bytes(), applied, nil
}

// docResult is the outcome of fixing one document.
type docResult struct {
	out     []byte
	applied []Applied
	skipped []Skipped
	err     error
}

// parallelDocs is the document count from which a file's documents are
// fixed on every core: they are independent, and parsing dominates.
const parallelDocs = 64

// fixAll fixes docs into results, in parallel for a large file. A panic
// in a worker becomes that document's error.
func fixAll(docs []source.Document, opts Options, results []docResult) {
	one := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				results[i] = docResult{err: fmt.Errorf("cannot fix: %v", r)}
			}
		}()
		r := &results[i]
		r.out, r.applied, r.skipped, r.err = document(docs[i], opts)
	}
	workers := runtime.GOMAXPROCS(0)
	if len(docs) < parallelDocs || workers < 2 {
		for i := range docs {
			one(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(docs) {
					return
				}
				one(i)
			}
		})
	}
	wg.Wait()
}

// document fixes one document chunk and returns its new bytes, or its
// original bytes when nothing changed.
func document(d source.Document, opts Options) ([]byte, []Applied, []Skipped, error) {
	dec := yaml.NewDecoder(bytes.NewReader(d.Data))
	var roots []*yaml.Node
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The loader's error names the line in the file.
			if _, errs, _ := source.Parse(d); len(errs) > 0 && errs[0].Line > 0 {
				return nil, nil, nil, fmt.Errorf("line %d: %s", errs[0].Line, errs[0].Message)
			}
			return nil, nil, nil, fmt.Errorf("line %d: invalid YAML: %w", d.LineOffset+1, err)
		}
		roots = append(roots, &root)
	}
	if len(roots) != 1 {
		// Empty, or several documents in one chunk (after a `...` end
		// marker): left as written.
		return d.Data, nil, nil, nil
	}
	if dup := source.DuplicateKey(roots[0], 0); dup != nil {
		// The scanner and kubectl refuse it, and a fix might edit the
		// value that does not take effect.
		return nil, nil, nil, fmt.Errorf("line %d: mapping key %q already defined", dup.Line+d.LineOffset, dup.Value)
	}
	f := &fixer{opts: opts.withDefaults(), lineOffset: d.LineOffset}
	n := object.Resolve(roots[0])
	o, ok := object.New(n, "", 0)
	if !ok {
		return d.Data, nil, nil, nil
	}
	objs := []*object.Object{o}
	if o.IsList() {
		objs = nil
		for _, it := range o.Items() {
			if item, ok := object.New(it, "", 0); ok {
				objs = append(objs, item)
			}
		}
	}
	// Only objects with a pod spec are fixed.
	if !slices.ContainsFunc(objs, func(o *object.Object) bool { return o.PodSpec() != nil }) {
		return d.Data, nil, nil, nil
	}
	// The tree as parsed, for the splicer to compare the fixed tree with.
	pristine := clone(roots[0])
	for _, o := range objs {
		f.object(o)
	}
	if len(f.applied) == 0 {
		return d.Data, nil, f.skipped, nil
	}
	if out, err := splice(d.Data, pristine, roots[0]); err == nil {
		return out, f.applied, f.skipped, nil
	}
	out, err := encode(d.Data, roots[0])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("line %d: %w", d.LineOffset+1, err)
	}
	return out, f.applied, f.skipped, nil
}

// style is how a document was written.
type style struct {
	indent int
	// compact is true for sequences at the indentation of their key
	// ("containers:\n- name: a"), kubectl's style.
	compact bool
	crlf    bool
}

// detect reads a document's indentation and sequence style from its lines.
func detect(data []byte) style {
	s := style{indent: 2, compact: true, crlf: bytes.Contains(data, []byte("\r\n"))}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	minIndent, seqSeen := 0, false
	prevKeyIndent := -1
	for _, l := range lines {
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := len(l) - len(t)
		if ind > 0 && !strings.HasPrefix(t, "- ") && t != "-" && (minIndent == 0 || ind < minIndent) {
			minIndent = ind
		}
		if (strings.HasPrefix(t, "- ") || t == "-") && prevKeyIndent >= 0 && !seqSeen {
			seqSeen = true
			s.compact = ind == prevKeyIndent
		}
		prevKeyIndent = -1
		if strings.HasSuffix(t, ":") && !strings.HasPrefix(t, "- ") {
			prevKeyIndent = ind
		}
	}
	if minIndent == 4 {
		s.indent = 4
	}
	return s
}

// encode serializes a changed document in the style of its original bytes,
// keeping a leading `---` line and a missing final newline, and refuses
// when a comment of the original would be lost.
func encode(orig []byte, root *yaml.Node) ([]byte, error) {
	st := detect(orig)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(st.indent)
	if st.compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	var out []byte
	if first, _, _ := bytes.Cut(orig, []byte("\n")); bytes.HasPrefix(first, []byte("---")) {
		out = append(out, first...)
		out = append(out, '\n')
		if bytes.HasPrefix(body, []byte("---\n")) {
			body = body[4:]
		}
	}
	out = append(out, body...)
	if !bytes.HasSuffix(orig, []byte("\n")) {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	if st.crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	if c := lostComment(orig, out); c != "" {
		return nil, fmt.Errorf("cannot rewrite the document without losing the comment %q", c)
	}
	return out, nil
}

// lostComment returns a comment of orig that out no longer has.
func lostComment(orig, out []byte) string {
	for _, l := range strings.Split(string(orig), "\n") {
		i := strings.Index(l, "#")
		if i < 0 {
			continue
		}
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") && !bytes.Contains(out, []byte(strings.TrimSpace(l[i:]))) {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}
