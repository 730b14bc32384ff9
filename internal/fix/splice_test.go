package fix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// spliceOf runs the fixers on one document and returns the splice result.
func spliceOf(t *testing.T, in string) ([]byte, error) {
	t.Helper()
	var pristine, root yaml.Node
	if err := yaml.Unmarshal([]byte(in), &pristine); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(in), &root); err != nil {
		t.Fatal(err)
	}
	f := &fixer{opts: Options{UID: DefaultID, GID: DefaultID}}
	o, ok := object.New(object.Resolve(&root), "", 0)
	if !ok {
		t.Fatal("not an object")
	}
	f.object(o)
	if len(f.applied) == 0 {
		t.Fatal("nothing applied")
	}
	return splice([]byte(in), &pristine, &root)
}

func TestSpliceFlowFallsBack(t *testing.T) {
	in, err := os.ReadFile("testdata/splice-flow-fallback/in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spliceOf(t, string(in)); err == nil {
		t.Fatal("a flow-style security context was spliced; want the re-encoding fallback")
	}
}

func TestSpliceKeepsUntouchedLines(t *testing.T) {
	in, err := os.ReadFile("testdata/splice-layout/in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := spliceOf(t, string(in))
	if err != nil {
		t.Fatal(err)
	}
	// Every input line is still there, in order, except edited values.
	outLines := strings.Split(string(out), "\n")
	j := 0
	for _, l := range strings.Split(string(in), "\n") {
		if strings.Contains(l, "privileged: true") || strings.Contains(l, "runAsUser: 0") {
			continue
		}
		for j < len(outLines) && outLines[j] != l {
			j++
		}
		if j == len(outLines) {
			t.Fatalf("line %q lost or moved:\n%s", l, out)
		}
	}
	for _, want := range []string{"\n\nspec:\n", "    -   name: app      # the app\n", "privileged: false    # was for debugging"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestSpliceStyles requires the layout goldens to be spliced, not
// re-encoded: only splicing keeps "-   " items, and their out.yaml shows
// that inserted sequences and items copy the document's style.
func TestSpliceStyles(t *testing.T) {
	for _, dir := range []string{"splice-layout", "splice-seq-compact", "splice-seq-indented", "splice-dash-spaces", "splice-indent-4"} {
		t.Run(dir, func(t *testing.T) {
			in, err := os.ReadFile("testdata/" + dir + "/in.yaml")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			spliced = func(err error) {
				n++
				if err != nil {
					t.Errorf("document re-encoded: %v", err)
				}
			}
			defer func() { spliced = nil }()
			if _, _, err := Manifest(in, Options{}); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Error("nothing spliced")
			}
		})
	}
}

func TestLayoutOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want layout
	}{
		{"a:\n  b:\n  - c: 1\n    d: 2\n", layout{indent: 2, offset: 0, gap: 2}},
		{"a:\n  b:\n    - c: 1\n      d: 2\n", layout{indent: 2, offset: 2, gap: 2}},
		{"a:\n    b:\n    -   c: 1\n        d: 2\n", layout{indent: 4, offset: 0, gap: 4}},
		{"a:\n    b:\n        - c: 1\n          d: 2\n", layout{indent: 4, offset: 4, gap: 2}},
		// The majority wins; flow collections do not vote.
		{"a:\n  b:\n  - 1\n  c:\n  - 2\n  d:\n    - 3\n  e: [4, 5]\n", layout{indent: 2, offset: 0, gap: 2}},
		// Nothing to read: the line-based guess.
		{"a: 1\n", layout{indent: 2, offset: 0, gap: 2}},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.in), &n); err != nil {
			t.Fatal(err)
		}
		if got := layoutOf(n.Content[0], detect([]byte(tc.in))); got != tc.want {
			t.Errorf("layoutOf(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestFastInline requires the hand-written tokens to be what yaml.Marshal
// writes, and to read back as the same node.
func TestFastInline(t *testing.T) {
	var nodes []*yaml.Node
	for _, v := range []string{"ALL", "RuntimeDefault", "/tmp", "tmp", "kubeharden-tmp", "registry/app:1@sha256:ab12", "a:", "a:b", "a b",
		"true", "True", "yes", "Y", "n", "NULL", "null", "~", "", "0755", "050000", "50000", "-1", "-", "1e3", ".inf", "0x1F", "@x", "x#y", "é"} {
		for _, tag := range []string{"!!str", "!!int", "!!bool"} {
			for _, st := range []yaml.Style{0, yaml.DoubleQuotedStyle} {
				nodes = append(nodes, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Style: st})
			}
		}
	}
	all := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "ALL", Style: yaml.DoubleQuotedStyle}
	nodes = append(nodes,
		&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle},
		&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{all}},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{all, scalar("!!str", "NET_RAW")}},
	)
	fast := 0
	for _, n := range nodes {
		tok, ok := fastInline(n)
		if !ok {
			continue
		}
		fast++
		out, err := yaml.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(string(out), "\n"); tok != want {
			t.Errorf("%s %q (style %d): %q, yaml.Marshal writes %q", n.Tag, n.Value, n.Style, tok, want)
		}
		var back yaml.Node
		if err := yaml.Unmarshal([]byte(tok), &back); err != nil || !SameNode(back.Content[0], n) {
			t.Errorf("%s %q: %q reads back as %v (%v)", n.Tag, n.Value, tok, back.Content, err)
		}
	}
	if fast < 20 {
		t.Errorf("only %d of %d nodes written by hand", fast, len(nodes))
	}
}

// TestClone requires a clone to be the parsed tree, positions included,
// sharing no node with it, aliases included.
func TestClone(t *testing.T) {
	files, err := filepath.Glob("testdata/*/in.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	inputs := []string{"a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: [*x, &y 2, *y]\n"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		dec := yaml.NewDecoder(strings.NewReader(in))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				break
			}
			c := clone(&n)
			orig := map[*yaml.Node]bool{}
			var mark func(*yaml.Node)
			mark = func(x *yaml.Node) {
				orig[x] = true
				for _, ch := range x.Content {
					mark(ch)
				}
			}
			mark(&n)
			var check func(a, b *yaml.Node)
			check = func(a, b *yaml.Node) {
				if orig[b] || (b.Alias != nil && orig[b.Alias]) {
					t.Fatalf("the clone shares a node with the original at line %d", a.Line)
				}
				if a.Kind != b.Kind || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || a.Anchor != b.Anchor || len(a.Content) != len(b.Content) {
					t.Fatalf("clone differs at line %d", a.Line)
				}
				for i := range a.Content {
					check(a.Content[i], b.Content[i])
				}
			}
			check(&n, c)
			if !SameNode(c, &n) {
				t.Errorf("clone does not mean what the document means:\n%s", in)
			}
		}
	}
}
