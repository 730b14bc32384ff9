package admissionpolicy_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// psaFixtures are the Pod Security admission library's own fixtures of its
// newest version: at each level, pods it must admit (pass) and reject
// (fail). TestEquivalence judges them by every covered check, so the
// pss-baseline and pss-restricted policies are held to the library's
// verdicts as well as to the scanner's.
func psaFixtures(t *testing.T) []fixture {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/pod-security-admission").Output()
	if err != nil {
		t.Fatalf("locating k8s.io/pod-security-admission: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "test", "testdata")
	v := checks.PSSNewest()
	version := "v" + strconv.Itoa(v.Major()) + "." + strconv.Itoa(v.Minor())
	var all []fixture
	for _, level := range []string{"baseline", "restricted"} {
		for _, verdict := range []string{"pass", "fail"} {
			fs := loadFixtures(t, filepath.Join(dir, level, version, verdict, "*.yaml"))
			if len(fs) == 0 {
				t.Fatalf("no Pod Security fixtures in %s", filepath.Join(dir, level, version, verdict))
			}
			for i := range fs {
				f := &fs[i]
				// Names such as capabilities_baseline0 are not valid object
				// names; the name plays no part in the verdict.
				f.u.SetName(strings.ReplaceAll(f.u.GetName(), "_", "-"))
				f.name = level + "/" + version + "/" + verdict + "/" + filepath.Base(f.name)
			}
			all = append(all, fs...)
		}
	}
	return all
}

// TestPSAFixturesScan holds the scanner to the library's own verdicts on
// its fixtures: a pass fixture of a level has no finding of that level's
// check, a fail fixture has one. (TestEquivalence then holds the policies
// to the scanner on the same objects.)
func TestPSAFixturesScan(t *testing.T) {
	reg := checks.Registry()
	engine := scan.New(scan.Options{Registry: reg, Policy: policy.New(nil, reg, time.Time{})})
	n := 0
	for _, f := range psaFixtures(t) {
		level, rest, _ := strings.Cut(f.name, "/")
		want := strings.Contains(rest, "/fail/")
		got := len(scanned(engine, f.obj)["pss-"+level]) > 0
		if got != want {
			t.Errorf("%s: pss-%s finding %v, want %v", f.name, level, got, want)
		}
		n++
	}
	t.Logf("%d Pod Security fixtures", n)
}
