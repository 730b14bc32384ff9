package fix_test

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/fix"
)

// TestRefusedFixInList: when a fix in a List item is undone (the fast
// path failed), the item gets its own tree back, not the List's nor
// another item's, whatever else the List holds.
func TestRefusedFixInList(t *testing.T) {
	item := `- apiVersion: v1
  kind: Pod
  metadata:
    name: p
  spec:
    containers:
    - name: a
      image: nginx:1
      securityContext:
        privileged: true
    - name: b
      image: nginx:1
`
	for name, items := range map[string]string{
		"one item":             item,
		"after a non-object":   "- 42\n" + item,
		"after another object": "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n" + item,
	} {
		t.Run(name, func(t *testing.T) {
			in := "apiVersion: v1\nkind: List\nitems:\n" + items
			out, applied, err := fix.Manifest([]byte(in), fix.Options{Checks: map[string]bool{"allow-privilege-escalation": true}})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(in, "    - name: b\n      image: nginx:1\n", "    - name: b\n      image: nginx:1\n      securityContext:\n        allowPrivilegeEscalation: false\n", 1)
			if string(out) != want || len(applied) != 1 {
				t.Errorf("applied %v, got:\n%s\nwant:\n%s", applied, out, want)
			}
		})
	}
}
