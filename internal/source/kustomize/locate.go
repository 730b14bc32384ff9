package kustomize

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
)

// locator finds the original of every built object: the file kustomize
// read it from, the object in that file, and the node of a field path.
type locator struct {
	dir, kfile string
	t          *tree
	files      map[string]*origFile
	// matched caches the original of each built object, per group of
	// objects that share an origin.
	matched map[*builtObject]*yaml.Node
	grouped map[string]bool
}

// origFile is an original file as parsed for locating.
type origFile struct {
	docs  []*yaml.Node
	cands []cand
}

// cand is an object of an original file that a built object may come
// from, or a generator entry of a kustomization.
type cand struct {
	kind, name, namespace string
	node                  *yaml.Node
}

func newLocator(dir, kfile string, t *tree) *locator {
	return &locator{
		dir: dir, kfile: kfile, t: t,
		files:   map[string]*origFile{},
		matched: map[*builtObject]*yaml.Node{},
		grouped: map[string]bool{},
	}
}

func notFound(string) (int, int, bool) { return 0, 0, false }

func (l *locator) originText(b *builtObject) string {
	s := "kustomize: built from " + l.dir
	if o := b.origin; o != nil && o.Repo != "" && l.t.allowRemote {
		s += "; remote " + o.Repo
		if o.Path != "" {
			s += "//" + o.Path
		}
		if o.Ref != "" {
			s += "?ref=" + o.Ref
		}
	}
	return s
}

// place returns the file of a built object and its Locate.
func (l *locator) place(b *builtObject, all []*builtObject) (string, func(string) (int, int, bool)) {
	o := b.origin
	var local string
	if o != nil {
		local = l.localPath(o)
	}
	switch {
	case o == nil:
		return l.kfile, notFound
	case local != "":
		file := l.diskPath(local)
		orig := l.original(b, all, "path\x00"+local, file, func(x *builtObject) bool {
			return x.origin != nil && l.localPath(x.origin) == local
		}, l.objects)
		if orig == nil {
			return file, notFound
		}
		rendered := b.node
		return file, func(path string) (int, int, bool) {
			n := locateIn(orig, rendered, path)
			if n == nil || n.Line <= 0 {
				return 0, 0, false
			}
			return n.Line, max(n.Column, 1), true
		}
	case o.Repo == "" && o.ConfiguredIn != "":
		file := l.diskPath(o.ConfiguredIn)
		by := o.ConfiguredBy
		key := "gen\x00" + o.ConfiguredIn + "\x00" + by.APIVersion + "\x00" + by.Kind + "\x00" + by.Name
		entry := l.original(b, all, key, file, func(x *builtObject) bool {
			return x.origin != nil && x.origin.Repo == "" && x.origin.Path == "" &&
				x.origin.ConfiguredIn == o.ConfiguredIn && x.origin.ConfiguredBy == by
		}, func(f *origFile) []cand { return generatorCands(f, by.Kind, by.Name) })
		if entry == nil {
			return file, notFound
		}
		// A generated object has no original: every field points at the
		// generator entry that made it.
		return file, func(string) (int, int, bool) { return entry.Line, max(entry.Column, 1), true }
	}
	return l.kfile, notFound
}

