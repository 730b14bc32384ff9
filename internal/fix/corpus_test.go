package fix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/corpustest"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
	"github.com/kubeharden/kubeharden/internal/yamledit"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// corpusStats are the numbers TestCorpus logs.
type corpusStats struct {
	files, parseErrors, inputErrors, fixedFiles int
	docs, changed, spliced, encoded, applied    int
	encodedFiles                                []string
}

// TestCorpus fixes every file of the real-world corpus and proves the
// properties of fixProperties on each.
func TestCorpus(t *testing.T) {
	// The real-world manifests of the shared corpus (see its SOURCES.md).
	corpusDir, paths := corpustest.Files(t, "real", func(name string) bool {
		return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
	})
	st := &corpusStats{}
	for _, p := range paths {
		rel, _ := filepath.Rel(corpusDir, p)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fixProperties(t, filepath.Base(p), data, st)
		})
	}
	t.Logf("%d files (%d do not parse, %d with other input errors), %d documents, %d changed in %d files (%d spliced, %d re-encoded), %d fixes",
		st.files, st.parseErrors, st.inputErrors, st.docs, st.changed, st.fixedFiles, st.spliced, st.encoded, st.applied)
	if len(st.encodedFiles) > 0 {
		t.Logf("re-encoded: %s", strings.Join(st.encodedFiles, ", "))
	}
}

// TestFixProperties proves the same properties on the golden inputs,
// fixed with every check, and on inputs the corpus lacks.
func TestFixProperties(t *testing.T) {
	ins, err := filepath.Glob("testdata/*/in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	st := &corpusStats{}
	for _, p := range ins {
		dir := filepath.Base(filepath.Dir(p))
		t.Run(dir, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fixProperties(t, dir+"/in.yaml", data, st)
		})
	}
	t.Logf("%d golden inputs: %d documents changed (%d spliced, %d re-encoded: %s)",
		len(ins), st.changed, st.spliced, st.encoded, strings.Join(st.encodedFiles, ", "))
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: i\n  - name: b\n    image: i\n"
	for _, tc := range []struct{ name, in string }{
		{"tmp volume name taken", pod + "  volumes:\n  - name: tmp\n    configMap:\n      name: x\n"},
		{"both tmp volume names taken", pod + "  volumes:\n  - name: tmp\n    configMap:\n      name: x\n  - name: kubeharden-tmp\n    secret:\n      secretName: y\n"},
		{"tmp emptyDir shared", pod + "  volumes:\n  - name: tmp\n    emptyDir: {}\n"},
		{"list of pods", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n  spec:\n    containers:\n    - name: a\n      image: i\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n  spec:\n    containers:\n    - {name: b, image: i}\n"},
		{"broken YAML", pod + "---\nspec: [ {a\n"},
		{"duplicate key", pod + "  containers: []\n"},
		{"list item not an object", "apiVersion: v1\nkind: List\nitems:\n- 3\n- " + strings.ReplaceAll(strings.TrimSuffix(pod, "\n"), "\n", "\n  ") + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { fixProperties(t, "in.yaml", []byte(tc.in), &corpusStats{}) })
	}
}

// fixProperties fixes data, a file called name, with the default options
// and requires: an error and nothing else when the file does not parse, no
// error otherwise; idempotence; unfixed documents byte for byte; in a fixed
// document, no change but in the fields its Applied records name, every
// comment kept, and no new invalid volume; none of the fixed findings in a
// re-scan, and no new input error.
func fixProperties(t *testing.T, name string, data []byte, st *corpusStats) {
	st.files++
	// A file does not parse when it does not split, or a document does
	// not decode (yaml.v3 also refuses a mapping key written twice, which
	// kubectl refuses too).
	docs, errs := source.Split(name, data)
	var parseErr error
	if len(errs) > 0 {
		parseErr = errs[0]
	}
	for _, d := range docs {
		dec := yaml.NewDecoder(bytes.NewReader(d.Data))
		for parseErr == nil {
			var v any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				parseErr = err
			}
		}
	}
	encoded := 0
	rewritten = func(m yamledit.Method) {
		if m == yamledit.Reencoded {
			encoded++
			st.encoded++
		} else {
			st.spliced++
		}
	}
	out, applied, err := Manifest(data, Options{})
	rewritten = nil
	if encoded > 0 {
		st.encodedFiles = append(st.encodedFiles, name)
	}
	if parseErr != nil {
		st.parseErrors++
		if err == nil || out != nil || applied != nil {
			t.Fatalf("the file does not parse (%v), but the fix returned err %v, %d bytes, %d fixes", parseErr, err, len(out), len(applied))
		}
		return
	}
	path := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	inputErrs := scantest.Paths([]string{path}, scan.Options{Registry: checks.Registry()}).Errors
	if len(inputErrs) > 0 {
		st.inputErrors++
	}
	if err != nil {
		t.Fatal(err)
	}
	st.applied += len(applied)

	again, applied2, err := Manifest(out, Options{})
	if err != nil || !bytes.Equal(again, out) || len(applied2) != 0 {
		t.Fatalf("second run: err %v, %d fixes %v, output changed %t", err, len(applied2), applied2, !bytes.Equal(again, out))
	}

	outDocs, errs := source.Split(path, out)
	if len(errs) > 0 || len(outDocs) != len(docs) {
		t.Fatalf("output splits into %d documents (errors %v), input %d", len(outDocs), errs, len(docs))
	}
	st.docs += len(docs)
	var perDoc []Applied
	var joined []byte
	for i, d := range docs {
		// Each document fixed alone: the same bytes and fixes.
		fixed, app, err := Manifest(d.Data, Options{})
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		joined = append(joined, fixed...)
		perDoc = append(perDoc, app...)
		if !bytes.Equal(fixed, outDocs[i].Data) {
			t.Errorf("document %d: split output differs from the document's own fix", i)
			continue
		}
		if len(app) == 0 {
			if !bytes.Equal(d.Data, outDocs[i].Data) {
				t.Errorf("document %d changed without a fix", i)
			}
			continue
		}
		st.changed++
		sameApartFromFixes(t, d, outDocs[i], app)
		commentsKept(t, d, outDocs[i].Data)
	}
	if len(applied) == 0 {
		if !bytes.Equal(out, data) {
			t.Fatal("output differs with nothing applied")
		}
		return
	}
	st.fixedFiles++
	if !bytes.Equal(joined, out) {
		t.Error("the output is not the concatenation of its fixed documents")
	}
	if !reflect.DeepEqual(perDoc, applied) {
		t.Errorf("Manifest's fixes differ from those of its documents:\n%v\n%v", applied, perDoc)
	}
	rescan(t, path, out, applied, inputErrs)
}

