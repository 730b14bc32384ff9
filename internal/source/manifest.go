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
	"syscall"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/limits"
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

// ErrCoverageGap marks an input error that is a gap in what a source could
// read (a kind the credentials may not list), not a broken input: it is
// reported, on stderr and in the report, but does not fail the run.
var ErrCoverageGap = errors.New("coverage gap")

// Gap reports whether e is a coverage gap.
func (e Error) Gap() bool { return errors.Is(e.Err, ErrCoverageGap) }

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
		if !info.IsDir() && !info.Mode().IsRegular() {
			errs = append(errs, notRegular(in, info.Mode()))
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
			kind := Manifest
			switch {
			case IsManifestName(name):
			case IsDockerfileName(name):
				kind = Dockerfile
			default:
				return nil
			}
			// Only regular files are read: a named pipe would block the
			// walk, a device never end. A link is judged by its target; a
			// link to a directory is not followed, as WalkDir does not.
			mode := d.Type()
			if mode&fs.ModeSymlink != 0 {
				info, err := os.Stat(p)
				if err != nil {
					errs = append(errs, Error{File: p, Message: DescribeFSError(err), Err: err})
					return nil
				}
				if mode = info.Mode(); mode.IsDir() {
					return nil
				}
			}
			if !mode.IsRegular() {
				errs = append(errs, notRegular(p, mode))
				return nil
			}
			found = append(found, File{Path: p, Kind: kind})
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

// ErrNotRegular is the cause of the input error of a named pipe, socket
// or device named as an input: only regular files (and standard input,
// "-") are read, since opening a pipe blocks until a writer comes and a
// device may never end.
var ErrNotRegular = errors.New("not a regular file")

// notRegular is the input error of a file that is not a regular file.
func notRegular(p string, mode fs.FileMode) Error {
	what := "a special file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	case mode.IsDir():
		what = "a directory"
	}
	return Error{File: p, Message: "not a regular file (" + what + "): only regular files are read, and - for standard input", Err: ErrNotRegular}
}

// Open opens a file, or stdin for "-" (which Close leaves open). Only a
// regular file is opened: the mode is checked before opening, and again
// on the open file, which is opened without blocking so that a file
// swapped for a named pipe in between cannot hang the run.
func Open(f File, stdin io.Reader) (io.ReadCloser, error) {
	if f.Path == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.NopCloser(stdin), nil
	}
	if info, err := os.Stat(f.Path); err != nil {
		return nil, wordedError{DescribeFSError(err), err}
	} else if !info.Mode().IsRegular() {
		return nil, wordedError{notRegular(f.Path, info.Mode()).Message, ErrNotRegular}
	}
	file, err := os.OpenFile(f.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, wordedError{DescribeFSError(err), err}
	}
	info, err := file.Stat()
	if err != nil {
		err = wordedError{DescribeFSError(err), err}
	} else if !info.Mode().IsRegular() {
		err = wordedError{notRegular(f.Path, info.Mode()).Message, ErrNotRegular}
	}
	if err != nil {
		file.Close() //nolint:errcheck,gosec // read-only, and already failing
		return nil, err
	}
	return file, nil
}

// wordedError is an error worded for a reader who knows the file already,
// keeping its cause for errors.Is.
type wordedError struct {
	msg string
	err error
}

func (e wordedError) Error() string { return e.msg }
func (e wordedError) Unwrap() error { return e.err }

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
	// Tracer, when set, maps the lines of a rendered template's output
	// back to the template (Helm).
	Tracer object.Tracer
	// Index is the document's position in its file, from 0.
	Index int
	// LineOffset is the number of lines of the file before Data.
	LineOffset int
	Data       []byte
	// parts, set by SplitBatches, are the documents of a batch after its
	// first: each starts with a `---` line.
	parts []part
	// maxNodes bounds the nodes of each document, aliases expanded; 0
	// means the default.
	maxNodes int
}

// part is a document of a batch: its byte offset and line in Data.
type part struct{ off, line int }

// BatchBytes is how much YAML SplitBatches puts in one batch: enough
// documents that setting up a decoder costs little next to parsing them,
// few enough that the workers of a scan share a single file evenly.
const BatchBytes = 32 << 10

