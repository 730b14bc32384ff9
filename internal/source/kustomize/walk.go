package kustomize

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

// kustomizationNames are the file names kustomize looks a kustomization up
// by, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Limits that keep a hostile tree from exhausting the walk. The size of
// every file read is bounded by the run's limits (see readInput).
const (
	maxDepth  = 64
	maxVisits = 10000
)

// tree is what the walk learns about a kustomization and everything it
// reaches locally, before kustomize runs.
type tree struct {
	ctx         context.Context
	l           limits.Limits
	allowRemote bool
	errs        []source.Error
	visited     map[string]bool
	// refs maps the real path of every local file or directory a
	// kustomization names to the first entry naming it, so that an error
	// about the file points at the line that brought it in.
	refs map[string]ref
	// weight is, by visit key, the bytes of resource files a
	// kustomization brings in, counted once per inclusion: what its build
	// prints, roughly, before any patch.
	weight map[string]int64
	// prefixes and suffixes are every namePrefix and nameSuffix of the
	// tree: a built name is the original name wrapped in some of them.
	prefixes, suffixes map[string]bool
}

// isKustomizationName reports whether base is a kustomization file name.
func isKustomizationName(base string) bool {
	for _, n := range kustomizationNames {
		if base == n {
			return true
		}
	}
	return false
}

