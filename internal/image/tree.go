package image

import (
	"strings"
)

// node is one path of the merged filesystem, or a path a whiteout names.
// Paths are a tree of nodes keyed by (parent, name), so that walking a
// path costs the length of the path once: looking each ancestor up by its
// full path would cost the square of its depth.
type node struct {
	parent *node
	name   string
	file   *File
	// whiteout and opaque are the markers of the layers above the one
	// being flattened.
	whiteout, opaque bool
	// live says a File lies at or below the node: the directory exists,
	// listed or implied by its entries.
	live bool
}

// edge keys a node by its parent and name.
type edge struct {
	parent *node
	name   string
}

// tree is the filesystem as nodes.
type tree struct {
	root  *node
	nodes map[edge]*node
}

func newTree() *tree { return &tree{root: &node{live: true}, nodes: map[edge]*node{}} }

func (t *tree) child(n *node, name string) *node { return t.nodes[edge{n, name}] }

// make returns n's child name, creating it.
func (t *tree) make(n *node, name string) *node {
	k := edge{n, name}
	c := t.nodes[k]
	if c == nil {
		c = &node{parent: n, name: name}
		t.nodes[k] = c
	}
	return c
}

// makePath returns the node of the clean absolute path p, creating it and
// its ancestors.
func (t *tree) makePath(p string) *node {
	n := t.root
	for rest := p[1:]; rest != ""; {
		c, r, _ := strings.Cut(rest, "/")
		n, rest = t.make(n, c), r
	}
	return n
}

// set puts f at n and marks n and its ancestors live.
func (t *tree) set(n *node, f *File) {
	n.file = f
	for a := n; a != nil && !a.live; a = a.parent {
		a.live = true
	}
}

// path is n's clean absolute path.
func (n *node) path() string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for a := n; a.parent != nil; a = a.parent {
		parts = append(parts, a.name)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// index returns the image's tree: the flattener's, or one built from
// Files for an Image made by hand.
func (img *Image) index() *tree {
	if t := img.tree.Load(); t != nil {
		return t
	}
	t := newTree()
	for p, f := range img.Files {
		t.set(t.makePath(cleanPath(p)), f)
	}
	img.tree.CompareAndSwap(nil, t)
	return img.tree.Load()
}