// Split cuts a file into its documents without parsing them, under the
// default limits; see SplitReader.
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
// JSON files (and YAML files that are a JSON stream) are cut by their
// brackets instead. Each document owns its bytes. The default limits
// apply; see SplitLimited.
func SplitReader(file string, r io.Reader, emit func(Document)) []Error {
	return split(file, r, 0, limits.Default(), emit)
}

// SplitLimited is SplitReader under the limits l: a document past
// l.DocumentSize is an input error naming its first line, and the
// documents after it are still read; past l.InputSize, reading stops with
// an input error; and Parse refuses a document of more than l.YAMLNodes
// nodes. Memory is bounded by the document size, whatever the input's.
func SplitLimited(file string, r io.Reader, l limits.Limits, emit func(Document)) []Error {
	return split(file, r, 0, l.WithDefaults(), emit)
}

// SplitBatches is SplitLimited for a scan: consecutive YAML documents of
// the file are handed out together, up to BatchBytes, and Parse reads the
// documents of a batch with one YAML decoder. Setting a decoder up costs
// about as much as parsing a small document. Index and LineOffset are
// those of the batch's first document. JSON documents are never batched.
func SplitBatches(file string, r io.Reader, l limits.Limits, emit func(Document)) []Error {
	return split(file, r, BatchBytes, l.WithDefaults(), emit)
}

// inputLimiter reads at most n bytes of r; past them, Read fails with
// err, so that an endless input (a huge file, standard input) stops.
type inputLimiter struct {
	r    io.Reader
	left int64
	err  error
}

func (l *inputLimiter) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n, l.left = int(l.left), -1
		return n, l.err
	}
	l.left -= int64(n)
	return n, err
}

// LimitInput bounds r to the input size limit of l: reading past it
// fails with l.InputSizeExceeded().
func LimitInput(r io.Reader, l limits.Limits) io.Reader {
	return &inputLimiter{r: r, left: l.WithDefaults().InputSize, err: l.WithDefaults().InputSizeExceeded()}
}

// readError is the input error of a read that failed on line (1-based):
// past a limit, the limit's error; else the cause.
func readError(file string, line int, err error) Error {
	var ex *limits.Exceeded
	if errors.As(err, &ex) {
		return Error{File: file, Line: line, Message: "input " + ex.Error() + "; the rest is not read", Err: err}
	}
	return Error{File: file, Line: line, Message: "cannot read: " + err.Error(), Err: err}
}

// docTooLarge is the input error of a document past the size limit.
func docTooLarge(file string, line int, l limits.Limits) Error {
	ex := l.DocumentSizeExceeded()
	return Error{File: file, Line: line, Message: "document " + ex.Error() + "; it is skipped", Err: ex}
}

