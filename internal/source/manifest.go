// Package source turns inputs (files, directories, stdin) into documents
// and documents into objects, keeping the file and line of every node.
package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// Error is an input error: a file that cannot be read or parsed, or an
// object the API server would reject. Line is 0 when unknown.
type Error struct {
	File    string
	Line    int
	Column  int
	Message string
	// Err is the cause, when the error came from one (a file system
	// error, a parser's), for errors.Is and errors.As; Message already
	// says it.
	Err error
}

// Unwrap returns the cause.
func (e Error) Unwrap() error { return e.Err }

func (e Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// Stdin is the input name that reads standard input.
const Stdin = "-"

// File is an input file found by Expand.
type File struct {
	Path string
	Kind Kind
	// Explicit is true when the user named the file, so that it is read
	// whatever its extension.
	Explicit bool
}

// Kind tells how an input is turned into documents.
type Kind int

// Input kinds. Charts and kustomizations are rendered, never read as raw
// YAML: their templates and patches are not objects.
const (
	Manifest Kind = iota
	HelmChart
	Kustomization
	// Dockerfile is a Dockerfile or Containerfile.
	Dockerfile
)

func (k Kind) String() string {
	switch k {
	case HelmChart:
		return "Helm chart"
	case Kustomization:
		return "kustomization"
	case Dockerfile:
		return "Dockerfile"
	}
	return "manifest"
}

// IsDockerfileName reports whether a file is read as a Dockerfile:
// Dockerfile, Containerfile, *.Dockerfile, Dockerfile.* (any case of the
// stem, as editors and build tools accept).
func IsDockerfileName(name string) bool {
	l := strings.ToLower(name)
	switch {
	case l == "dockerfile", l == "containerfile":
		return true
	case strings.HasSuffix(l, ".dockerfile"), strings.HasSuffix(l, ".containerfile"):
		return true
	case strings.HasPrefix(l, "dockerfile."), strings.HasPrefix(l, "containerfile."):
		return true
	}
	return false
}

// kustomizationNames are the file names that make a directory a
// kustomization, as kustomize looks them up.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// dirKind tells whether a directory is a Helm chart or a kustomization.
func dirKind(dir string) (Kind, bool) {
	if fileExists(filepath.Join(dir, "Chart.yaml")) {
		return HelmChart, true
	}
	for _, n := range kustomizationNames {
		if fileExists(filepath.Join(dir, n)) {
			return Kustomization, true
		}
	}
	return Manifest, false
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// isChartArchive reports whether a file is a packaged chart.
func isChartArchive(name string) bool {
	return strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz")
}

// IsManifestName reports whether a file found in a directory is read as
// Kubernetes YAML or JSON.
func IsManifestName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Expand turns the user's inputs into files: directories are walked
// recursively (hidden directories skipped), excluded globs dropped. Files
// are returned in a stable order. Inputs that do not exist are errors;
// the rest is still returned.
func Expand(inputs, exclude []string) ([]File, []Error) {
	var files []File
	var errs []Error
	seen := map[string]bool{}
	add := func(f File) {
		if !seen[f.Path] {
			seen[f.Path] = true
			files = append(files, f)
		}
	}
	for _, in := range inputs {
		if in == Stdin {
			add(File{Path: Stdin, Explicit: true})
			continue
		}
		info, err := os.Stat(in)
		if err != nil {
			errs = append(errs, Error{File: in, Message: DescribeFSError(err), Err: err})
			continue
		}
		if !info.IsDir() {
			if !excluded(in, exclude) {
				kind := Manifest
				switch base := filepath.Base(in); {
				case isChartArchive(in):
					kind = HelmChart
				case IsDockerfileName(base) && !IsManifestName(base):
					kind = Dockerfile
				}
				add(File{Path: in, Kind: kind, Explicit: true})
			}
			continue
		}
		if kind, ok := dirKind(in); ok {
			add(File{Path: in, Kind: kind, Explicit: true})
			continue
		}
		var found []File
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, Error{File: p, Message: DescribeFSError(err), Err: err})
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if p != in && strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				if p != in && excluded(p, exclude) {
					return filepath.SkipDir
				}
				// A chart or kustomization inside the tree is rendered as a
				// whole; its templates are never read as raw YAML.
				if kind, ok := dirKind(p); ok && p != in {
					found = append(found, File{Path: p, Kind: kind})
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(name, ".") || excluded(p, exclude) {
				return nil
			}
			if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			switch {
			case IsManifestName(name):
				found = append(found, File{Path: p})
			case IsDockerfileName(name):
				found = append(found, File{Path: p, Kind: Dockerfile})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, Error{File: in, Message: DescribeFSError(err), Err: err})
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
		for _, f := range found {
			add(f)
		}
	}
	return files, errs
}

// excluded matches p against --exclude globs: a glob matches the whole path,
// any suffix of it that starts at a directory boundary, or the base name.
// `**` matches any number of directories.
func excluded(p string, globs []string) bool {
	if len(globs) == 0 {
		return false
	}
	p = filepath.ToSlash(filepath.Clean(p))
	for _, g := range globs {
		if ok, _ := matchGlob(g, p, true); ok {
			return true
		}
	}
	return false
}

// DescribeFSError words a filesystem error without repeating the path,
// which the caller names.
func DescribeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

// Open opens a file, or stdin for "-" (which Close leaves open).
func Open(f File, stdin io.Reader) (io.ReadCloser, error) {
	if f.Path == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.NopCloser(stdin), nil
	}
	rc, err := os.Open(f.Path)
	if err != nil {
		return nil, errors.New(DescribeFSError(err))
	}
	return rc, nil
}

// Document is one YAML or JSON document of a file, or one rendered by a
// chart or a kustomization.
type Document struct {
	// File is where findings point: the file itself, the template a Helm
	// document came from, or the resource file of a kustomization.
	File string
	// Origin says what rendered the document ("" for plain files), so that
	// a reader knows lines may refer to the rendered output.
	Origin string
	// Locate, when set, maps a field path of a rendered object to its
	// place in the original file; ok is false when it cannot.
	Locate func(path string) (line, col int, ok bool)
	// Index is the document's position in its file, from 0.
	Index int
	// LineOffset is the number of lines of the file before Data.
	LineOffset int
	Data       []byte
	// parts, set by SplitBatches, are the documents of a batch after its
	// first: each starts with a `---` line.
	parts []part
}

// part is a document of a batch: its byte offset and line in Data.
type part struct{ off, line int }

// BatchBytes is how much YAML SplitBatches puts in one batch: enough
// documents that setting up a decoder costs little next to parsing them,
// few enough that the workers of a scan share a single file evenly.
const BatchBytes = 32 << 10

// Split cuts a file into its documents without parsing them; see
// SplitReader.
func Split(file string, data []byte) ([]Document, []Error) {
	var docs []Document
	errs := SplitReader(file, bytes.NewReader(data), func(d Document) { docs = append(docs, d) })
	return docs, errs
}

// SplitReader cuts a file into its documents without parsing them, so that
// the documents of one large file can be parsed in parallel while the file
// is still being read, and no file is ever held whole. A line that starts
// with `---` (followed by a blank, or alone) always starts a new document in
// YAML, even inside what looks like a block scalar, so the cut is exact.
// JSON files (and YAML files that are a JSON stream) are cut with a JSON
// decoder instead. Each document owns its bytes.
func SplitReader(file string, r io.Reader, emit func(Document)) []Error {
	return split(file, r, 0, emit)
}

// SplitBatches is SplitReader for a scan: consecutive YAML documents of
// the file are handed out together, up to BatchBytes, and Parse reads the
// documents of a batch with one YAML decoder. Setting a decoder up costs
// about as much as parsing a small document. Index and LineOffset are
// those of the batch's first document. JSON documents are never batched.
func SplitBatches(file string, r io.Reader, emit func(Document)) []Error {
	return split(file, r, BatchBytes, emit)
}

// split is SplitReader, which batches YAML documents up to batch bytes
// when batch is not 0.
func split(file string, r io.Reader, batch int, emit func(Document)) []Error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8000)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return []Error{{File: file, Message: "cannot read: " + err.Error(), Err: err}}
	}
	if isBinary(head, len(head) < 8000) {
		return []Error{{File: file, Line: 1, Message: "not a text file (binary content)"}}
	}
	if first := firstNonSpace(head); first == '{' || first == '[' {
		data, err := io.ReadAll(br)
		if err != nil {
			return []Error{{File: file, Message: "cannot read: " + err.Error(), Err: err}}
		}
		if docs, ok := splitJSON(file, data); ok {
			for _, d := range docs {
				emit(d)
			}
			return nil
		}
		// Not a JSON stream after all (YAML flow style): cut as YAML.
		br = bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	}
	// cur collects the current document in a buffer reused across
	// documents; each document gets an exact-size copy of it.
	var cur []byte
	var parts []part
	flush := func() []byte {
		d := make([]byte, len(cur))
		copy(d, cur)
		cur = cur[:0]
		return d
	}
	// index counts documents, batched or not; startLine and startIndex
	// are those of the document or batch in cur.
	index, startIndex, startLine, line := 0, 0, 0, 0
	for {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: collect it whole.
			long := append([]byte(nil), l...)
			for errors.Is(err, bufio.ErrBufferFull) {
				l, err = br.ReadSlice('\n')
				long = append(long, l...)
			}
			l = long
		}
		if len(l) > 0 {
			if len(cur) > 0 && isDocStart(l) {
				index++
				if len(cur) < batch {
					parts = append(parts, part{off: len(cur), line: line - startLine})
				} else {
					emit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(), parts: parts})
					parts = nil
					startIndex, startLine = index, line
				}
			}
			cur = append(cur, l...)
			line += 1 + loneCRs(l)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return []Error{{File: file, Line: line + 1, Message: "cannot read: " + err.Error(), Err: err}}
		}
	}
	if len(cur) > 0 || index == 0 {
		emit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(), parts: parts})
	}
	return nil
}

