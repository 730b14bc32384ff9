package helm

// Tracing rendered lines back to template lines.
//
// A rendered document's lines are those of the template's output, which
// the template's own lines match only where no action expands or removes
// lines. To find the template line of each output line, the templates are
// rendered a second time with a marker appended to each of their lines
// ("<line> #@kh12;"): an output line carrying a marker comes from that
// template line (the first marker, when actions trimmed several lines
// into one), and an output line without one was written by an action of
// the next marked line (an include, toYaml or tpl whose output spans
// lines). The second render is compared with the first, line by line,
// markers stripped: where they differ (a checksum of another template,
// a condition on the namespace), nothing is claimed.
//
// Markers go only into the chart's own templates, never into partials
// (_helpers.tpl), whose output other templates pipe through trim, quote
// or sha256sum. A line ending inside an action, a document separator and
// a line ending in a right-trimming action ("-}}", which would eat the
// marker's space and keep the newline it removes) and a blank line (a
// left-trimming action after it would stop at the marker rather than eat
// it) get no marker: their
// output is placed at the next marked line, and Place says so only when
// that line neither holds the field's key nor runs an action.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/kubeharden/kubeharden/internal/object"
)

// releaseNamespaceMark is .Release.Namespace in the traced render when no
// namespace was given: where the output holds it, the namespace is the
// release's, chosen at install time, not "default".
const releaseNamespaceMark = "kubeharden-release-namespace"

const markerPrefix = "#@kh"

var markerRE = regexp.MustCompile(` ?#@kh(\d+);`)

