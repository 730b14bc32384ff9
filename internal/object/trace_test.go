package object

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// fakeTracer records what Place asks, and answers line 100 + the rendered
// line: a tracer of a real chart is tested in internal/source/helm.
type fakeTracer struct {
	key     string
	missing bool
	value   string
}

func (f *fakeTracer) Place(line int, key, _ string, n *yaml.Node, missing bool) Trace {
	f.key, f.missing = key, missing
	if n != nil {
		f.value = n.Value
	}
	return Trace{Line: 100 + line, Column: 3, Via: TraceKey}
}

func (f *fakeTracer) ReleaseNamespace(int) bool { return false }

func TestPlace(t *testing.T) {
	const doc = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      securityContext:
        runAsUser: 1000
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	o, ok := New(root.Content[0], "t.yaml", 10)
	if !ok {
		t.Fatal("not an object")
	}
	ft := &fakeTracer{}
	o.Tracer = ft
	c := At(o.Node, "spec.containers[0]")
	sc := At(o.Node, "spec.containers[0].securityContext")
	tests := []struct {
		name     string
		ref      Ref
		line     int
		key      string
		missing  bool
		value    string
		rendered int
	}{
		{"existing field, key node given", Ref{Path: "spec.containers[0].securityContext.runAsUser", Node: KeyNode(sc, "runAsUser")}, 119, "runAsUser", false, "1000", 19},
		{"list item", Ref{Path: "spec.containers[0]", Node: c}, 117, "-", false, "", 17},
		{"missing field: its parent's key", Ref{Path: "spec.containers[0].securityContext.runAsGroup", Node: sc}, 118, "securityContext", true, "", 18},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			*ft = fakeTracer{}
			line, col, tr := o.Place(tc.ref)
			if tr == nil || line != tc.line || col != 3 || tr.Rendered != tc.rendered {
				t.Fatalf("Place = %d:%d %+v, want line %d, rendered %d", line, col, tr, tc.line, tc.rendered)
			}
			if ft.key != tc.key || ft.missing != tc.missing || ft.value != tc.value {
				t.Errorf("tracer asked key %q missing %v value %q, want %q %v %q", ft.key, ft.missing, ft.value, tc.key, tc.missing, tc.value)
			}
		})
	}
	// Without a tracer, Place is Pos.
	o.Tracer = nil
	r := Ref{Path: "spec", Node: At(o.Node, "spec")}
	if line, col, tr := o.Place(r); tr != nil || line != 16 || col != 3 {
		t.Errorf("untraced Place = %d:%d %v, want 16:3 nil", line, col, tr)
	}
}