// loneCRs counts carriage returns not followed by a newline: YAML counts
// each as a line break, so line numbers must too.
func loneCRs(b []byte) int {
	n := 0
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		if i+1 == len(b) || b[i+1] != '\n' {
			n++
		}
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return n
}

// LineBreaks counts the line breaks of b as YAML does (LF, CRLF, lone CR).
func LineBreaks(b []byte) int { return bytes.Count(b, []byte("\n")) + loneCRs(b) }

func isDocStart(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r'
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// isBinary looks at the head of a file; whole tells whether head is the
// whole file, or was cut (possibly inside a UTF-8 rune).
func isBinary(head []byte, whole bool) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	for i := 0; i < 4 && !whole && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return !utf8.Valid(head)
}

// splitJSON cuts a stream of JSON values; ok is false when the data is not
// JSON at all, so the caller can read it as YAML.
func splitJSON(file string, data []byte) ([]Document, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []Document
	prevEnd := 0
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			if len(docs) == 0 {
				return nil, false
			}
			// A broken value after good ones: hand the rest to the YAML parser,
			// which reports the error with its line.
			off := prevEnd
			rest := data[off:]
			docs = append(docs, Document{File: file, Index: len(docs), LineOffset: LineBreaks(data[:off]), Data: rest})
			return docs, true
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		// Keep the document's own line start so columns stay right, unless
		// the previous document ends on the same line.
		ls := max(bytes.LastIndexByte(data[:start], '\n')+1, prevEnd)
		docs = append(docs, Document{File: file, Index: len(docs), LineOffset: LineBreaks(data[:ls]), Data: data[ls:end]})
		prevEnd = end
	}
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// Parse reads the objects of a document. List kinds are expanded into
// their items. A document that is not a Kubernetes object yields nothing and
// no error; skipped tells why, for -v. Split leaves one document per chunk,
// but a chunk can still hold several (after a `...` end marker, or with
// lone-CR line ends), so all are read.
func Parse(d Document) (objs []*object.Object, errs []Error, skipped string) {
	if len(d.parts) > 0 {
		if objs, errs, skipped, ok := parseBatch(d); ok {
			return objs, errs, skipped
		}
		return parseParts(d)
	}
	dec := yaml.NewDecoder(bytes.NewReader(d.Data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return objs, errs, skipped
		}
		if err != nil {
			return objs, append(errs, yamlError(d, err)), skipped
		}
		o, e, s := parseNode(d, &root)
		objs, errs = append(objs, o...), append(errs, e...)
		if s != "" {
			skipped = s
		}
	}
}