// split is SplitReader, which batches YAML documents up to batch bytes
// when batch is not 0.
func split(file string, r io.Reader, batch int, l limits.Limits, emit func(Document)) []Error {
	br := bufio.NewReaderSize(LimitInput(r, l), 64<<10)
	head, err := br.Peek(8000)
	var ex *limits.Exceeded
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) && !errors.As(err, &ex) {
		return []Error{readError(file, 1, err)}
	}
	if off, ok := binaryAt(head, len(head) < 8000); ok {
		return []Error{{File: file, Line: LineBreaks(head[:off]) + 1, Message: "not a text file (binary content)"}}
	}
	limit := func(d Document) Document { d.maxNodes = l.YAMLNodes; return d }
	if first := firstNonSpace(head); first == '{' || first == '[' {
		// A JSON stream is read whole, which InputSize bounds, to tell it
		// from YAML in flow style.
		data, err := io.ReadAll(br)
		var readErr []Error
		if err != nil {
			readErr = []Error{readError(file, LineBreaks(data)+1, err)}
		}
		if docs, errs, ok := splitJSON(file, data, l, err != nil); ok {
			for _, d := range docs {
				emit(limit(d))
			}
			return append(errs, readErr...)
		}
		if err != nil {
			return readErr
		}
		// Not a JSON stream after all (YAML flow style): cut as YAML.
		br = bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	}
	var errs []Error
	// cur collects the current batch in a buffer reused across batches;
	// each gets an exact-size copy of it.
	var cur []byte
	var parts []part
	flush := func(n int) []byte {
		d := make([]byte, n)
		copy(d, cur)
		cur = cur[:0]
		return d
	}
	// index counts documents, batched or not; startLine and startIndex
	// are those of the batch in cur, docStart and docLine those of its
	// last document, which skip is true for once it is past the limit:
	// its lines are then counted but not kept.
	index, startIndex, startLine, line := 0, 0, 0, 0
	docStart, docLine, skip, skipped := 0, 0, false, false
	maxLine := int(min(l.DocumentSize, 1<<40)) + 1
	for {
		b, crs, err := readLine(br, maxLine)
		if len(b) > 0 {
			if (len(cur) > 0 || skip) && isDocStart(b) {
				index++
				switch {
				case skip:
					skip = false
					startIndex, startLine = index, line
				case len(cur) < batch:
					parts = append(parts, part{off: len(cur), line: line - startLine})
				default:
					emit(limit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(len(cur)), parts: parts}))
					parts = nil
					startIndex, startLine = index, line
				}
				docStart, docLine = len(cur), line
			}
			if !skip {
				cur = append(cur, b...)
				if int64(len(cur)-docStart) > l.DocumentSize {
					// Hand out the batch before this document, and drop
					// this one up to the next document start.
					errs = append(errs, docTooLarge(file, docLine+1, l))
					skip, skipped = true, true
					if len(parts) > 0 && parts[len(parts)-1].off == docStart {
						parts = parts[:len(parts)-1]
					}
					if docStart > 0 {
						emit(limit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(docStart), parts: parts}))
					}
					cur, parts = cur[:0], nil
				}
			}
			line += 1 + crs
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The document being read is cut short: hand out the
			// complete ones before it.
			if !skip && docStart > 0 {
				if len(parts) > 0 && parts[len(parts)-1].off == docStart {
					parts = parts[:len(parts)-1]
				}
				emit(limit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(docStart), parts: parts}))
			}
			// The line reached, not the next one, when it was cut.
			if len(b) > 0 && b[len(b)-1] != '\n' {
				line--
			}
			return append(errs, readError(file, line+1, err))
		}
	}
	if !skip && (len(cur) > 0 || index == 0 && !skipped) {
		emit(limit(Document{File: file, Index: startIndex, LineOffset: startLine, Data: flush(len(cur)), parts: parts}))
	}
	return errs
}

// readLine reads one line, keeping at most max bytes of it: a longer
// line is only ever part of a document past the size limit, whose bytes
// are dropped. crs counts the lone carriage returns of the line, dropped
// bytes included, which YAML counts as line breaks.
func readLine(br *bufio.Reader, max int) (b []byte, crs int, err error) {
	b, err = br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return b, loneCRs(b), err
	}
	// A line longer than the buffer: collect it, up to max.
	long := append([]byte(nil), b...)
	crs = loneCRs(b)
	for errors.Is(err, bufio.ErrBufferFull) {
		prevCR := len(b) > 0 && b[len(b)-1] == '\r'
		b, err = br.ReadSlice('\n')
		crs += loneCRs(b)
		if prevCR && len(b) > 0 && b[0] == '\n' {
			crs-- // a CRLF cut by the buffer
		}
		if len(long) < max {
			long = append(long, b[:min(len(b), max-len(long))]...)
		}
	}
	return long, crs, err
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

// binaryAt looks at the head of a file for content no YAML or JSON holds:
// a NUL byte, or bytes that are not UTF-8. It returns the offset of the
// first such byte; whole tells whether head is the whole file, or was cut
// (possibly inside a UTF-8 rune).
func binaryAt(head []byte, whole bool) (int, bool) {
	end := len(head)
	if nul := bytes.IndexByte(head, 0); nul >= 0 {
		end = nul
	}
	check := head[:end]
	if !whole && end == len(head) {
		// Do not count a rune cut at the end of the head as bad.
		for i := 0; i < utf8.UTFMax-1 && len(check) > 0 && !utf8.Valid(check); i++ {
			check = check[:len(check)-1]
		}
	}
	if off := invalidUTF8(check); off >= 0 {
		return off, true
	}
	return end, end < len(head)
}