// sameApartFromFixes requires that the fixed document means what the
// original meant, apart from the fields its fixes name.
func sameApartFromFixes(t *testing.T, in, out source.Document, applied []Applied) {
	t.Helper()
	a, objsA := decodeDoc(t, in)
	b, objsB := decodeDoc(t, out)
	if len(objsA) != len(objsB) {
		t.Fatalf("document %d: %d objects, %d after the fix", in.Index, len(objsA), len(objsB))
	}
	var paths []string
	for k, oa := range objsA {
		ob := objsB[k]
		if oa.String() != ob.String() || oa.prefix != ob.prefix {
			t.Fatalf("document %d: object %s%s became %s%s", in.Index, oa.prefix, oa, ob.prefix, ob)
		}
		before := volumeProblems(oa.Object)
		for _, p := range volumeProblems(ob.Object) {
			if !slices.Contains(before, p) {
				t.Errorf("document %d: %s: %s after the fix", in.Index, ob, p)
			}
		}
		for _, ap := range applied {
			if ap.Object == oa.String() {
				paths = append(paths, oa.prefix+ap.Path)
			}
		}
	}
	if len(paths) != len(applied) {
		t.Errorf("document %d: fixes name objects it does not hold once: %v", in.Index, applied)
	}
	chain := map[string]bool{}
	for _, p := range paths {
		removePath(a, p)
		removePath(b, p)
		for i := range len(p) {
			if p[i] == '.' || p[i] == '[' {
				chain[p[:i]] = true
			}
		}
		chain[p] = true
	}
	a, b = dropTombstones(a), dropTombstones(b)
	for _, d := range treeDiff(a, b, "", chain, nil) {
		t.Errorf("document %d: %s changed, but no fix names it", in.Index, d)
	}
}

