package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/report"
)

// complete asks the command line for completions the way the shell
// scripts of `kubeharden completion` do, through cobra's hidden
// __complete command, and returns the candidates without descriptions and
// the directive line.
func complete(t *testing.T, args ...string) (candidates []string, directive string) {
	t.Helper()
	out, errOut, code := run(append([]string{"__complete"}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(l, ":") {
			directive = l
			continue
		}
		id, _, _ := strings.Cut(l, "\t")
		candidates = append(candidates, id)
	}
	return candidates, directive
}

func TestCompleteCheckIDs(t *testing.T) {
	all := catalog()
	for _, cmd := range [][]string{{"scan"}, {"image"}, {"cluster"}, {"fix"}, {"generate", "admission-policy"}} {
		got, directive := complete(t, append(cmd, "--checks", "")...)
		if len(got) != len(all) {
			t.Errorf("%s --checks: %d candidates, want every check (%d)", cmd, len(got), len(all))
		}
		// No file names after a check ID, and no space: another may follow
		// a comma. (ShellCompDirectiveNoSpace|NoFileComp = 2|4.)
		if directive != ":6" {
			t.Errorf("%s --checks: directive %s, want :6", cmd, directive)
		}
	}
	got, _ := complete(t, "scan", "--skip", "privileged-")
	if !slices.Equal(got, []string{"privileged-container"}) {
		t.Errorf("--skip privileged-: %v", got)
	}
	// The last of a list is completed; IDs already listed are not offered.
	got, _ = complete(t, "scan", "--checks", "run-as-non-root,run-as-")
	if !slices.Contains(got, "run-as-non-root,run-as-high-uid") || slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, ",run-as-non-root") }) {
		t.Errorf("--checks run-as-non-root,run-as-: %v", got)
	}
	for _, c := range got {
		if !strings.HasPrefix(c, "run-as-non-root,run-as-") || checks.Registry().Get(strings.TrimPrefix(c, "run-as-non-root,")) == nil {
			t.Errorf("--checks run-as-non-root,run-as-: candidate %q is not a check", c)
		}
	}
	// Engine-level checks are IDs too.
	if got, _ = complete(t, "scan", "--checks", "expired-"); !slices.Equal(got, []string{"expired-exemption"}) {
		t.Errorf("--checks expired-: %v", got)
	}
	// Descriptions are the titles.
	out, _, _ := run("__complete", "scan", "--checks", "privileged-container")
	if !strings.HasPrefix(out, "privileged-container\tPrivileged container\n") {
		t.Errorf("no title: %q", out)
	}
}

func TestCompleteFormatsAndSeverities(t *testing.T) {
	for _, cmd := range []string{"scan", "image", "cluster"} {
		if got, _ := complete(t, cmd, "-o", ""); !slices.Equal(got, report.Formats()) {
			t.Errorf("%s -o: %v, want %v", cmd, got, report.Formats())
		}
		if got, _ := complete(t, cmd, "--fail-on", ""); !slices.Equal(got, []string{"critical", "high", "medium", "low", "info", "none"}) {
			t.Errorf("%s --fail-on: %v", cmd, got)
		}
	}
	if got, _ := complete(t, "checks", "-o", ""); !slices.Equal(got, []string{"text", "json", "markdown"}) {
		t.Errorf("checks -o: %v", got)
	}
	// Every completed format and severity is accepted by the command.
	for _, f := range report.Formats() {
		if _, errOut, code := run("scan", "-o", f, "--fail-on", "none", "../../examples/hardened-app"); code != ExitOK {
			t.Errorf("scan -o %s: exit %d\n%s", f, code, errOut)
		}
	}
}