// invalidUTF8 returns the offset of the first byte of b that is not
// valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// splitJSON cuts a stream of JSON values; ok is false when the data is not
// JSON at all, so the caller can read it as YAML. A value past the
// document size limit is an error naming its line, and the values after
// it are still read. cut tells that data was cut short (by the input size
// limit): its last, unfinished value is dropped rather than reported.
func splitJSON(file string, data []byte, l limits.Limits, cut bool) (docs []Document, errs []Error, ok bool) {
	prevEnd := 0
	for {
		start := prevEnd
		for start < len(data) && isJSONSpace(data[start]) {
			start++
		}
		if start == len(data) {
			return docs, errs, true
		}
		end := jsonValueEnd(data, start)
		if end < 0 && cut {
			return docs, errs, len(docs) > 0 || len(errs) > 0
		}
		if end < 0 || int64(end-start) <= l.DocumentSize && !json.Valid(data[start:end]) {
			if len(docs) == 0 && len(errs) == 0 {
				return nil, nil, false
			}
			// A broken value after good ones: hand the rest to the YAML
			// parser, which reports the error with its line.
			if int64(len(data)-prevEnd) > l.DocumentSize {
				return docs, append(errs, docTooLarge(file, LineBreaks(data[:start])+1, l)), true
			}
			docs = append(docs, Document{File: file, Index: len(docs), LineOffset: LineBreaks(data[:prevEnd]), Data: data[prevEnd:]})
			return docs, errs, true
		}
		// Keep the document's own line start so columns stay right, unless
		// the previous document ends on the same line.
		ls := max(bytes.LastIndexByte(data[:start], '\n')+1, prevEnd)
		if int64(end-ls) > l.DocumentSize {
			errs = append(errs, docTooLarge(file, LineBreaks(data[:start])+1, l))
			prevEnd = end
			continue
		}
		docs = append(docs, Document{File: file, Index: len(docs), LineOffset: LineBreaks(data[:ls]), Data: data[ls:end]})
		prevEnd = end
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonValueEnd returns the end of the JSON value that starts at
// data[start], by its brackets and strings alone (json.Valid judges it
// after), or -1 when it does not end. It allocates nothing, whatever the
// nesting.
func jsonValueEnd(data []byte, start int) int {
	depth := 0
	for i := start; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return i + 1
			}
		default:
			if depth == 0 {
				// A scalar: up to the next blank or bracket.
				j := i
				for j < len(data) && !isJSONSpace(data[j]) && !strings.ContainsRune(`{}[]",`, rune(data[j])) {
					j++
				}
				return j
			}
		}
	}
	return -1
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
		sub := Document{File: d.File, Origin: d.Origin, Locate: d.Locate, Tracer: d.Tracer, Index: d.Index + i + 1,
			LineOffset: d.LineOffset + line, Data: d.Data[start:end], maxNodes: d.maxNodes}
		o, e, s := Parse(sub)
		objs, errs = append(objs, o...), append(errs, e...)
		if s != "" {
			skipped = s
		}
	}
	return objs, errs, skipped
}

func parseNode(d Document, root *yaml.Node) (objs []*object.Object, errs []Error, skipped string) {
	if err, ok := tooManyNodes(d, root); ok {
		return nil, []Error{err}, ""
	}
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
		if fe, bad := object.Malformed(n); bad {
			return nil, append(errs, fieldError(d, fe)), ""
		}
		return nil, errs, "not a Kubernetes object (no apiVersion or kind)"
	}
	o.Origin, o.Locate, o.Tracer = d.Origin, d.Locate, d.Tracer
	releaseNamespace(o)
	if !o.IsList() {
		return []*object.Object{o}, missingPodSpec(d, o, errs), ""
	}
	if fe, bad := o.ItemsError(); bad {
		line, col := o.Pos(fe.Ref)
		return nil, append(errs, Error{File: d.File, Line: line, Column: col, Message: fe.Message}), ""
	}
	for i, it := range o.Items() {
		item, ok := object.New(it, d.File, d.LineOffset)
		if fe, bad := object.Malformed(it); !ok && bad {
			fe.Message = "items[" + strconv.Itoa(i) + "]." + fe.Message
			errs = append(errs, fieldError(d, fe))
			continue
		}
		if !ok {
			line := it.Line + d.LineOffset
			errs = append(errs, Error{File: d.File, Line: line, Column: it.Column,
				Message: "items[" + strconv.Itoa(i) + "] of " + o.Kind + " is not a Kubernetes object (no apiVersion or kind)"})
			continue
		}
		item.Origin, item.Tracer = d.Origin, d.Tracer
		releaseNamespace(item)
		objs = append(objs, item)
		errs = missingPodSpec(d, item, errs)
	}
	return objs, errs, ""
}