// docObject is an object of a document and the path prefix of its
// fields in the document ("items[2]." for an item of a List).
type docObject struct {
	*object.Object
	prefix string
}

// decodeDoc decodes a document plainly (to maps and slices) and reads its
// objects as the fixer does; it requires the loader to read the same
// objects, with the same values, and plain decoding to agree with both.
func decodeDoc(t *testing.T, d source.Document) (any, []docObject) {
	t.Helper()
	var plain any
	if err := yaml.Unmarshal(d.Data, &plain); err != nil {
		t.Fatalf("document %d does not decode: %v\n%s", d.Index, err, d.Data)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(d.Data, &root); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(nodeValue(t, &root), plain) {
		t.Fatalf("document %d: node and plain decoding differ", d.Index)
	}
	var objs []docObject
	if o, ok := object.New(object.Resolve(&root), "", 0); ok && o.IsList() {
		for i, it := range o.Items() {
			if item, ok := object.New(it, "", 0); ok {
				objs = append(objs, docObject{item, "items[" + strconv.Itoa(i) + "]."})
			}
		}
	} else if ok {
		objs = append(objs, docObject{o, ""})
	}
	loaded, _, _ := source.Parse(d)
	if len(loaded) != len(objs) {
		t.Fatalf("document %d: the loader reads %d objects, the fixer %d", d.Index, len(loaded), len(objs))
	}
	for i, o := range loaded {
		if o.String() != objs[i].String() || !reflect.DeepEqual(nodeValue(t, o.Node), nodeValue(t, objs[i].Node)) {
			t.Fatalf("document %d: the loader reads %s, the fixer %s", d.Index, o, objs[i])
		}
	}
	return plain, objs
}

// volumeProblems lists what the API server would reject in o's volumes
// and mounts: a volume name used twice, a mount of no volume, two mounts
// at one path.
func volumeProblems(o *object.Object) []string {
	p := o.PodSpec()
	if p == nil {
		return nil
	}
	var probs []string
	vols := map[string]bool{}
	for _, v := range p.Volumes {
		if vols[v.Name] {
			probs = append(probs, "volume "+strconv.Quote(v.Name)+" defined twice")
		}
		vols[v.Name] = true
	}
	for _, c := range p.Containers {
		at := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				probs = append(probs, c.Describe()+" mounts no volume "+strconv.Quote(m.Name))
			}
			if at[m.MountPath] {
				probs = append(probs, c.Describe()+" mounts twice at "+m.MountPath)
			}
			at[m.MountPath] = true
		}
	}
	return probs
}

func nodeValue(t *testing.T, n *yaml.Node) any {
	t.Helper()
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// tombstone marks a removed sequence item, so that the indexes of the
// other paths stay valid until all are removed.
type tombstone struct{}

// removePath deletes the field at path (as the fixers write it:
// `spec.containers[0].securityContext`, annotation keys with dots) from a
// decoded tree. A key is matched greedily, the longest first, because
// annotation keys hold dots.
func removePath(v any, path string) {
	rest := path
	for {
		switch n := v.(type) {
		case map[string]any:
			key := ""
			found := false
			for k := range n {
				if (rest == k || strings.HasPrefix(rest, k+".") || strings.HasPrefix(rest, k+"[")) && (!found || len(k) > len(key)) {
					key, found = k, true
				}
			}
			if !found {
				return
			}
			if rest == key {
				delete(n, key)
				return
			}
			v, rest = n[key], strings.TrimPrefix(rest[len(key):], ".")
		case []any:
			j := strings.IndexByte(rest, ']')
			if !strings.HasPrefix(rest, "[") || j < 0 {
				return
			}
			i, err := strconv.Atoi(rest[1:j])
			if err != nil || i < 0 || i >= len(n) {
				return
			}
			if rest = rest[j+1:]; rest == "" {
				n[i] = tombstone{}
				return
			}
			v, rest = n[i], strings.TrimPrefix(rest, ".")
		default:
			return
		}
	}
}

func dropTombstones(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			n[k] = dropTombstones(c)
		}
	case []any:
		out := []any{}
		for _, c := range n {
			if _, ok := c.(tombstone); !ok {
				out = append(out, dropTombstones(c))
			}
		}
		return out
	}
	return v
}