// findKustomization returns the kustomization file of dir, "" when it has
// none.
func findKustomization(dir string) string {
	for _, n := range kustomizationNames {
		p := filepath.Join(dir, n)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// walkTree reads the kustomization file kfile and every local
// kustomization it reaches (resources, bases, components, and generator,
// transformer and validator directories), the way kustomize will. It finds
// what must not be built: remote entries (unless allowed) and Helm charts.
// It errs on the side of refusing: every field kustomize loads a path or
// URL from is looked at, with the case-insensitive keys kustomize accepts,
// and a kustomization it cannot parse is an error, so that no entry it
// could not see is ever fetched.
func walkTree(ctx context.Context, kfile string, allowRemote bool) *tree {
	t := &tree{
		ctx:         ctx,
		l:           limits.From(ctx),
		allowRemote: allowRemote,
		visited:     map[string]bool{},
		refs:        map[string]ref{},
		weight:      map[string]int64{},
		prefixes:    map[string]bool{},
		suffixes:    map[string]bool{},
	}
	t.kustomization(kfile, false, 0)
	return t
}

// ref is an entry of a kustomization that names a local file or
// directory.
type ref struct {
	// file is the kustomization file, line and col the entry's position.
	file      string
	line, col int
	// value is the path as written, full the path it names.
	value, full string
}

// addRef records the entry n of kfile naming the local path full.
func (t *tree) addRef(kfile string, n *yaml.Node, full, value string) {
	key := realPath(full)
	if _, ok := t.refs[key]; ok || n == nil || len(t.refs) >= maxVisits {
		return
	}
	t.refs[key] = ref{file: kfile, line: n.Line, col: n.Column, value: value, full: full}
}

// refOf returns the entry that brought in the file p: the entry naming
// it, else the one naming its directory (a kustomization file).
func (t *tree) refOf(p string) (ref, bool) {
	if r, ok := t.refs[realPath(p)]; ok {
		return r, true
	}
	r, ok := t.refs[realPath(filepath.Dir(p))]
	return r, ok
}

// saturatingAdd adds sizes without overflowing.
func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// ErrRemoteDisabled is the cause of the error on a remote base or resource
// when Options.AllowRemote is off.
var ErrRemoteDisabled = errors.New("remote bases and resources are disabled")

func (t *tree) errorf(file string, n *yaml.Node, format string, args ...any) {
	e := source.Error{File: file, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	t.errs = append(t.errs, e)
}

// visit reports whether a file is seen for the first time; configs tells
// whether its resources are plugin configurations.
func (t *tree) visit(p string, configs bool) bool {
	key := visitKey(p, configs)
	if t.visited[key] || len(t.visited) >= maxVisits {
		return false
	}
	t.visited[key] = true
	return true
}

func visitKey(p string, configs bool) string {
	key := realPath(p)
	if configs {
		key += "\x00configs"
	}
	return key
}

func realPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}

// ErrNotRegular is the cause of the error on a file kustomize would read
// that is not a regular file (a FIFO, a device, a socket).
var ErrNotRegular = errors.New("not a regular file")

// readRegular reads a regular file of at most max bytes: a kustomization
// may name /dev/zero or a FIFO, which must not hang the scan. The file is
// opened without blocking (opening a FIFO waits for a writer) and checked
// once open, so that it cannot be swapped between a check and the read.
func readRegular(p string, max int64, exceeded func() error) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	if info.Size() > max {
		return nil, exceeded()
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, exceeded() // it grew while read
	}
	return data, nil
}

// readInput reads a file kustomize reads, bounded by the input size
// limit, each of its documents by the document size limit.
func readInput(p string, l limits.Limits) ([]byte, error) {
	data, err := readRegular(p, l.InputSize, l.InputSizeExceeded)
	if err != nil {
		return nil, err
	}
	if err := checkDocSizes(data, l); err != nil {
		return nil, err
	}
	return data, nil
}

// checkDocSizes checks every document of a YAML stream against the
// document size limit. A line "---" at the first column always starts a
// document in YAML, even inside a block scalar.
func checkDocSizes(data []byte, l limits.Limits) error {
	if int64(len(data)) <= l.DocumentSize {
		return nil
	}
	start, line, docLine := 0, 1, 1
	for i := 0; i <= len(data); i++ {
		end := i == len(data)
		if !end && (data[i] != '\n' || !docMarker(data[i+1:])) {
			if data[i] == '\n' {
				line++
			}
			continue
		}
		if int64(i-start) > l.DocumentSize {
			return fmt.Errorf("document at line %d: %w", docLine, l.DocumentSizeExceeded())
		}
		if !end {
			line++
			start, docLine = i+1, line
		}
	}
	return nil
}

// docMarker reports whether b starts with a document marker line.
func docMarker(b []byte) bool {
	return bytes.HasPrefix(b, []byte("---")) && (len(b) == 3 || b[3] == ' ' || b[3] == '\t' || b[3] == '\n' || b[3] == '\r')
}

// kustomization walks one kustomization file. configs is true when the
// resources it lists are plugin configurations (it was reached through
// generators, transformers or validators).
func (t *tree) kustomization(kfile string, configs bool, depth int) int64 {
	key := visitKey(kfile, configs)
	if depth > maxDepth || !t.visit(kfile, configs) {
		return t.weight[key]
	}
	if err := t.ctx.Err(); err != nil {
		t.errs = append(t.errs, source.Error{File: kfile, Message: "not built: " + err.Error(), Err: err})
		return 0
	}
	data, err := readInput(kfile, t.l)
	if err != nil {
		t.errs = append(t.errs, source.Error{File: kfile, Message: "cannot read: " + err.Error(), Err: err})
		return 0
	}
	docs, err := source.DecodeNodes(data)
	if err != nil {
		line, msg := yamlErrorLine(err)
		t.errs = append(t.errs, source.Error{File: kfile, Line: clampLine(line, data), Message: "invalid kustomization: " + msg})
		return 0
	}
	for _, d := range docs {
		if err := checkAliases(d, 0); err != nil {
			t.errorf(kfile, nil, "invalid kustomization: %v", err)
			return 0
		}
	}
	kdir := filepath.Dir(kfile)
	var w int64
	for _, d := range docs {
		root := resolve(d)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		for _, kv := range entries(root, 0) {
			w = saturatingAdd(w, t.field(kfile, kdir, kv[0], kv[1], configs, depth))
		}
	}
	t.weight[key] = w
	return w
}

// kustomizationFields are the fields the walk looks at, lowercase.
var kustomizationFields = []string{
	"nameprefix", "namesuffix", "helmcharts", "helmchartinflationgenerator",
	"resources", "bases", "components", "generators", "transformers", "validators",
	"crds", "configurations", "patchesstrategicmerge", "patches", "patchesjson6902",
	"replacements", "openapi", "configmapgenerator", "secretgenerator",
}

// fold returns the name of names that key matches as encoding/json matches
// field names, which is how kustomize reads a kustomization: ignoring case,
// with Unicode folding ("reſources" is resources). "" when none does.
func fold(key string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return n
		}
	}
	return ""
}