// diskPath joins a path kustomize recorded relative to the kustomization
// to dir. kustomize resolves ../ from the real directory, so when dir is
// reached through a symbolic link the file may only exist from there.
func (l *locator) diskPath(rel string) string {
	p := filepath.Join(l.dir, rel)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if alt := filepath.Join(realPath(l.dir), rel); alt != p {
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return p
}

// localPath returns the path of a resource's file relative to the
// kustomization, "" when it has none or it is remote. While remote bases
// are off nothing remote was built, and a repository in the origin is
// kustomize taking a local path that looks like a git URL
// (github.com/org/repo/cm.yaml, vendored) for one: the file is rebuilt from
// the repository and path.
func (l *locator) localPath(o *resource.Origin) string {
	if o.Repo == "" || o.Path == "" {
		return o.Path
	}
	if l.t.allowRemote {
		return ""
	}
	repo := o.Repo
	if i := strings.Index(repo, "://"); i >= 0 {
		repo = repo[i+3:]
	}
	repo = strings.Replace(repo, ":", "/", 1) // github.com:org/repo
	for _, p := range []string{repo + "/" + o.Path, repo + "//" + o.Path} {
		p = filepath.FromSlash(p)
		if info, err := os.Stat(filepath.Join(l.dir, p)); err == nil && info.Mode().IsRegular() {
			return filepath.Clean(p)
		}
	}
	return ""
}

// original returns the original node of b. The objects of one group (the
// built objects that share b's origin, selected by same) are matched
// together against the candidates of file, since they went through the
// same name prefixes and suffixes.
func (l *locator) original(b *builtObject, all []*builtObject, key, file string,
	same func(*builtObject) bool, candsOf func(*origFile) []cand,
) *yaml.Node {
	if !l.grouped[key] {
		l.grouped[key] = true
		f := l.file(file)
		if f != nil {
			var group []*builtObject
			for _, x := range all {
				if same(x) {
					group = append(group, x)
				}
			}
			cands := candsOf(f)
			for x, ci := range matchNames(group, cands, l.t.prefixes, l.t.suffixes) {
				l.matched[x] = cands[ci].node
			}
		}
	}
	return l.matched[b]
}

// file parses an original file once; nil when it cannot be read.
func (l *locator) file(p string) *origFile {
	if f, ok := l.files[p]; ok {
		return f
	}
	var f *origFile
	if data, err := readInput(p, l.t.l); err == nil {
		// A document that does not parse ends the file, as it ended
		// kustomize's reading of it.
		docs, _ := source.DecodeNodes(data)
		f = &origFile{docs: docs}
		for _, d := range docs {
			if checkAliases(d, 0) != nil {
				f.docs = nil // kustomize refused it
			}
		}
	}
	l.files[p] = f
	return f
}

// objects returns the Kubernetes objects of a file, and the items of its
// lists, which kustomize reads as objects too.
func (l *locator) objects(f *origFile) []cand {
	if f.cands != nil {
		return f.cands
	}
	cands := []cand{}
	for _, d := range f.docs {
		r := resolve(d)
		if r == nil || r.Kind != yaml.MappingNode {
			continue
		}
		cands = append(cands, objectCand(r))
		if strings.HasSuffix(scalar(get(r, "kind")), "List") {
			for _, it := range items(get(r, "items")) {
				if it.Kind == yaml.MappingNode {
					cands = append(cands, objectCand(it))
				}
			}
		}
	}
	f.cands = cands
	return cands
}

func objectCand(n *yaml.Node) cand {
	md := get(n, "metadata")
	return cand{kind: scalar(get(n, "kind")), name: scalar(get(md, "name")), namespace: scalar(get(md, "namespace")), node: n}
}

// generatorCands returns where a generated object can come from in the
// file its generator is configured in: a generator configuration object
// (kind and name of the generator), or an entry of a kustomization's
// configMapGenerator or secretGenerator, whose kind is the generated kind.
func generatorCands(f *origFile, genKind, genName string) []cand {
	var cands []cand
	for _, d := range f.docs {
		r := resolve(d)
		if r == nil || r.Kind != yaml.MappingNode {
			continue
		}
		if genName != "" && scalar(get(r, "kind")) == genKind && scalar(get(get(r, "metadata"), "name")) == genName {
			// A generator configuration makes objects of any kind and
			// name: match them all to it.
			return []cand{{kind: "*", node: r}}
		}
		var field, kind string
		switch genKind {
		case "ConfigMapGenerator":
			field, kind = "configMapGenerator", "ConfigMap"
		case "SecretGenerator":
			field, kind = "secretGenerator", "Secret"
		default:
			continue
		}
		for _, kv := range entries(r, 0) {
			if !strings.EqualFold(kv[0].Value, field) {
				continue
			}
			for _, it := range items(kv[1]) {
				cands = append(cands, cand{kind: kind, name: scalar(get(it, "name")), namespace: scalar(get(it, "namespace")), node: it})
			}
		}
	}
	return cands
}

// get returns the value of key in mapping n (merge keys honoured).
func get(n *yaml.Node, key string) *yaml.Node {
	_, v := lookup(n, key)
	return v
}

// lookup returns the key and value nodes of key in mapping n.
func lookup(n *yaml.Node, key string) (k, v *yaml.Node) {
	for _, kv := range entries(n, 0) {
		if kv[0].Value == key {
			return kv[0], resolve(kv[1])
		}
	}
	return nil, nil
}

// hashSuffixRE is the content hash kustomize appends to generated names.
var hashSuffixRE = regexp.MustCompile(`-[a-z0-9]{10}$`)

type pair struct{ pre, suf string }

// matchNames matches built objects to candidates, returning the index of
// each matched object's candidate. A built name is the original name
// wrapped in name prefixes and suffixes of the tree (and a hash suffix for
// generated objects). The objects of one file all went through the same
// kustomizations, so the wrapping that explains the most of them is
// preferred: with namePrefix "prod-" and originals "web" and "prod-web",
// the built "prod-web" is the former. An object that no wrapping explains
// (a patch renamed it) still matches the only candidate of its kind. An
// ambiguous object matches nothing.
func matchNames(outs []*builtObject, cands []cand, prefixes, suffixes map[string]bool) map[*builtObject]int {
	type viable struct {
		p pair
		c int
	}
	byName := map[string][]int{}
	var any []int
	for ci, c := range cands {
		if c.kind == "*" {
			any = append(any, ci)
		} else if c.name != "" {
			byName[c.kind+"\x00"+c.name] = append(byName[c.kind+"\x00"+c.name], ci)
		}
	}
	vs := make([][]viable, len(outs))
	count := map[pair]int{}
	for i, o := range outs {
		for _, ci := range any {
			vs[i] = append(vs[i], viable{c: ci})
		}
		seen := map[pair]bool{}
		for _, name := range nameVariants(o.name) {
			// Every split of the name into composed prefixes, an
			// original name and composed suffixes.
			pre := composedPrefixes(name, prefixes)
			suf := composedSuffixes(name, suffixes)
			for _, a := range pre {
				for _, b := range suf {
					if b <= a {
						continue
					}
					for _, ci := range byName[o.kind+"\x00"+name[a:b]] {
						p := pair{name[:a], name[b:]}
						vs[i] = append(vs[i], viable{p, ci})
						if !seen[p] {
							seen[p] = true
							count[p]++
						}
					}
				}
			}
		}
	}
	pairs := make([]pair, 0, len(count))
	for p := range count {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		if la, lb := len(a.pre)+len(a.suf), len(b.pre)+len(b.suf); la != lb {
			return la > lb
		}
		if a.pre != b.pre {
			return a.pre < b.pre
		}
		return a.suf < b.suf
	})
	kindCount := map[string][]int{}
	for ci, c := range cands {
		kindCount[c.kind] = append(kindCount[c.kind], ci)
	}
	res := map[*builtObject]int{}
	for i, o := range outs {
		choose := func(keep func(viable) bool) int {
			var cs []int
			for _, v := range vs[i] {
				if keep(v) && !containsInt(cs, v.c) {
					cs = append(cs, v.c)
				}
			}
			return pickOne(cs, cands, o)
		}
		pick := -1
		if len(pairs) > 0 {
			best := pairs[0]
			pick = choose(func(v viable) bool { return v.p == best })
		}
		if pick < 0 {
			pick = choose(func(viable) bool { return true })
		}
		if cs := kindCount[o.kind]; pick < 0 && len(cs) == 1 {
			pick = cs[0]
		}
		if pick >= 0 {
			res[o] = pick
		}
	}
	return res
}

