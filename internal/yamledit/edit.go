package yamledit

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
)

// Edit applies edit to the node tree of a one-document YAML file and
// returns the file with the same minimal-diff rewrite the fixers get:
// changed lines spliced into the original bytes, or the document
// re-encoded in its own style when splicing cannot, never losing a
// comment. When edit reports no change, data is returned as is.
func Edit(data []byte, edit func(root *yaml.Node) (bool, error)) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("not a single YAML document")
	}
	if dup := source.DuplicateKey(&root, 0); dup != nil {
		return nil, fmt.Errorf("line %d: mapping key %q already defined", dup.Line, dup.Value)
	}
	pristine := Clone(&root)
	changed, err := edit(&root)
	if err != nil || !changed {
		return data, err
	}
	out, _, err := Rewrite(data, pristine, &root)
	if err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(out, []byte("\n")) && len(out) > 0 && bytes.HasSuffix(data, []byte("\n")) {
		out = append(out, '\n')
	}
	return out, nil
}

// Method says how Rewrite produced a document.
type Method int

// Methods.
const (
	// Spliced documents keep every line the edit did not touch.
	Spliced Method = iota
	// Reencoded documents were written again in their own style, because
	// the edit could not be spliced; no comment was lost.
	Reencoded
	// JSONEncoded documents are JSON, and were written again as JSON in
	// their own layout.
	JSONEncoded
)

// Rewrite returns orig, the bytes of one document that parsed to pristine,
// changed so that they parse to root: spliced line by line where possible,
// otherwise re-encoded in the document's own style; a JSON document is
// written as JSON. It fails rather than lose a comment, or write bytes
// that do not read back as root.
func Rewrite(orig []byte, pristine, root *yaml.Node) ([]byte, Method, error) {
	if IsJSON(orig) {
		out, err := encodeJSON(orig, root)
		if err != nil {
			return nil, JSONEncoded, fmt.Errorf("cannot rewrite as JSON: %w", err)
		}
		return out, JSONEncoded, nil
	}
	if out, err := splice(orig, pristine, root); err == nil {
		return out, Spliced, nil
	}
	out, err := encode(orig, pristine, root)
	if err != nil {
		return nil, Reencoded, fmt.Errorf("cannot rewrite: %w", err)
	}
	return out, Reencoded, nil
}