// field checks one top-level field of a kustomization, and returns the
// weight of what it brings in.
func (t *tree) field(kfile, kdir string, key, val *yaml.Node, configs bool, depth int) int64 {
	var w int64
	name := fold(key.Value, kustomizationFields)
	switch name {
	case "nameprefix", "namesuffix":
		if s := scalar(val); s != "" {
			if name == "nameprefix" {
				t.prefixes[s] = true
			} else {
				t.suffixes[s] = true
			}
		}
	case "helmcharts", "helmchartinflationgenerator":
		if !isEmpty(val) {
			t.errorf(kfile, key, "%s in kustomization is not supported; scan the chart directly", key.Value)
		}
	case "resources", "bases":
		for _, it := range items(val) {
			w = saturatingAdd(w, t.resource(kfile, kdir, it, configs, depth, "base"))
		}
	case "components":
		for _, it := range items(val) {
			p := scalar(it)
			if p == "" {
				continue
			}
			// Components are always directories, which kustomize tries as
			// a git URL first.
			if isHTTP(p) || isGitLike(p) {
				t.remote(kfile, it, "component", p)
				continue
			}
			t.addRef(kfile, it, filepath.Join(kdir, p), p)
			w = saturatingAdd(w, t.dir(filepath.Join(kdir, p), configs, depth))
		}
	case "generators", "transformers", "validators":
		for _, it := range items(val) {
			p := scalar(it)
			if p == "" {
				continue
			}
			// An entry is an inline plugin configuration when it parses as
			// one, else a path: both are checked.
			if docs, err := source.DecodeNodes([]byte(p)); err == nil {
				for _, d := range docs {
					if err := checkAliases(d, 0); err != nil {
						t.errorf(kfile, it, "invalid plugin configuration: %v", err)
						return w
					}
					if r := resolve(d); r != nil && r.Kind == yaml.MappingNode {
						t.pluginConfig(kfile, it, r, 0)
					}
				}
			}
			if !strings.ContainsAny(p, "\n\r") {
				t.resource(kfile, kdir, it, true, depth, "plugin configuration")
			}
		}
	case "crds", "configurations", "patchesstrategicmerge":
		for _, it := range items(val) {
			if p := scalar(it); isHTTP(p) {
				t.remote(kfile, it, "file", p)
			} else if p != "" && !strings.ContainsAny(p, "\n\r") {
				t.addRef(kfile, it, t.local(kdir, p), p)
			}
		}
	case "patches", "patchesjson6902", "replacements":
		for _, it := range items(val) {
			t.pathKeys(kfile, kdir, it, nil)
		}
	case "openapi":
		t.pathKeys(kfile, kdir, val, nil)
	case "configmapgenerator", "secretgenerator":
		for _, it := range items(val) {
			t.pathKeys(kfile, kdir, it, nil)
		}
	}
	return w
}

// local is the path p of an entry of the kustomization in kdir.
func (t *tree) local(kdir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(kdir, p)
}

// resource checks an entry that kustomize loads as a file, else as a
// directory or git repository, and returns the weight it brings in.
func (t *tree) resource(kfile, kdir string, it *yaml.Node, configs bool, depth int, what string) int64 {
	p := scalar(it)
	if p == "" {
		return 0
	}
	if isHTTP(p) {
		t.remote(kfile, it, "resource", p)
		return 0
	}
	full := t.local(kdir, p)
	t.addRef(kfile, it, full, p)
	info, err := os.Stat(full)
	// kustomize loads a file first, and only when that fails tries the
	// entry as a directory or git URL: a local file whose name looks like
	// a URL is local only if kustomize will load it.
	if err == nil && info.Mode().IsRegular() && (!isGitLike(p) || t.loadable(kdir, full)) {
		if configs {
			t.configFile(full)
		}
		return info.Size()
	}
	if isGitLike(p) {
		t.remote(kfile, it, what, p)
		return 0
	}
	if err == nil && info.IsDir() {
		return t.dir(full, configs, depth)
	}
	return 0
}

// loadable reports whether kustomize will read file as resources: inside
// the kustomization's root, parsing, every document an object with a kind
// and a name, or a list.
func (t *tree) loadable(kdir, file string) bool {
	root, real := realPath(kdir), realPath(file)
	if !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return false
	}
	data, err := readInput(file, t.l)
	if err != nil {
		return false
	}
	docs, err := source.DecodeNodes(data)
	if err != nil || len(docs) == 0 {
		return false
	}
	for _, d := range docs {
		if checkAliases(d, 0) != nil {
			return false
		}
		r := resolve(d)
		if r == nil || r.Kind != yaml.MappingNode || scalar(get(r, "apiVersion")) == "" || scalar(get(r, "kind")) == "" {
			return false
		}
		if scalar(get(get(r, "metadata"), "name")) == "" && get(r, "items") == nil {
			return false
		}
	}
	return true
}

func (t *tree) dir(d string, configs bool, depth int) int64 {
	if k := findKustomization(d); k != "" {
		return t.kustomization(k, configs, depth+1)
	}
	return 0
}

