package fix

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
)

// TestFixableMatchesRegistry: a check says it is fixable exactly when this
// package fixes it, and every fixable check has an in/out golden, so that
// `kubeharden checks` and docs/checks.md never promise a fix that does not
// exist.
func TestFixableMatchesRegistry(t *testing.T) {
	for _, c := range checks.Registry().All() {
		if c.Fixable != slices.Contains(Fixable, c.ID) {
			t.Errorf("%s: Meta.Fixable is %v, but fix.Fixable says %v", c.ID, c.Fixable, !c.Fixable)
		}
	}
	for _, id := range Fixable {
		if checks.Registry().Get(id) == nil {
			t.Errorf("fix.Fixable names unknown check %q", id)
		}
		for _, f := range []string{"in.yaml", "out.yaml"} {
			if _, err := os.Stat(filepath.Join("testdata", id, f)); err != nil {
				t.Errorf("%s: no fix golden testdata/%s/%s", id, id, f)
			}
		}
	}
}