// tooManyNodes returns the input error of a document of more nodes than
// the limit, aliases expanded: checks and fixes follow aliases, so a
// document of a few anchors can stand for billions of nodes. The YAML
// decoder has built the tree already; DocumentSize bounds that.
func tooManyNodes(d Document, root *yaml.Node) (Error, bool) {
	limit := d.maxNodes
	if limit <= 0 {
		limit = limits.Default().YAMLNodes
	}
	// A node takes at least half a byte (`{a,b}` is a mapping of two
	// keys and two nulls): without an alias, a small document is within
	// the limit, and most are.
	if len(d.Data) < limit/2-1 && bytes.IndexByte(d.Data, '*') < 0 {
		return Error{}, false
	}
	var memo map[*yaml.Node]int
	if countNodes(root, limit, &memo) <= limit {
		return Error{}, false
	}
	line := root.Line
	if n := object.Resolve(root); n != nil && n.Line > 0 {
		line = n.Line
	}
	ex := limits.Limits{YAMLNodes: limit}.YAMLNodesExceeded()
	return Error{File: d.File, Line: line + d.LineOffset, Message: "document " + ex.Error() + "; it is skipped", Err: ex}, true
}

// countNodes counts the nodes of the tree below n with aliases expanded,
// up to max (past it, max+1). The count of an aliased node is kept in
// memo, so the walk is linear in the nodes as written, whatever they
// expand to.
func countNodes(n *yaml.Node, max int, memo *map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return 1
		}
		if *memo == nil {
			*memo = map[*yaml.Node]int{}
		}
		c, ok := (*memo)[t]
		if !ok {
			// An alias inside its own anchor (yaml.v3 refuses it) would
			// expand forever: count it as past the limit.
			(*memo)[t] = max + 1
			c = countNodes(t, max, memo)
			(*memo)[t] = c
		}
		return min(1+c, max+1)
	}
	total := 1
	for _, c := range n.Content {
		if total += countNodes(c, max, memo); total > max {
			return max + 1
		}
	}
	return total
}

// fieldError is the input error of a field of a document that is not an
// object yet.
func fieldError(d Document, fe object.FieldError) Error {
	if fe.Ref.Node == nil {
		return Error{File: d.File, Line: d.LineOffset + 1, Message: fe.Message}
	}
	return Error{File: d.File, Line: fe.Ref.Node.Line + d.LineOffset, Column: fe.Ref.Node.Column, Message: fe.Message}
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
	if strings.Contains(msg, "control characters") || strings.Contains(msg, "UTF-8") || strings.Contains(msg, "Unicode") {
		// yaml.v3 reports these where it noticed them, often at the end
		// of its buffer: name the line of the byte itself.
		if off := unprintable(d.Data); off >= 0 {
			line = LineBreaks(d.Data[:off]) + 1
		}
	}
	if line == 0 {
		// yaml.v3 leaves the line out for errors found at the end of input.
		line = max(LineBreaks(bytes.TrimRight(d.Data, "\r\n")), 0) + 1
	}
	line = min(line, LineBreaks(d.Data)+1)
	return Error{File: d.File, Line: line + d.LineOffset, Message: "invalid YAML: " + msg}
}

// unprintable returns the offset of the first byte of b that YAML does
// not allow (a control character, a byte that is not UTF-8), or -1.
func unprintable(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0xd800 && r < 0xe000 || r == 0xfffe || r == 0xffff:
			return i
		}
		i += n
	}
	return -1
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

// releaseNamespace unsets the namespace of a rendered object that only
// holds the namespace the render defaulted (a chart's
// .Release.Namespace without -n): like a manifest without one, it is
// chosen at install time.
func releaseNamespace(o *object.Object) {
	if o.Tracer == nil || o.Namespace == "" {
		return
	}
	ns := object.Get(object.Get(o.Node, "metadata"), "namespace")
	if ns != nil && o.Tracer.ReleaseNamespace(ns.Line+o.LineOffset) {
		o.Namespace = ""
	}
}
