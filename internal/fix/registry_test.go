package fix_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/fix/dockerfix"
)

// TestFixableMatchesRegistry: Meta.Fixable is derived from the check's own
// fix, the Dockerfile fixer fixes exactly the Dockerfile checks that say
// they are fixable, and every fixable check has its golden
// (checks/testdata/<id>/fix/{in,out}.yaml, or dockerfix's
// testdata/<id>/{before,after}), so that `kubeharden checks`,
// docs/checks.md and the reports never promise a fix that does not exist.
func TestFixableMatchesRegistry(t *testing.T) {
	reg := checks.Registry()
	for _, c := range reg.Objects() {
		if c.Fixable != (c.Fix != nil) {
			t.Errorf("%s: Meta.Fixable is %v but the check has fix %v", c.ID, c.Fixable, c.Fix != nil)
		}
		if c.Fix != nil {
			for _, f := range []string{"in.yaml", "out.yaml"} {
				if _, err := os.Stat(filepath.Join("..", "checks", "testdata", c.ID, "fix", f)); err != nil {
					t.Errorf("%s: no fix golden: %v", c.ID, err)
				}
			}
		}
	}
	for _, c := range dockerfilecheck.Of(reg) {
		if c.Fixable != slices.Contains(dockerfix.Fixable, c.ID) {
			t.Errorf("%s: Meta.Fixable is %v, but dockerfix says %v", c.ID, c.Fixable, !c.Fixable)
		}
	}
	for _, id := range dockerfix.Fixable {
		if m := reg.Get(id); m == nil || m.Target != check.Dockerfiles {
			t.Errorf("dockerfix names %q, which is not a Dockerfile check", id)
		}
		for _, f := range []string{"before", "after"} {
			if _, err := os.Stat(filepath.Join("dockerfix", "testdata", id, f)); err != nil {
				t.Errorf("%s: no fix golden: %v", id, err)
			}
		}
	}
	for _, m := range reg.All() {
		if m.FixNeeds != check.NeedsNothing && !m.Fixable {
			t.Errorf("%s: a fix requirement without a fix", m.ID)
		}
	}
}
