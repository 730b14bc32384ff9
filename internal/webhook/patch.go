package webhook

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// op is one JSON patch (RFC 6902) operation.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// diff appends to ops the operations that turn a into b, JSON values as
// decoded from YAML (maps with string keys, slices, scalars), at the JSON
// pointer path. Maps are patched key by key, lists of one length element
// by element, anything else replaced whole. Keys are visited in order, so
// that a patch is the same from run to run.
func diff(ops []op, path string, a, b any) []op {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if _, ok := y[k]; !ok {
				ops = append(ops, op{Op: "remove", Path: path + "/" + escape(k)})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(y)) {
			if v, ok := x[k]; ok {
				ops = diff(ops, path+"/"+escape(k), v, y[k])
			} else {
				ops = append(ops, op{Op: "add", Path: path + "/" + escape(k), Value: nullable(y[k])})
			}
		}
		return ops
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			ops = diff(ops, path+"/"+strconv.Itoa(i), x[i], y[i])
		}
		return ops
	}
	if reflect.DeepEqual(a, b) {
		return ops
	}
	return append(ops, op{Op: "replace", Path: path, Value: nullable(b)})
}

// null is a JSON null that omitempty keeps.
type null struct{}

func (null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func nullable(v any) any {
	if v == nil {
		return null{}
	}
	return v
}

// escape escapes a key as a JSON pointer token (RFC 6901).
func escape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
