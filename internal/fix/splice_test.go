package fix

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// spliceOf runs the fixers on one document and returns the splice result.
func spliceOf(t *testing.T, in string) ([]byte, error) {
	t.Helper()
	var pristine, root yaml.Node
	if err := yaml.Unmarshal([]byte(in), &pristine); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(in), &root); err != nil {
		t.Fatal(err)
	}
	f := &fixer{opts: Options{UID: DefaultID, GID: DefaultID}}
	o, ok := object.New(object.Resolve(&root), "", 0)
	if !ok {
		t.Fatal("not an object")
	}
	f.object(o)
	if len(f.applied) == 0 {
		t.Fatal("nothing applied")
	}
	return splice([]byte(in), &pristine, &root)
}

func TestSpliceFlowFallsBack(t *testing.T) {
	in, err := os.ReadFile("testdata/splice-flow-fallback/in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spliceOf(t, string(in)); err == nil {
		t.Fatal("a flow-style security context was spliced; want the re-encoding fallback")
	}
}

func TestSpliceKeepsUntouchedLines(t *testing.T) {
	in, err := os.ReadFile("testdata/splice-layout/in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := spliceOf(t, string(in))
	if err != nil {
		t.Fatal(err)
	}
	// Every input line is still there, in order, except edited values.
	outLines := strings.Split(string(out), "\n")
	j := 0
	for _, l := range strings.Split(string(in), "\n") {
		if strings.Contains(l, "privileged: true") || strings.Contains(l, "runAsUser: 0") {
			continue
		}
		for j < len(outLines) && outLines[j] != l {
			j++
		}
		if j == len(outLines) {
			t.Fatalf("line %q lost or moved:\n%s", l, out)
		}
	}
	for _, want := range []string{"\n\nspec:\n", "    -   name: app      # the app\n", "privileged: false    # was for debugging"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
