package webhook

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// TestFactKinds: every object of the checks' test data that keeps a fact
// is of a kind the webhook watches, or a workload (whose facts are only
// about itself): a check that starts keeping facts of another kind fails
// here until FactKinds lists it.
func TestFactKinds(t *testing.T) {
	e := scan.New(scan.Options{Registry: checks.Registry()})
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join("..", "checks", "testdata"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs, _ := source.Split(path, data)
		for _, doc := range docs {
			objs, _, _ := source.Parse(doc)
			for _, o := range objs {
				n := 0
				e.Keep(o, func(string, any) { n++ })
				if n == 0 {
					continue
				}
				seen[o.Kind] = true
				if o.PodSpec() == nil && !slices.Contains(FactKinds, o.Kind) {
					t.Errorf("%s: %s %s keeps facts, but the webhook does not watch %ss", path, o.Kind, o.Name, o.Kind)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ServiceAccount", "NetworkPolicy", "ClusterRole"} {
		if !seen[k] {
			t.Errorf("no %s of the test data keeps a fact: the test proves nothing", k)
		}
	}
}