// parseBatch reads the documents of a batch with one decoder. It gives up
// (ok false), and the caller reads them one by one, on anything that one
// decoder could read differently from separate ones: a YAML error (whose
// line is found on its own document), anchors and aliases (an alias
// resolves across the documents of a stream), a directive, or a document
// start that the decoder did not see where the split cut.
func parseBatch(d Document) (objs []*object.Object, errs []Error, skipped string, ok bool) {
	if d.Data[0] == '%' || bytes.Contains(d.Data, []byte("\n%")) {
		return nil, nil, "", false
	}
	// Without both characters there is no alias; with them, usually a
	// shell command's && and a glob.
	aliases := bytes.IndexByte(d.Data, '&') >= 0 && bytes.IndexByte(d.Data, '*') >= 0
	dec := yaml.NewDecoder(bytes.NewReader(d.Data))
	next := 0 // the next part whose document has not been seen
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || aliases && hasAlias(&root, 0) {
			return nil, nil, "", false
		}
		// A document of a part starts at its `---` line.
		if line := root.Line - 1; next < len(d.parts) && line >= d.parts[next].line {
			if line != d.parts[next].line {
				return nil, nil, "", false
			}
			next++
		}
		// Node lines count from the batch's first line, as LineOffset does.
		o, e, s := parseNode(d, &root)
		objs, errs = append(objs, o...), append(errs, e...)
		if s != "" {
			skipped = s
		}
	}
	return objs, errs, skipped, next == len(d.parts)
}

