package fix_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/fix/dockerfix"
)

// TestFixableMatchesRegistry: a check says it is fixable exactly when the
// manifest or the Dockerfile fixer fixes it, and every fixable check has
// its golden (testdata/<id>/{in,out}.yaml, or dockerfix's
// testdata/<id>/{before,after}), so that `kubeharden checks`,
// docs/checks.md and the reports never promise a fix that does not exist.
func TestFixableMatchesRegistry(t *testing.T) {
	all := append(slices.Clone(fix.Fixable), dockerfix.Fixable...)
	for _, c := range checks.Registry().All() {
		if c.Fixable != slices.Contains(all, c.ID) {
			t.Errorf("%s: Meta.Fixable is %v, but the fixers say %v", c.ID, c.Fixable, !c.Fixable)
		}
		if c.FixFlag != "" && !c.Fixable {
			t.Errorf("%s: a fix flag without a fix", c.ID)
		}
	}
	goldens := map[string][]string{}
	for _, id := range fix.Fixable {
		goldens[id] = []string{filepath.Join("testdata", id, "in.yaml"), filepath.Join("testdata", id, "out.yaml")}
	}
	for _, id := range dockerfix.Fixable {
		goldens[id] = []string{filepath.Join("dockerfix", "testdata", id, "before"), filepath.Join("dockerfix", "testdata", id, "after")}
	}
	for id, files := range goldens {
		if checks.Registry().Get(id) == nil {
			t.Errorf("the fixers name unknown check %q", id)
		}
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: no fix golden %s", id, f)
			}
		}
	}
}
