package fix

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kubeharden/kubeharden/internal/source"
	"go.yaml.in/yaml/v3"
)

// EditYAML applies edit to the node tree of a one-document YAML file and
// returns the file with the same minimal-diff rewrite the fixers get:
// changed lines spliced into the original bytes, or the document
// re-encoded in its own style when splicing cannot, never losing a
// comment. When edit reports no change, data is returned as is.
func EditYAML(data []byte, edit func(root *yaml.Node) (bool, error)) ([]byte, error) {
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
	pristine := clone(&root)
	changed, err := edit(&root)
	if err != nil || !changed {
		return data, err
	}
	if out, err := splice(data, pristine, &root); err == nil {
		return out, nil
	}
	out, err := encode(data, &root)
	if err != nil {
		return nil, fmt.Errorf("cannot rewrite: %w", err)
	}
	if !bytes.HasSuffix(out, []byte("\n")) && len(out) > 0 && bytes.HasSuffix(data, []byte("\n")) {
		out = append(out, '\n')
	}
	return out, nil
}