// hasAlias reports whether the tree below n holds an alias (or is too
// deep to tell).
func hasAlias(n *yaml.Node, depth int) bool {
	if n.Kind == yaml.AliasNode || depth > 10000 {
		return true
	}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode && hasAlias(c, depth+1) {
			return true
		}
	}
	return false
}

// parseParts reads the documents of a batch one by one.
func parseParts(d Document) (objs []*object.Object, errs []Error, skipped string) {
	for i := -1; i < len(d.parts); i++ {
		start, end, line := 0, len(d.Data), 0
		if i >= 0 {
			start, line = d.parts[i].off, d.parts[i].line
		}
		if i+1 < len(d.parts) {
			end = d.parts[i+1].off
		}
		sub := Document{File: d.File, Origin: d.Origin, Locate: d.Locate, Index: d.Index + i + 1,
			LineOffset: d.LineOffset + line, Data: d.Data[start:end]}
		o, e, s := Parse(sub)
		objs, errs = append(objs, o...), append(errs, e...)
		if s != "" {
			skipped = s
		}
	}
	return objs, errs, skipped
}

func parseNode(d Document, root *yaml.Node) (objs []*object.Object, errs []Error, skipped string) {
	n := object.Resolve(root)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil, ""
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, "document is not a mapping"
	}
	if dup := DuplicateKey(n, 0); dup != nil {
		errs = append(errs, Error{File: d.File, Line: dup.Line + d.LineOffset, Column: dup.Column,
			Message: fmt.Sprintf("mapping key %q already defined", dup.Value)})
	}
	o, ok := object.New(n, d.File, d.LineOffset)
	if !ok {
		return nil, errs, "not a Kubernetes object (no apiVersion or kind)"
	}
	o.Origin, o.Locate = d.Origin, d.Locate
	if !o.IsList() {
		return []*object.Object{o}, missingPodSpec(d, o, errs), ""
	}
	for i, it := range o.Items() {
		item, ok := object.New(it, d.File, d.LineOffset)
		if !ok {
			line := it.Line + d.LineOffset
			errs = append(errs, Error{File: d.File, Line: line, Column: it.Column,
				Message: "items[" + strconv.Itoa(i) + "] of " + o.Kind + " is not a Kubernetes object (no apiVersion or kind)"})
			continue
		}
		item.Origin = d.Origin
		objs = append(objs, item)
		errs = missingPodSpec(d, item, errs)
	}
	return objs, errs, ""
}

// missingPodSpec appends the error of a workload without a pod spec, which
// no check sees (the errors of a pod spec are the engine's to report).
func missingPodSpec(d Document, o *object.Object, errs []Error) []Error {
	if fe, ok := o.MissingPodSpec(); ok {
		line, col := o.Pos(fe.Ref)
		errs = append(errs, Error{File: d.File, Line: line, Column: col, Message: fe.Message})
	}
	return errs
}

// parserProblems are the messages yaml.v3 reports from its parser rather
// than its scanner; only these carry a 0-based line.
var parserProblems = map[string]bool{
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
}

func yamlError(d Document, err error) Error {
	msg := err.Error()
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if parserProblems[msg] {
			// yaml.v3 prints parser errors with a 0-based line (the line
			// where the unfinished block or flow collection started).
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if line == 0 {
		// yaml.v3 leaves the line out for errors found at the end of input.
		line = max(LineBreaks(bytes.TrimRight(d.Data, "\r\n")), 0) + 1
	}
	line = min(line, LineBreaks(d.Data)+1)
	return Error{File: d.File, Line: line + d.LineOffset, Message: "invalid YAML: " + msg}
}

// DuplicateKey returns the first repeated key of any mapping below n:
// kubectl refuses such documents, and which value wins is unclear.
func DuplicateKey(n *yaml.Node, depth int) *yaml.Node {
	if n == nil || depth > 100 {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		c := n.Content
		if len(c) <= 16 {
			for i := 0; i+1 < len(c); i += 2 {
				for j := i + 2; j+1 < len(c); j += 2 {
					if c[i].Value == c[j].Value && c[i].Kind == yaml.ScalarNode && c[j].Kind == yaml.ScalarNode && c[i].Value != "<<" {
						return c[j]
					}
				}
			}
		} else {
			seen := make(map[string]struct{}, len(c)/2)
			for i := 0; i+1 < len(c); i += 2 {
				if c[i].Kind != yaml.ScalarNode || c[i].Value == "<<" {
					continue
				}
				if _, ok := seen[c[i].Value]; ok {
					return c[i]
				}
				seen[c[i].Value] = struct{}{}
			}
		}
		for i := 1; i < len(c); i += 2 {
			if d := DuplicateKey(c[i], depth+1); d != nil {
				return d
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, it := range n.Content {
			if d := DuplicateKey(it, depth+1); d != nil {
				return d
			}
		}
	}
	return nil
}