// markTemplate appends a marker to each line of a template that may carry
// one.
func markTemplate(data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(data)/4)
	open := false
	// define is the depth of blocks in a define: lines of a named
	// template are never marked, its output is piped anywhere.
	define := 0
	line := 0
	for len(data) > 0 {
		line++
		l := data
		nl := bytes.IndexByte(data, '\n')
		if nl >= 0 {
			l, data = data[:nl], data[nl+1:]
		} else {
			data = nil
		}
		cr := bytes.HasSuffix(l, []byte("\r"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		open, define = scanActions(l, open, define)
		b.Write(l)
		t := bytes.TrimSpace(l)
		if !open && define == 0 && len(t) > 0 && !bytes.HasPrefix(t, []byte("---")) && !bytes.HasSuffix(t, []byte("-}}")) {
			b.WriteString(" " + markerPrefix)
			b.WriteString(strconv.Itoa(line))
			b.WriteByte(';')
		}
		if cr {
			b.WriteByte('\r')
		}
		if nl >= 0 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// scanActions reports whether a template action is still open at the end
// of line l, given whether one was open at its start, and the depth of
// blocks inside a define after it.
func scanActions(l []byte, open bool, define int) (bool, int) {
	for len(l) > 0 {
		if open {
			i := bytes.Index(l, []byte("}}"))
			if i < 0 {
				return true, define
			}
			l, open = l[i+2:], false
			continue
		}
		i := bytes.Index(l, []byte("{{"))
		if i < 0 {
			return false, define
		}
		l, open = l[i+2:], true
		a := bytes.TrimLeft(bytes.TrimPrefix(l, []byte("-")), " \t")
		switch word := blockWord.Find(a); {
		case word == nil:
		case string(word) == "define":
			define++
		case define == 0:
		case string(word) == "end":
			define--
		case string(word) != "else":
			define++
		}
	}
	return open, define
}

// blockWord is the keyword of an action that opens or closes a block.
var blockWord = regexp.MustCompile(`^(?:define|if|range|with|block|end|else)\b`)

// traced renders the chart again with every template line marked, and
// .Release.Namespace set to releaseNamespaceMark when mark is true. It
// returns nil when that render fails: locations then stay unproven.
// The values are those of p.pristine when set: templates may change the
// values they render (mergeOverwrite, set), and the second render must
// see what the first did.
func (p *prepared) traced(markNamespace bool) (out map[string]string) {
	if p.pristine != nil {
		p.top = p.pristine
	}
	saved := map[*chart.File][]byte{}
	var walk func(c *chart.Chart)
	walk = func(c *chart.Chart) {
		for _, f := range c.Templates {
			if f == nil || saved[f] != nil || partial(f.Name) {
				continue
			}
			saved[f] = f.Data
			f.Data = markTemplate(f.Data)
		}
		for _, sc := range c.Dependencies() {
			walk(sc)
		}
	}
	rel, _ := p.top["Release"].(map[string]any)
	ns := rel["Namespace"]
	defer func() {
		for f, d := range saved {
			f.Data = d
		}
		if rel != nil {
			rel["Namespace"] = ns
		}
		if recover() != nil {
			out = nil
		}
	}()
	walk(p.t.root)
	if markNamespace && rel != nil {
		rel["Namespace"] = releaseNamespaceMark
	}
	out, err := p.execute()
	if err != nil {
		return nil
	}
	return out
}

// copyValues copies values deeply: maps and lists, not what they hold.
func copyValues(v any) any {
	switch v := v.(type) {
	case chartutil.Values:
		m := make(chartutil.Values, len(v))
		for k, x := range v {
			m[k] = copyValues(x)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = copyValues(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = copyValues(x)
		}
		return l
	}
	return v
}

// partial reports whether a template is a partial, which Helm never
// renders on its own (its base name starts with "_"), or the notes.
func partial(name string) bool {
	base := path0(name)
	return strings.HasPrefix(base, "_") || base == "NOTES.txt"
}

func path0(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// tracer maps the lines of one template's output back to the template.
type tracer struct {
	file string
	// src are the template's lines.
	src []string
	// out and marked are the output lines of the render and of the
	// traced render; marked is nil when the two do not line up.
	out, marked []string
	// why is the reason marked is nil.
	why string
	// markNamespace: the traced render's namespace was releaseNamespaceMark.
	markNamespace bool
	// values are the values files that may have supplied a field, the
	// one that wins first.
	values []valuesSource

	// next is, for each output line, the first marker at or after it,
	// found once for all the findings (which documents of the template
	// place concurrently).
	once sync.Once
	next []marker
}

// marker is a template line (src, 0 for none) and the output line (from
// 0) that carries its marker.
type marker struct{ src, at int }

// index fills next, from the last output line up.
func (t *tracer) index() {
	t.next = make([]marker, len(t.marked))
	var cur marker
	for i := len(t.marked) - 1; i >= 0; i-- {
		if m := markerRE.FindStringSubmatch(t.marked[i]); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(t.src) {
				cur = marker{src: n, at: i}
			} else {
				cur = marker{}
			}
		}
		t.next[i] = cur
	}
}

// valuesFile is a values file, read once for all the templates.
type valuesFile struct {
	path string
	root *yaml.Node
}

// valuesSource is a values file as a template's chart sees it: a
// subchart's values are under its name (or alias) in its parent's.
type valuesSource struct {
	*valuesFile
	prefix string
}

func newTracer(file string, src []byte, out, marked string, markNamespace bool, values []valuesSource) *tracer {
	t := &tracer{file: file, src: strings.Split(string(src), "\n"), out: strings.Split(out, "\n"), markNamespace: markNamespace, values: values}
	switch {
	case marked == "" && out != "":
		t.why = "the traced render of the chart failed"
	case strings.Count(marked, "\n") != strings.Count(out, "\n"):
		t.why = "the template renders differently when traced"
	default:
		t.marked = strings.Split(marked, "\n")
	}
	return t
}

// strip removes the markers of a traced line and puts back the namespace.
func (t *tracer) strip(l string) string {
	if strings.Contains(l, markerPrefix) {
		l = markerRE.ReplaceAllString(l, "")
	}
	if t.markNamespace {
		l = strings.ReplaceAll(l, releaseNamespaceMark, DefaultNamespace)
	}
	return l
}

// ReleaseNamespace implements object.Tracer.
func (t *tracer) ReleaseNamespace(line int) bool {
	if !t.markNamespace || t.marked == nil || line < 1 || line > len(t.marked) {
		return false
	}
	return strings.Contains(t.marked[line-1], releaseNamespaceMark) && t.strip(t.marked[line-1]) == t.out[line-1]
}

// source returns the template line an output line comes from, and
// whether it is the line's own (a marker on the line itself).
func (t *tracer) source(line int) (src int, own bool, why string) {
	if t.marked == nil {
		return 0, false, t.why
	}
	if line < 1 || line > len(t.marked) {
		return 0, false, "the line is outside the template's output"
	}
	if t.strip(t.marked[line-1]) != t.out[line-1] {
		return 0, false, "the line renders differently when traced"
	}
	t.once.Do(t.index)
	if n := t.next[line-1]; n.src > 0 {
		return n.src, n.at == line-1, ""
	}
	return 0, false, "no template line follows the output line"
}

// Place implements object.Tracer.
func (t *tracer) Place(line int, key, path string, n *yaml.Node, missing bool) object.Trace {
	src, own, why := t.source(line)
	if why != "" {
		return object.Trace{Uncertain: why}
	}
	text := t.src[src-1]
	tr := object.Trace{Line: src}
	col := keyColumn(text, key)
	if key == "-" && col == 0 && !missing {
		col = flowItemColumn(text, n)
	}
	if own && col > 0 {
		tr.Column, tr.Via = col, object.TraceKey
	} else if emits(text) {
		tr.Column, tr.Via = actionColumn(text), object.TraceEmitted
		if !missing {
			tr.ValueFile, tr.ValueLine = t.valueLine(src, path, n)
		}
	} else if col > 0 {
		tr.Column, tr.Via = col, object.TraceKey
	} else {
		return object.Trace{Uncertain: "template line " + strconv.Itoa(src) + " neither holds the key nor emits it"}
	}
	if missing {
		tr.Via = object.TraceParent
	}
	return tr
}

// keyColumn is the 1-based column of key as a mapping key on a template
// line, 0 when the line does not hold it.
func keyColumn(text, key string) int {
	switch key {
	case "":
		return 0
	case "-":
		t := strings.TrimLeft(text, " \t")
		if strings.HasPrefix(t, "- ") || t == "-" {
			return len(text) - len(t) + 1
		}
		return 0
	}
	for off := 0; ; {
		i := strings.Index(text[off:], key)
		if i < 0 {
			return 0
		}
		i += off
		before := i == 0 || strings.ContainsRune(" \t-{\"'", rune(text[i-1]))
		rest := strings.TrimLeft(strings.TrimLeft(text[i+len(key):], `"'`), " \t")
		if before && strings.HasPrefix(rest, ":") {
			return i + 1
		}
		off = i + len(key)
	}
}

// flowItemColumn is the 1-based column of a scalar item of a flow list
// ([a, "b"]) on a template line, 0 when the line does not hold it.
func flowItemColumn(text string, n *yaml.Node) int {
	n = object.Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Value == "" {
		return 0
	}
	open := strings.IndexByte(text, '[')
	if open < 0 {
		return 0
	}
	for _, q := range []string{`"` + n.Value + `"`, `'` + n.Value + `'`, n.Value} {
		if i := strings.Index(text[open:], q); i >= 0 {
			return open + i + 1
		}
	}
	return 0
}

// controlWord are the actions that write nothing themselves.
var controlWord = regexp.MustCompile(`^(?:if|else|end|range|define|block|break|continue|/\*|\$[A-Za-z0-9_]*\s*:?=)`)

// emits reports whether a template line runs an action that writes
// output: anything but control structure and comments.
func emits(text string) bool {
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			return false
		}
		text = text[i+2:]
		a := strings.TrimLeft(strings.TrimPrefix(text, "-"), " \t")
		if !controlWord.MatchString(a) {
			return true
		}
	}
}

// actionColumn is the 1-based column of the first writing action of a
// line.
func actionColumn(text string) int {
	off := 0
	for {
		i := strings.Index(text[off:], "{{")
		if i < 0 {
			return 1
		}
		i += off
		a := strings.TrimLeft(strings.TrimPrefix(text[i+2:], "-"), " \t")
		if !controlWord.MatchString(a) {
			return i + 1
		}
		off = i + 2
	}
}

var (
	valuesRef = regexp.MustCompile(`\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)`)
	withRef   = regexp.MustCompile(`{{-?\s*with\s+\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)`)
	dotRef    = regexp.MustCompile(`(?:toYaml|toJson|tpl|toPrettyJson)\s+\.\s|\(\s*\.\s*\)|{{-?\s*\.\s*-?}}`)
)

// valueLine finds the values file line that supplied the field at path,
// emitted by template line src: the .Values reference of that line (or of
// the `with` around it when the line writes "."), followed by the tail of
// the field's path that the values file holds with the same value.
func (t *tracer) valueLine(src int, path string, n *yaml.Node) (string, int) {
	text := t.src[src-1]
	var refs []string
	for _, m := range valuesRef.FindAllStringSubmatch(text, -1) {
		refs = append(refs, m[1][1:])
	}
	if len(refs) == 0 && dotRef.MatchString(text) {
		for i := src - 1; i >= 1 && i >= src-40; i-- {
			if m := withRef.FindStringSubmatch(t.src[i-1]); m != nil {
				refs = append(refs, m[1][1:])
				break
			}
		}
	}
	segs := strings.Split(path, ".")
	for _, vf := range t.values {
		for _, ref := range refs {
			ref = vf.prefix + ref
			base := object.At(vf.root, ref)
			if base == nil {
				continue
			}
			for k := min(len(segs), 4); k >= 1; k-- {
				v := object.At(base, strings.Join(segs[len(segs)-k:], "."))
				if v != nil && sameValue(v, n) {
					return vf.path, keyLine(base, strings.Join(segs[len(segs)-k:], "."), v)
				}
			}
			if len(refs) == 1 && base.Kind == yaml.ScalarNode && sameValue(base, n) {
				return vf.path, keyLine(vf.root, ref, base)
			}
		}
	}
	return "", 0
}

// keyLine is the line of the key holding v at path below root, or v's
// own line.
func keyLine(root *yaml.Node, path string, v *yaml.Node) int {
	parent, last := root, path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, last = object.At(root, path[:i]), path[i+1:]
	}
	if k := object.KeyNode(parent, last); k != nil {
		return k.Line
	}
	return v.Line
}

// sameValue reports whether a values node and a rendered node hold the
// same scalar, or are both collections.
func sameValue(v, n *yaml.Node) bool {
	v, n = object.Resolve(v), object.Resolve(n)
	if v == nil || n == nil {
		return false
	}
	if v.Kind == yaml.ScalarNode && n.Kind == yaml.ScalarNode {
		return v.Value == n.Value
	}
	return v.Kind == n.Kind && v.Kind != yaml.ScalarNode
}

// readValuesFiles reads the values files a template's fields may come
// from, the one that wins first: the user's (last first) and the root
// chart's values.yaml, where a subchart's values are under its path of
// names or aliases (sub.), then the template's own chart's values.yaml.
// key is the engine's name of the template (root/charts/sub/templates/x).
func readValuesFiles(rootDir, chartDir, key string, user []string, cache map[string]*valuesFile) []valuesSource {
	prefix := ""
	if dir, _, ok := strings.Cut(key, "/templates/"); ok {
		parts := strings.Split(dir, "/")
		for i := 1; i+1 < len(parts); i += 2 {
			if parts[i] == "charts" {
				prefix += parts[i+1] + "."
			}
		}
	}
	type src struct{ name, prefix string }
	var names []src
	for i := len(user) - 1; i >= 0; i-- {
		names = append(names, src{user[i], prefix})
	}
	if prefix != "" {
		names = append(names, src{filepath.Join(rootDir, "values.yaml"), prefix})
	}
	names = append(names, src{filepath.Join(chartDir, "values.yaml"), ""})
	var out []valuesSource
	for _, n := range names {
		vf, ok := cache[n.name]
		if !ok {
			vf = readValues(n.name)
			cache[n.name] = vf
		}
		if vf != nil {
			out = append(out, valuesSource{vf, n.prefix})
		}
	}
	return out
}

// maxValuesBytes bounds a values file read for tracing; a larger one is
// not traced into (the render read it already, within its limits).
const maxValuesBytes = 4 << 20

func readValues(name string) *valuesFile {
	fi, err := os.Stat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxValuesBytes {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return nil
	}
	return &valuesFile{path: name, root: &root}
}