func (t *tree) remote(kfile string, n *yaml.Node, what, p string) {
	if t.allowRemote {
		return
	}
	t.errorf(kfile, n, "remote %s %q not fetched: %v", what, p, ErrRemoteDisabled)
	t.errs[len(t.errs)-1].Err = ErrRemoteDisabled
}

// configFile checks a file of plugin configurations.
func (t *tree) configFile(p string) {
	if !t.visit(p, true) {
		return
	}
	data, err := readInput(p, t.l)
	if err != nil {
		return // kustomize reports it
	}
	docs, err := source.DecodeNodes(data)
	if err != nil {
		line, msg := yamlErrorLine(err)
		t.errs = append(t.errs, source.Error{File: p, Line: clampLine(line, data), Message: "invalid plugin configuration: " + msg})
		return
	}
	for _, d := range docs {
		if err := checkAliases(d, 0); err != nil {
			t.errorf(p, nil, "invalid plugin configuration: %v", err)
			return
		}
	}
	for _, d := range docs {
		if r := resolve(d); r != nil && r.Kind == yaml.MappingNode {
			t.pluginConfig(p, nil, r, 0)
		}
	}
}

// pluginConfig checks a generator or transformer configuration: the
// builtin ones load files from path, paths, files, envs and env. at, when
// set, is the node errors point at (an inline configuration's entry).
func (t *tree) pluginConfig(file string, at, n *yaml.Node, depth int) {
	if depth == 0 {
		for _, kv := range entries(n, 0) {
			if strings.EqualFold(kv[0].Value, "kind") && strings.EqualFold(scalar(kv[1]), "HelmChartInflationGenerator") {
				t.errorf(file, pick(at, kv[1]), "HelmChartInflationGenerator in kustomization is not supported; scan the chart directly")
			}
		}
	}
	t.pathKeys(file, "", n, at)
}

// pathFields are the keys files are loaded from.
var pathFields = []string{"path", "paths", "files", "envs", "env"}

// pathKeys looks below n for the keys builtin plugins and kustomization
// fields load files from, and reports those that are URLs. Local ones are
// recorded as refs when kdir, the kustomization's directory, is known.
func (t *tree) pathKeys(file, kdir string, n, at *yaml.Node) {
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		n = resolve(n)
		if n == nil || depth > 50 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for _, kv := range entries(n, 0) {
				switch fold(kv[0].Value, pathFields) {
				case "path", "paths", "files", "envs", "env":
					for _, it := range scalarsOf(kv[1]) {
						p := scalar(it)
						// files entries may be key=path.
						_, after, _ := strings.Cut(p, "=")
						if isHTTP(p) || isHTTP(after) {
							t.remote(file, pick(at, it), "file", p)
							continue
						}
						if kdir != "" && p != "" {
							local := p
							if after != "" {
								local = after
							}
							t.addRef(file, pick(at, it), t.local(kdir, local), p)
						}
					}
				default:
					walk(kv[1], depth+1)
				}
			}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				walk(it, depth+1)
			}
		}
	}
	walk(n, 0)
}

func pick(at, n *yaml.Node) *yaml.Node {
	if at != nil {
		return at
	}
	return n
}

// isHTTP reports whether kustomize would fetch p over HTTP when loading it
// as a file.
func isHTTP(p string) bool {
	p = strings.ToLower(strings.TrimSpace(p))
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}

var (
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://`)
	usernameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)
)

// isGitLike reports whether kustomize could take p for a git repository
// URL when loading it as a directory. It is a superset of kustomize's own
// test (internal/git.NewRepoSpecFromURL): a scheme, a git:: prefix, an
// scp-style user@host, or a github.com host.
func isGitLike(p string) bool {
	p = strings.TrimSpace(p)
	l := strings.ToLower(p)
	return strings.HasPrefix(l, "git::") ||
		schemeRE.MatchString(p) ||
		usernameRE.MatchString(p) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:")
}

// resolve follows aliases and unwraps documents.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 32; i++ {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.DocumentNode:
			return nil
		default:
			return n
		}
	}
	return nil
}

// entries returns the key and value nodes of a mapping, with merge keys
// (<<) expanded after the mapping's own keys.
func entries(n *yaml.Node, depth int) [][2]*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
		return nil
	}
	var out, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			m := resolve(v)
			if m != nil && m.Kind == yaml.SequenceNode {
				for _, it := range m.Content {
					merged = append(merged, entries(it, depth+1)...)
				}
			} else {
				merged = append(merged, entries(m, depth+1)...)
			}
			continue
		}
		if k.Kind == yaml.ScalarNode {
			out = append(out, [2]*yaml.Node{k, v})
		}
	}
	return append(out, merged...)
}

