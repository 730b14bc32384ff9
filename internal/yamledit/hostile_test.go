package yamledit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// bomb is a document of levels nested aliases, each used width times:
// width^levels nodes once expanded, a few hundred bytes as written.
func bomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [" + strings.TrimSuffix(strings.Repeat(`"v",`, width), ",") + "]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), width), ",")
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, refs)
	}
	fmt.Fprintf(&b, "top: {x: *a%d, y: *a%d}\n", levels, levels)
	return b.String()
}

func parse(t testing.TB, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestAliasBombLinear: comparing, cloning and copying a document of 12
// nested aliases (10^12 nodes expanded) takes milliseconds, and stays
// right: a change at the deepest anchor is seen.
func TestAliasBombLinear(t *testing.T) {
	in := bomb(12, 10)
	a, b := parse(t, in), parse(t, in)
	start := time.Now()
	if !SameNode(a, b) || !SameNode(a, Clone(a)) {
		t.Fatal("a document is not the same as itself")
	}
	c := parse(t, strings.Replace(in, `"v",`, `"w",`, 1))
	if SameNode(a, c) {
		t.Fatal("a change under twelve levels of aliases was not seen")
	}
	top := a.Content[0].Content[len(a.Content[0].Content)-1]
	cp := DeepCopy(top, 0)
	if !SameNode(cp, top) {
		t.Fatal("the copy does not mean what the original means")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
	// The copy of the bomb keeps its inner aliases: it is as small as
	// written.
	nodes := 0
	var count func(n *yaml.Node)
	count = func(n *yaml.Node) {
		nodes++
		for _, ch := range n.Content {
			count(ch)
		}
	}
	count(cp)
	if nodes > 100 {
		t.Errorf("the copy has %d nodes", nodes)
	}
	// A small aliased tree is still copied out, so that an edit of the
	// copy stays local.
	small := parse(t, "x: &x {a: &y [1], b: *y}\nz: *x\n")
	sc := DeepCopy(small.Content[0].Content[3], 0)
	var hasAlias func(n *yaml.Node) bool
	hasAlias = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			return true
		}
		for _, ch := range n.Content {
			if hasAlias(ch) {
				return true
			}
		}
		return false
	}
	if hasAlias(sc) || !SameNode(sc, small.Content[0].Content[1]) {
		t.Error("a small aliased tree was not copied out")
	}
}

// TestAliasCycle: an alias inside its own anchor (which the parser
// accepts) is never the same as anything, and copying it ends.
func TestAliasCycle(t *testing.T) {
	n := parse(t, "a: &a [*a]\n")
	if SameNode(n, parse(t, "a: &a [*a]\n")) {
		t.Error("a cyclic tree compared equal")
	}
	_ = DeepCopy(n.Content[0].Content[1], 0)
	_ = Clone(n)
}

// naiveSame is the definition SameNode must agree with: the trees
// compared node by node, aliases expanded; ok is false past budget nodes.
func naiveSame(a, b *yaml.Node, budget *int) (same, ok bool) {
	for a != nil && a.Kind == yaml.AliasNode {
		a = a.Alias
	}
	for b != nil && b.Kind == yaml.AliasNode {
		b = b.Alias
	}
	if *budget--; *budget < 0 {
		return false, false
	}
	if a == nil || b == nil {
		return a == b, true
	}
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || len(a.Content) != len(b.Content) || (a.Kind == yaml.ScalarNode && a.Value != b.Value) {
		return false, true
	}
	for i := range a.Content {
		if s, ok := naiveSame(a.Content[i], b.Content[i], budget); !ok || !s {
			return s, ok
		}
	}
	return true, true
}

// FuzzSameNode: SameNode agrees with the node-by-node comparison on every
// pair of documents small enough to expand, and a tree is the same as
// its clone and its deep copy.
func FuzzSameNode(f *testing.F) {
	f.Add("a: &x [1, 2]\nb: *x\n", "a: [1, 2]\nb: [1, 2]\n")
	f.Add("a: &x {k: v}\nb: {<<: *x}\n", "a: {k: v}\nb: {k: v}\n")
	f.Add("a: 1\n", "a: '1'\n")
	f.Add(bomb(3, 3), bomb(3, 3))
	f.Add("a: &a [*a]\n", "a: []\n")
	f.Add("- &x a\n- *x\n- !!str 1\n", "- a\n- a\n- 1\n")
	f.Fuzz(func(t *testing.T, x, y string) {
		var a, b yaml.Node
		if yaml.Unmarshal([]byte(x), &a) != nil || yaml.Unmarshal([]byte(y), &b) != nil {
			return
		}
		budget := 1 << 14
		want, ok := naiveSame(&a, &b, &budget)
		if got := SameNode(&a, &b); ok && got != want {
			t.Fatalf("SameNode = %v, node by node %v:\n%s\n----\n%s", got, want, x, y)
		}
		budget = 1 << 14
		if self, ok := naiveSame(&a, &a, &budget); ok && self {
			if !SameNode(&a, Clone(&a)) {
				t.Fatalf("not the same as its clone:\n%s", x)
			}
			if len(a.Content) == 1 && !SameNode(a.Content[0], DeepCopy(a.Content[0], 0)) {
				t.Fatalf("not the same as its copy:\n%s", x)
			}
		}
	})
}

