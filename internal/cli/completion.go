package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report"
)

// registerCompletions gives the flags whose values kubeharden knows their
// shell completions, on every command that has them: check IDs (with
// their titles) for --checks and --skip, the formats for -o, the
// severities for --fail-on. Cobra's `completion` command writes the
// scripts that ask for them.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, name := range []string{"checks", "skip"} {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, completeCheckIDs)
			}
		}
		if c.Flags().Lookup("fail-on") != nil {
			_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions(append(severitiesHighFirst(), "none"), cobra.ShellCompDirectiveNoFileComp))
			// The commands that report findings take every report format.
			if c.Flags().Lookup("output") != nil {
				_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.Formats(), cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if c.Name() == "checks" && c.Parent() == root {
			_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func severitiesHighFirst() []string {
	s := check.Severities()
	out := make([]string, 0, len(s))
	for i := len(s) - 1; i >= 0; i-- {
		out = append(out, s[i])
	}
	return out
}

// completeCheckIDs completes the last of a comma-separated list of check
// IDs, leaving out those already in it: "--checks privileged-container,run-"
// offers "privileged-container,run-as-non-root" and the other run- checks.
func completeCheckIDs(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	done, prefix := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		done, prefix = toComplete[:i+1], toComplete[i+1:]
	}
	listed := map[string]bool{}
	for _, id := range strings.Split(done, ",") {
		listed[id] = true
	}
	var out []string
	for _, m := range catalog() {
		if strings.HasPrefix(m.ID, prefix) && !listed[m.ID] {
			out = append(out, done+m.ID+"\t"+m.Title)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