// hollow reports whether v, at path, is null, or a mapping or sequence
// that holds nothing but hollow mappings on the way to fixed fields: what
// is left of a security context the fix created once its fields are
// removed.
func hollow(v any, path string, chain map[string]bool) bool {
	if !chain[path] {
		return false
	}
	switch n := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, c := range n {
			if !hollow(c, path+"."+k, chain) {
				return false
			}
		}
		return true
	case []any:
		return len(n) == 0
	}
	return false
}

// treeDiff returns the paths where a and b differ. On the way to a fixed
// field (chain), a hollow mapping or sequence the fix created, or emptied
// and removed, may be there on one side only, or be null on the other.
func treeDiff(a, b any, path string, chain map[string]bool, diffs []string) []string {
	if hollow(a, path, chain) && hollow(b, path, chain) {
		return diffs
	}
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		sorted := slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			va, inA := ma[k]
			vb, inB := mb[k]
			switch {
			case inA && inB:
				diffs = treeDiff(va, vb, p, chain, diffs)
			case inA && hollow(va, p, chain) || inB && hollow(vb, p, chain):
			default:
				diffs = append(diffs, p)
			}
		}
		return diffs
	}
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if okA && okB && len(la) == len(lb) {
		for i := range la {
			diffs = treeDiff(la[i], lb[i], path+"["+strconv.Itoa(i)+"]", chain, diffs)
		}
		return diffs
	}
	if !reflect.DeepEqual(a, b) {
		diffs = append(diffs, fmt.Sprintf("%s (%v -> %v)", path, a, b))
	}
	return diffs
}

// commentsKept requires every comment of in to be in out: each comment
// line, and each comment the parser attaches to a node (which also covers
// comments at the end of a line), as many times as in has it.
func commentsKept(t *testing.T, in source.Document, out []byte) {
	t.Helper()
	lines := func(b []byte) map[string]int {
		m := map[string]int{}
		for l := range strings.SplitSeq(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "#") {
				m[l]++
			}
		}
		return m
	}
	nodeComments := func(b []byte) map[string]int {
		m := map[string]int{}
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
				for l := range strings.SplitSeq(c, "\n") {
					if l = strings.TrimSpace(l); l != "" {
						m[l]++
					}
				}
			}
			for _, ch := range n.Content {
				walk(ch)
			}
		}
		walk(&root)
		return m
	}
	for _, f := range []func([]byte) map[string]int{lines, nodeComments} {
		got := f(out)
		for c, n := range f(in.Data) {
			if got[c] < n {
				t.Errorf("document %d: comment %q appears %d times, %d before the fix", in.Index, c, got[c], n)
			}
		}
	}
}

// rescan scans the fixed file and requires none of the findings of the
// checks fixed on each object, and no input error the original did not
// have.
func rescan(t *testing.T, path string, out []byte, applied []Applied, before []source.Error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	res := scantest.Paths([]string{p}, scan.Options{Registry: checks.Registry()})
	if len(res.Errors) != len(before) {
		t.Errorf("input errors before the fix %v, after %v", before, res.Errors)
	}
	fixed := map[string]map[string]bool{}
	for _, a := range applied {
		if fixed[a.Object] == nil {
			fixed[a.Object] = map[string]bool{}
		}
		fixed[a.Object][a.Check] = true
	}
	for _, f := range res.Findings {
		if f.Object != nil && fixed[objectString(f.Object)][f.Check] {
			t.Errorf("after the fix: %s %s: %s", f.Check, objectString(f.Object), f.Message)
		}
	}
}

// objectString names a finding's object as object.Object.String does.
func objectString(r *check.ObjectRef) string {
	if r.Namespace != "" {
		return r.Kind + "/" + r.Namespace + "/" + r.Name
	}
	return r.Kind + "/" + r.Name
}