// items returns the items of a sequence (aliases resolved), nothing for
// anything else.
func items(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, it := range n.Content {
		if r := resolve(it); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// scalarsOf returns n itself when it is a scalar, or its items.
func scalarsOf(n *yaml.Node) []*yaml.Node {
	r := resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode {
		return []*yaml.Node{r}
	}
	return items(n)
}

// scalar returns the value of a scalar node, "" for anything else. A
// !!binary value is decoded, as kustomize's YAML-to-JSON reading does.
func scalar(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	if n.Tag == "!!binary" {
		if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), "")); err == nil {
			return string(b)
		}
	}
	return n.Value
}

func isEmpty(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") ||
		((n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && len(n.Content) == 0)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlErrorLine splits a YAML error into its 1-based line (0 when it has
// none) and message. yaml.v3 prints the errors of its parser (as opposed to
// its scanner) with a 0-based line.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if strings.HasPrefix(msg, "did not find expected ") || strings.HasPrefix(msg, "found undefined tag handle") ||
			strings.HasPrefix(msg, "found duplicate %") || strings.HasPrefix(msg, "found incompatible YAML document") {
			line++
		}
		return line, msg
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// clampLine keeps a reported line inside the file.
func clampLine(line int, data []byte) int {
	if line <= 0 {
		return 0
	}
	return min(line, source.LineBreaks(data)+1)
}

// maxAliasGrowth bounds how many nodes the aliases of a file may add when
// expanded: kyaml copies every alias (DeAnchor), so a few lines of nested
// aliases would otherwise take all memory.
const maxAliasGrowth = 200_000

// checkYAMLDepth refuses YAML that kustomize cannot survive: an alias
// inside its own anchor sends kyaml's DeAnchor into unbounded recursion (a
// stack overflow is fatal, not a panic), and nested aliases expand
// exponentially. Strings that embed YAML (inline patches) are checked too.
// Data that does not parse is left for kustomize to report.
func checkYAMLDepth(data []byte, depth int) error {
	if bytes.IndexByte(data, '*') < 0 || depth > 4 {
		return nil
	}
	docs, _ := source.DecodeNodes(data)
	for _, d := range docs {
		if err := checkAliases(d, depth); err != nil {
			return err
		}
	}
	return nil
}

// checkAliases checks the aliases of a parsed document.
func checkAliases(doc *yaml.Node, depth int) error {
	a := aliasCheck{memo: map[*yaml.Node]int{}, visiting: map[*yaml.Node]bool{}, depth: depth}
	a.limit = treeSize(doc, 0) + maxAliasGrowth
	_, err := a.cost(doc)
	return err
}

// treeSize counts the nodes of a document as parsed, aliases unexpanded.
func treeSize(n *yaml.Node, depth int) int {
	if n == nil || depth > 10000 {
		return 0
	}
	c := 1
	for _, ch := range n.Content {
		c += treeSize(ch, depth+1)
	}
	return c
}

type aliasCheck struct {
	memo     map[*yaml.Node]int
	visiting map[*yaml.Node]bool
	depth    int
	limit    int
}

// cost returns the number of nodes below n once aliases are expanded.
func (a *aliasCheck) cost(n *yaml.Node) (int, error) {
	if n == nil {
		return 0, nil
	}
	if c, ok := a.memo[n]; ok {
		return c, nil
	}
	if a.visiting[n] {
		return 0, fmt.Errorf("YAML alias at line %d is inside its own anchor", n.Line)
	}
	a.visiting[n] = true
	c := 1
	if n.Kind == yaml.AliasNode {
		sub, err := a.cost(n.Alias)
		if err != nil {
			return 0, err
		}
		if c += sub; c > a.limit {
			return 0, errors.New("YAML aliases expand too much")
		}
	}
	for _, ch := range n.Content {
		sub, err := a.cost(ch)
		if err != nil {
			return 0, err
		}
		c += sub
		if c > a.limit {
			return 0, errors.New("YAML aliases expand too much")
		}
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "*") && strings.Contains(n.Value, "&") {
		if err := checkYAMLDepth([]byte(n.Value), a.depth+1); err != nil {
			return 0, err
		}
	}
	a.visiting[n] = false
	a.memo[n] = c
	return c, nil
}
