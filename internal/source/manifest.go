// Package source turns inputs (files, directories, stdin) into documents
// and documents into objects, keeping the file and line of every node.
package source

import (
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
}

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
	// Explicit is true when the user named the file, so that it is read
	// whatever its extension.
	Explicit bool
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
			errs = append(errs, Error{File: in, Message: describeFSError(err)})
			continue
		}
		if !info.IsDir() {
			if !excluded(in, exclude) {
				add(File{Path: in, Explicit: true})
			}
			continue
		}
		var found []File
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, Error{File: p, Message: describeFSError(err)})
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
				return nil
			}
			if strings.HasPrefix(name, ".") || excluded(p, exclude) {
				return nil
			}
			if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if IsManifestName(name) {
				found = append(found, File{Path: p})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, Error{File: in, Message: describeFSError(err)})
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
		if MatchGlob(g, p) {
			return true
		}
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && MatchGlob(g, p[i+1:]) {
				return true
			}
		}
	}
	return false
}

// MatchGlob matches a slash-separated path against a glob where `*` does
// not cross `/` and `**` matches any number of path segments.
func MatchGlob(glob, p string) bool {
	glob = strings.TrimPrefix(filepath.ToSlash(glob), "./")
	p = strings.TrimPrefix(p, "./")
	return matchSegments(strings.Split(glob, "/"), strings.Split(p, "/"))
}

func matchSegments(g, p []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			for i := 0; i <= len(p); i++ {
				if matchSegments(g[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 {
			return false
		}
		if ok, err := filepath.Match(g[0], p[0]); err != nil || !ok {
			return false
		}
		g, p = g[1:], p[1:]
	}
	return len(p) == 0
}

func describeFSError(err error) string {
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

// Read returns the contents of a file, or of stdin for "-".
func Read(f File, stdin io.Reader) ([]byte, error) {
	if f.Path == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.ReadAll(stdin)
	}
	return os.ReadFile(f.Path)
}

// Document is one YAML or JSON document of a file.
type Document struct {
	File string
	// Index is the document's position in its file, from 0.
	Index int
	// LineOffset is the number of lines of the file before Data.
	LineOffset int
	Data       []byte
}

// Split cuts a file into its documents without parsing them, so that the
// documents of one large file can be parsed in parallel. A line that starts
// with `---` (followed by a blank, or alone) always starts a new document in
// YAML, even inside what looks like a block scalar, so the cut is exact.
// JSON files (and YAML files that are a JSON stream) are cut with a JSON
// decoder instead.
func Split(file string, data []byte) ([]Document, []Error) {
	if isBinary(data) {
		return nil, []Error{{File: file, Line: 1, Message: "not a text file (binary content)"}}
	}
	if first := firstNonSpace(data); first == '{' || first == '[' {
		if docs, ok := splitJSON(file, data); ok {
			return docs, nil
		}
		// Not a JSON stream after all (YAML flow style): cut as YAML.
	}
	var docs []Document
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		if i > start && isDocStart(data[i:next]) {
			docs = append(docs, Document{File: file, Index: len(docs), LineOffset: startLine, Data: data[start:i]})
			start, startLine = i, line
		}
		line++
		i = next
	}
	if start < len(data) || len(docs) == 0 {
		docs = append(docs, Document{File: file, Index: len(docs), LineOffset: startLine, Data: data[start:]})
	}
	return docs, nil
}

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

func isBinary(data []byte) bool {
	head := data
	if len(head) > 8000 {
		head = head[:8000]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	// Allow a torn UTF-8 rune at the cut.
	for len(head) > 0 && !utf8.Valid(head) {
		if len(data) > 8000 && len(head) > 7996 {
			head = head[:len(head)-1]
			continue
		}
		return true
	}
	return false
}

// splitJSON cuts a stream of JSON values; ok is false when the data is not
// JSON at all, so the caller can read it as YAML.
func splitJSON(file string, data []byte) ([]Document, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, true
		}
		if err != nil {
			if len(docs) == 0 {
				return nil, false
			}
			// A broken value after good ones: hand the rest to the YAML parser,
			// which reports the error with its line.
			off := int(dec.InputOffset())
			rest := data[off:]
			docs = append(docs, Document{File: file, Index: len(docs), LineOffset: bytes.Count(data[:off], []byte("\n")), Data: rest})
			return docs, true
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		// Keep the document's own line start so columns stay right.
		ls := bytes.LastIndexByte(data[:start], '\n') + 1
		docs = append(docs, Document{File: file, Index: len(docs), LineOffset: bytes.Count(data[:ls], []byte("\n")), Data: data[ls:end]})
	}
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// Parse reads the objects of one document. List kinds are expanded into
// their items. A document that is not a Kubernetes object yields nothing and
// no error; skipped tells why, for -v.
func Parse(d Document) (objs []*object.Object, errs []Error, skipped string) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(d.Data))
	err := dec.Decode(&root)
	if err == io.EOF {
		return nil, nil, ""
	}
	if err != nil {
		return nil, []Error{yamlError(d, err)}, ""
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		// Split leaves one document per chunk; a second one means a
		// document marker Split does not cut on (such as `...`).
		if err != nil {
			return nil, []Error{yamlError(d, err)}, ""
		}
	}
	n := object.Resolve(&root)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil, ""
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, "document is not a mapping"
	}
	if dup := duplicateKey(n, 0); dup != nil {
		errs = append(errs, Error{File: d.File, Line: dup.Line + d.LineOffset, Column: dup.Column,
			Message: fmt.Sprintf("mapping key %q already defined", dup.Value)})
	}
	o, ok := object.New(n, d.File, d.LineOffset)
	if !ok {
		return nil, errs, "not a Kubernetes object (no apiVersion or kind)"
	}
	if !o.IsList() {
		return []*object.Object{o}, errs, ""
	}
	for i, it := range o.Items() {
		item, ok := object.New(it, d.File, d.LineOffset)
		if !ok {
			line := it.Line + d.LineOffset
			errs = append(errs, Error{File: d.File, Line: line, Column: it.Column,
				Message: "items[" + strconv.Itoa(i) + "] of " + o.Kind + " is not a Kubernetes object (no apiVersion or kind)"})
			continue
		}
		objs = append(objs, item)
	}
	return objs, errs, ""
}

func yamlError(d Document, err error) Error {
	msg := err.Error()
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if line == 0 {
		// yaml.v3 leaves the line out for errors found at the end of input.
		line = bytes.Count(d.Data, []byte("\n"))
		if line == 0 {
			line = 1
		}
	}
	return Error{File: d.File, Line: line + d.LineOffset, Message: "invalid YAML: " + msg}
}

// duplicateKey returns the first repeated key of any mapping below n:
// kubectl refuses such documents, and which value wins is unclear.
func duplicateKey(n *yaml.Node, depth int) *yaml.Node {
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
			if d := duplicateKey(c[i], depth+1); d != nil {
				return d
			}
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if d := duplicateKey(it, depth+1); d != nil {
				return d
			}
		}
	}
	return nil
}
