package source

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// DecodeNodes decodes every document of a YAML stream into its node tree.
// On an error it returns the documents decoded before it, with the error.
// It applies no limit: callers decode data already bounded (a document
// read under the limits, or output kubeharden wrote itself).
func DecodeNodes(data []byte) ([]*yaml.Node, error) {
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