// composedPrefixes returns every i such that name[:i] is a concatenation
// of prefixes (0 always).
func composedPrefixes(name string, parts map[string]bool) []int {
	ok := make([]bool, len(name)+1)
	ok[0] = true
	out := []int{0}
	for i := 1; i <= len(name) && len(parts) > 0; i++ {
		for p := range parts {
			if p != "" && len(p) <= i && ok[i-len(p)] && name[i-len(p):i] == p {
				ok[i] = true
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// composedSuffixes returns every j such that name[j:] is a concatenation
// of suffixes (len(name) always).
func composedSuffixes(name string, parts map[string]bool) []int {
	ok := make([]bool, len(name)+1)
	ok[len(name)] = true
	out := []int{len(name)}
	for j := len(name) - 1; j >= 0 && len(parts) > 0; j-- {
		for p := range parts {
			if p != "" && j+len(p) <= len(name) && ok[j+len(p)] && name[j:j+len(p)] == p {
				ok[j] = true
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// pickOne returns the only candidate, or the only one in the object's
// namespace; -1 when there is none or the choice is ambiguous.
func pickOne(cs []int, cands []cand, o *builtObject) int {
	if len(cs) == 1 {
		return cs[0]
	}
	found := -1
	for _, ci := range cs {
		if cands[ci].namespace == o.namespace {
			if found >= 0 {
				return -1
			}
			found = ci
		}
	}
	return found
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func nameVariants(name string) []string {
	if hashSuffixRE.MatchString(name) {
		return []string{name, name[:len(name)-11]}
	}
	return []string{name}
}

// locateIn follows a field path of a built object (rendered) through its
// original (orig) and returns the deepest original node on the path: the
// key node of a mapping field, the item node of a list item. List items
// are matched by identity (name, mountPath...), not position, since a
// patch may add or reorder them; an item the original lacks ends the walk
// at its list.
func locateIn(orig, rendered *yaml.Node, path string) *yaml.Node {
	best := orig
	o, r := resolve(orig), resolve(rendered)
	rem := path
	for steps := 0; rem != "" && steps < 1000; steps++ {
		if rem[0] == '[' {
			end := strings.IndexByte(rem, ']')
			if end < 0 {
				break
			}
			idx, err := strconv.Atoi(rem[1:end])
			rem = strings.TrimPrefix(rem[end+1:], ".")
			if err != nil || idx < 0 || r == nil || r.Kind != yaml.SequenceNode || idx >= len(r.Content) ||
				o == nil || o.Kind != yaml.SequenceNode {
				break
			}
			it := matchItem(o, r, idx)
			if it == nil {
				break
			}
			best, o, r = it, resolve(it), resolve(r.Content[idx])
			continue
		}
		if r == nil || r.Kind != yaml.MappingNode {
			break
		}
		key, rv := pathKey(r, rem)
		if key == "" {
			break
		}
		rem = strings.TrimPrefix(rem[len(key):], ".")
		k, v := lookup(o, key)
		if k == nil {
			break
		}
		best, o, r = k, v, resolve(rv)
	}
	return best
}

// pathKey finds the key of mapping n that path starts with; keys may hold
// dots (annotation names), so the longest one wins.
func pathKey(n *yaml.Node, path string) (string, *yaml.Node) {
	var key string
	var val *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == "" || len(k) <= len(key) || !strings.HasPrefix(path, k) {
			continue
		}
		if rest := path[len(k):]; rest == "" || rest[0] == '.' || rest[0] == '[' {
			key, val = k, n.Content[i+1]
		}
	}
	return key, val
}

// identityKeys identify list items: volume mounts by mount path (several
// may mount one volume), most other items by name.
var identityKeys = []string{"mountPath", "devicePath", "name", "containerPort", "ip", "topologyKey"}

// matchItem returns the item of the original list o that is item idx of
// the built list r, nil when the original has no such item.
func matchItem(o, r *yaml.Node, idx int) *yaml.Node {
	ri := resolve(r.Content[idx])
	sameLen := len(o.Content) == len(r.Content)
	if ri == nil {
		return nil
	}
	switch ri.Kind {
	case yaml.MappingNode:
		for _, k := range identityKeys {
			want := scalar(get(ri, k))
			if want == "" {
				continue
			}
			var found []int
			for j, it := range o.Content {
				if it := resolve(it); it != nil && it.Kind == yaml.MappingNode && scalar(get(it, k)) == want {
					found = append(found, j)
				}
			}
			switch {
			case len(found) == 0:
				return nil
			case containsInt(found, idx):
				return o.Content[idx]
			}
			return o.Content[found[0]]
		}
	case yaml.ScalarNode:
		if idx < len(o.Content) && scalar(o.Content[idx]) == ri.Value {
			return o.Content[idx]
		}
		for _, it := range o.Content {
			if s := resolve(it); s != nil && s.Kind == yaml.ScalarNode && s.Value == ri.Value {
				return it
			}
		}
	}
	if sameLen {
		return o.Content[idx]
	}
	return nil
}
