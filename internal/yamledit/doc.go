// Package yamledit edits YAML documents with the smallest diff: the edited
// node tree is compared with the tree as parsed, and only the lines that
// changed are spliced into the original bytes, comments and layout kept;
// when a change cannot be spliced, the document is re-encoded in its own
// indentation style, and refused when that would lose a comment. It also
// holds the node helpers that fixes edit a mapping with.
package yamledit