// TestFlowComments: every comment of a flow document survives an edit
// that turns a flow mapping into a block, or the edit is refused; no
// comment is ever dropped silently.
func TestFlowComments(t *testing.T) {
	for _, in := range []string{
		"spec: {containers: [{name: c, image: x}]} # keep me\n",
		"spec: {\n  containers: [{name: c, image: x}]\n}\n# foot comment\n",
		"spec: {\n  containers: [{name: c, image: x}], # inside\n  hostNetwork: false\n}\n",
		"spec: {containers: [{name: c, # after name\n  image: x}]}\n",
		"# head\nspec: {containers: [{name: c, image: x}]} # line\n# foot\n",
		"spec: {containers: [\n  # above the item\n  {name: c, image: x}]}\n",
		"spec: {a: 1} # one\nother: {b: 2} # two\n",
		"spec:\n  containers: [{name: c}] # tail\n",
		"- {spec: {a: 1}} # item\n",
		"x:\n- {spec: {a: 1}} # item\n",
	} {
		out, err := Edit([]byte(in), func(root *yaml.Node) (bool, error) {
			m := root.Content[0]
			if m.Kind == yaml.MappingNode && m.Content[1].Kind == yaml.SequenceNode {
				m = m.Content[1]
			}
			var spec *yaml.Node
			if m.Kind == yaml.MappingNode {
				spec = m.Content[1]
			} else {
				spec = m.Content[0].Content[1]
			}
			sc := NewMap()
			SetScalar(sc, "runAsNonRoot", "!!bool", "true")
			InsertKey(spec, "securityContext", sc)
			return true, nil
		})
		if err != nil {
			if !strings.Contains(err.Error(), "comment") {
				t.Errorf("%q: refused for another reason: %v", in, err)
			}
			continue
		}
		if c := LostComment([]byte(in), out); c != "" {
			t.Errorf("%q: the comment %q was dropped:\n%s", in, c, out)
		}
		if !strings.Contains(string(out), "runAsNonRoot: true") {
			t.Errorf("%q: the edit is missing:\n%s", in, out)
		}
	}
	// The line comment of a flow mapping that becomes a block moves to
	// its key.
	out, err := Edit([]byte("spec: {containers: [{name: c}]} # keep me\n"), func(root *yaml.Node) (bool, error) {
		InsertKey(root.Content[0].Content[1], "securityContext", NewMap())
		InsertKey(root.Content[0].Content[1], "volumes", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{Scalar("!!str", "v")}})
		return true, nil
	})
	if err != nil || !strings.Contains(string(out), "spec: # keep me\n") {
		t.Errorf("got %v:\n%s", err, out)
	}
}

// TestLostCommentTrailing: a comment after a flow collection, which
// LostComment once missed (it looked only at lines starting with #).
func TestLostCommentTrailing(t *testing.T) {
	if c := LostComment([]byte("a: {b: 1} # keep me\n"), []byte("a:\n  b: 1\n")); c != "# keep me" {
		t.Errorf("LostComment = %q", c)
	}
	if c := LostComment([]byte("a: \"x # not a comment\"\n"), []byte("a: 'x # not a comment'\n")); c != "" {
		t.Errorf("a # inside a string taken for a comment: %q", c)
	}
	if c := LostComment([]byte("a: [1, # one\n 2]\n"), []byte("a: [1, 2]\n")); c != "# one" {
		t.Errorf("LostComment = %q", c)
	}
}

// TestJSONLayouts: a JSON document is written back as JSON in its own
// layout: unchanged bytes when nothing changed, valid JSON and the same
// layout when a key was added.
func TestJSONLayouts(t *testing.T) {
	v := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "<y>&"}},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "ports": []any{map[string]any{"containerPort": 80}}, "args": []any{}}}}}
	compact, _ := json.Marshal(v)
	four, _ := json.MarshalIndent(v, "", "    ")
	two, _ := json.MarshalIndent(v, "", "  ")
	tabs, _ := json.MarshalIndent(v, "", "\t")
	python := strings.NewReplacer(`":`, `": `, `,"`, `, "`).Replace(string(compact))
	for name, in := range map[string]string{
		"compact": string(compact) + "\n", "four": string(four) + "\n", "two": string(two), "tabs": string(tabs) + "\n",
		"python": python + "\n", "crlf": strings.ReplaceAll(string(two), "\n", "\r\n") + "\r\n", "lead": "\n\n" + string(two) + "\n\n",
	} {
		// json.Marshal escapes < > &: the document as written keeps them.
		in = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(in)
		root := parse(t, in)
		out, err := encodeJSON([]byte(in), root)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out) != in {
			t.Errorf("%s: an unchanged document changed:\n%s\n----\n%s", name, in, out)
		}
		pristine := Clone(root)
		spec := root.Content[0].Content[7]
		sc := NewMap()
		SetScalar(sc, "runAsUser", "!!int", "50000")
		SetScalar(sc, "runAsNonRoot", "!!bool", "true")
		InsertKey(spec, "securityContext", sc)
		out, how, err := Rewrite([]byte(in), pristine, root)
		if err != nil || how != JSONEncoded {
			t.Fatalf("%s: %v (%v)", name, err, how)
		}
		if !json.Valid(out) {
			t.Fatalf("%s: not JSON:\n%s", name, out)
		}
		var back map[string]any
		_ = json.Unmarshal(out, &back)
		if back["spec"].(map[string]any)["securityContext"].(map[string]any)["runAsUser"] != float64(50000) {
			t.Errorf("%s: the edit is missing:\n%s", name, out)
		}
		// Every line of a multi-line original is still there.
		if name == "compact" || name == "python" {
			continue
		}
		for l := range strings.SplitSeq(in, "\n") {
			if l = strings.TrimRight(l, "\r"); !strings.Contains(string(out), l) {
				t.Errorf("%s: the line %q changed:\n%s", name, l, out)
			}
		}
	}
}
