package kustomize

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/source"
)

// kustomizationNames are the file names kustomize looks a kustomization up
// by, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Limits that keep a hostile tree from exhausting the walk.
const (
	maxDepth    = 64
	maxVisits   = 10000
	maxFileSize = 16 << 20
)

// tree is what the walk learns about a kustomization and everything it
// reaches locally, before kustomize runs.
type tree struct {
	allowRemote bool
	errs        []source.Error
	visited     map[string]bool
	// prefixes and suffixes are every namePrefix and nameSuffix of the
	// tree: a built name is the original name wrapped in some of them.
	prefixes, suffixes map[string]bool
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
func walkTree(kfile string, allowRemote bool) *tree {
	t := &tree{
		allowRemote: allowRemote,
		visited:     map[string]bool{},
		prefixes:    map[string]bool{},
		suffixes:    map[string]bool{},
	}
	t.kustomization(kfile, false, 0)
	return t
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
	key := realPath(p)
	if configs {
		key += "\x00configs"
	}
	if t.visited[key] || len(t.visited) >= maxVisits {
		return false
	}
	t.visited[key] = true
	return true
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

// readRegular reads a regular file of bounded size: a kustomization may
// name /dev/zero or a FIFO, which must not hang the scan.
func readRegular(p string) ([]byte, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", maxFileSize>>20)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// parseDocs parses every document of a YAML stream.
func parseDocs(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, &n)
	}
}

// kustomization walks one kustomization file. configs is true when the
// resources it lists are plugin configurations (it was reached through
// generators, transformers or validators).
func (t *tree) kustomization(kfile string, configs bool, depth int) {
	if depth > maxDepth || !t.visit(kfile, configs) {
		return
	}
	data, err := readRegular(kfile)
	if err != nil {
		t.errorf(kfile, nil, "cannot read: %v", err)
		return
	}
	docs, err := parseDocs(data)
	if err != nil {
		line, msg := yamlErrorLine(err)
		t.errs = append(t.errs, source.Error{File: kfile, Line: clampLine(line, data), Message: "invalid kustomization: " + msg})
		return
	}
	for _, d := range docs {
		if err := checkAliases(d, 0); err != nil {
			t.errorf(kfile, nil, "invalid kustomization: %v", err)
			return
		}
	}
	kdir := filepath.Dir(kfile)
	for _, d := range docs {
		root := resolve(d)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		for _, kv := range entries(root, 0) {
			t.field(kfile, kdir, kv[0], kv[1], configs, depth)
		}
	}
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

// field checks one top-level field of a kustomization.
func (t *tree) field(kfile, kdir string, key, val *yaml.Node, configs bool, depth int) {
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
			t.resource(kfile, kdir, it, configs, depth, "base")
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
			t.dir(filepath.Join(kdir, p), configs, depth)
		}
	case "generators", "transformers", "validators":
		for _, it := range items(val) {
			p := scalar(it)
			if p == "" {
				continue
			}
			// An entry is an inline plugin configuration when it parses as
			// one, else a path: both are checked.
			if docs, err := parseDocs([]byte(p)); err == nil {
				for _, d := range docs {
					if err := checkAliases(d, 0); err != nil {
						t.errorf(kfile, it, "invalid plugin configuration: %v", err)
						return
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
			}
		}
	case "patches", "patchesjson6902", "replacements":
		for _, it := range items(val) {
			t.pathKeys(kfile, it, nil)
		}
	case "openapi":
		t.pathKeys(kfile, val, nil)
	case "configmapgenerator", "secretgenerator":
		for _, it := range items(val) {
			t.pathKeys(kfile, it, nil)
		}
	}
}

// resource checks an entry that kustomize loads as a file, else as a
// directory or git repository.
func (t *tree) resource(kfile, kdir string, it *yaml.Node, configs bool, depth int, what string) {
	p := scalar(it)
	if p == "" {
		return
	}
	if isHTTP(p) {
		t.remote(kfile, it, "resource", p)
		return
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(kdir, p)
	}
	info, err := os.Stat(full)
	// kustomize loads a file first, and only when that fails tries the
	// entry as a directory or git URL: a local file whose name looks like
	// a URL is local only if kustomize will load it.
	if err == nil && info.Mode().IsRegular() && (!isGitLike(p) || loadable(kdir, full)) {
		if configs {
			t.configFile(full)
		}
		return
	}
	if isGitLike(p) {
		t.remote(kfile, it, what, p)
		return
	}
	if err == nil && info.IsDir() {
		t.dir(full, configs, depth)
	}
}

// loadable reports whether kustomize will read file as resources: inside
// the kustomization's root, parsing, every document an object with a kind
// and a name, or a list.
func loadable(kdir, file string) bool {
	root, real := realPath(kdir), realPath(file)
	if !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return false
	}
	data, err := readRegular(file)
	if err != nil {
		return false
	}
	docs, err := parseDocs(data)
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

func (t *tree) dir(d string, configs bool, depth int) {
	if k := findKustomization(d); k != "" {
		t.kustomization(k, configs, depth+1)
	}
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
	data, err := readRegular(p)
	if err != nil {
		return // kustomize reports it
	}
	docs, err := parseDocs(data)
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
	t.pathKeys(file, n, at)
}

// pathFields are the keys files are loaded from.
var pathFields = []string{"path", "paths", "files", "envs", "env"}

// pathKeys looks below n for the keys builtin plugins and kustomization
// fields load files from, and reports those that are URLs.
func (t *tree) pathKeys(file string, n, at *yaml.Node) {
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

// checkYAML refuses YAML that kustomize cannot survive: an alias inside
// its own anchor sends kyaml's DeAnchor into unbounded recursion (a stack
// overflow is fatal, not a panic), and nested aliases expand
// exponentially. Strings that embed YAML (inline patches) are checked too.
// Data that does not parse is left for kustomize to report.
func checkYAML(data []byte) error {
	return checkYAMLDepth(data, 0)
}

func checkYAMLDepth(data []byte, depth int) error {
	if bytes.IndexByte(data, '*') < 0 || depth > 4 {
		return nil
	}
	docs, _ := parseDocs(data)
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
