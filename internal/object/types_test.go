package object

import (
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestWrongTypes: a field of the wrong type is an error at its line,
// never a silently empty value (issue 10, item 12).
func TestWrongTypes(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n  - a\n", "spec.template must be a mapping, not a list@5"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: [1]\n", "spec must be a mapping, not a list@4"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: \"x\"\n", `spec must be a mapping, not "x"@4`},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec:\n  jobTemplate:\n    spec:\n      template: \"x\"\n", `spec.jobTemplate.spec.template must be a mapping, not "x"@7`},
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: i}]\n  volumes:\n  - name: h\n    hostPath: \"/\"\n", `spec.volumes[0].hostPath must be a mapping, not "/"@8`},
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: i}]\n  volumes:\n  - name: h\n    hostPath: {path: [a]}\n", `spec.volumes[0].hostPath.path must be a string, not a list@8`},
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: i}]\n  volumes:\n  - name: h\n    emptyDir:\n", ""},
	} {
		o := parse(t, c.src)
		var got []string
		if fe, ok := o.MissingPodSpec(); ok {
			line, _ := o.Pos(fe.Ref)
			got = append(got, fe.Message+"@"+strconv.Itoa(line))
		}
		if p := o.PodSpec(); p != nil {
			for _, e := range p.Errors {
				line, _ := o.Pos(e.Ref)
				got = append(got, e.Message+"@"+strconv.Itoa(line))
			}
		}
		if strings.Join(got, "\n") != c.want {
			t.Errorf("%s:\nerrors %q, want %q", c.src, got, c.want)
		}
	}
}

func TestMalformedAndItems(t *testing.T) {
	node := func(src string) *yaml.Node {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		return &n
	}
	for _, c := range []struct{ src, want string }{
		{"apiVersion: v1\nkind: {a: b}\n", "kind must be a string, not a mapping@2"},
		{"apiVersion: [v1]\nkind: Pod\n", "apiVersion must be a string, not a list@1"},
		{"kind: {a: b}\nname: values\n", ""},
		{"on: push\njobs: {}\n", ""},
		{"apiVersion: v1\nkind:\n", ""},
	} {
		got := ""
		if fe, ok := Malformed(node(c.src)); ok {
			got = fe.Message + "@" + strconv.Itoa(fe.Ref.Node.Line)
		}
		if got != c.want {
			t.Errorf("%q: Malformed %q, want %q", c.src, got, c.want)
		}
	}
	o := parse(t, "apiVersion: v1\nkind: List\nitems: {a: b}\n")
	if fe, ok := o.ItemsError(); !ok || fe.Message != "items of List must be a list, not a mapping" {
		t.Errorf("ItemsError = %v, %v", fe, ok)
	}
	if _, ok := parse(t, "apiVersion: v1\nkind: List\nitems: []\n").ItemsError(); ok {
		t.Error("an empty list of items is an error")
	}
}
