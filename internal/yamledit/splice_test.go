package yamledit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

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
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{all, Scalar("!!str", "NET_RAW")}},
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
	files, err := filepath.Glob("../fix/testdata/*/in.yaml")
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
			c := Clone(&n)
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
