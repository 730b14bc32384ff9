package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/source"
)

type fixFlags struct {
	write  bool
	checks []string
	uid    int64
	gid    int64
}

func newFixCommand() *cobra.Command {
	var f fixFlags
	cmd := &cobra.Command{
		Use:   "fix PATH...",
		Short: "Rewrite manifests so that the fixable checks pass, keeping comments and layout",
		Long: `Fix the security weaknesses of Kubernetes manifests (plain YAML files and
directories, or standard input with "-") that kubeharden knows how to fix:
run as a non-root, high UID and GID, fsGroup, no privilege escalation, not
privileged, a read-only root filesystem (with an emptyDir at /tmp), no
service account token, capabilities dropped, RuntimeDefault seccomp and
AppArmor profiles. Objects with an ignore.kubeharden.io/<check-id>
annotation are left alone for that check.

Only documents that change are rewritten; the others keep their bytes.
Without --write, a unified diff is printed and nothing changes on disk.
With "-", the fixed YAML is written to standard output. A summary of the
applied fixes, and of the risky ones to test, goes to standard error.

Exit codes: 0 on success, 2 for a usage or input error (the other files are
still fixed).`,
		Example: `  kubeharden fix deploy/
  kubeharden fix --write deploy.yaml
  kubeharden fix --checks run-as-non-root,seccomp-profile --write k8s/
  kubectl get deploy web -o yaml | kubeharden fix - > web.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFix(cmd, args, &f) },
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.write, "write", "w", false, "write the fixes to the files (atomically) instead of printing a diff")
	fl.StringSliceVar(&f.checks, "checks", nil, "fix only these check IDs (comma-separated; default: every fixable check)")
	fl.Int64Var(&f.uid, "uid", fix.DefaultID, "UID set where runAsUser is missing or low")
	fl.Int64Var(&f.gid, "gid", fix.DefaultID, "GID set where runAsGroup or fsGroup is missing or low")
	return cmd
}

func runFix(cmd *cobra.Command, args []string, f *fixFlags) error {
	opts := fix.Options{UID: f.uid, GID: f.gid}
	if f.uid <= 0 || f.gid <= 0 {
		return usageError("--uid and --gid must be positive")
	}
	if len(f.checks) > 0 {
		opts.Checks = map[string]bool{}
		for _, c := range f.checks {
			c = strings.TrimSpace(c)
			if !slices.Contains(fix.Fixable, c) {
				return usageError("--checks: %q is not a fixable check (fixable: %s)", c, strings.Join(fix.Fixable, ", "))
			}
			opts.Checks[c] = true
		}
	}
	stderr := cmd.ErrOrStderr()
	files, errs := source.Expand(args, nil)
	failed := len(errs) > 0
	for _, e := range errs {
		fmt.Fprintf(stderr, "kubeharden: input error: %v\n", e)
	}
	var all []fileFix
	for _, file := range files {
		if file.Kind != source.Manifest {
			fmt.Fprintf(stderr, "kubeharden: skipped %s: fix does not rewrite a %s yet\n", file.Path, file.Kind)
			continue
		}
		applied, err := fixFile(cmd, file.Path, opts, f.write)
		if err != nil {
			fmt.Fprintf(stderr, "kubeharden: input error: %v\n", err)
			failed = true
			continue
		}
		for _, a := range applied {
			all = append(all, fileFix{file.Path, a})
		}
	}
	summarize(stderr, all, f.write)
	if failed {
		return &exitError{code: ExitError}
	}
	return nil
}

// fixFile fixes one file: stdin goes to stdout, a file gets a diff or,
// with write, its new content.
func fixFile(cmd *cobra.Command, path string, opts fix.Options, write bool) ([]fix.Applied, error) {
	var data []byte
	var err error
	if path == source.Stdin {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, source.Error{File: path, Message: source.DescribeFSError(err)}
	}
	out, applied, err := fix.Manifest(data, opts)
	if err != nil {
		return nil, source.Error{File: path, Message: err.Error()}
	}
	switch {
	case path == source.Stdin:
		_, err = cmd.OutOrStdout().Write(out)
	case len(applied) == 0:
	case write:
		err = fix.WriteFile(path, out)
	default:
		_, err = io.WriteString(cmd.OutOrStdout(), fix.UnifiedDiff("a/"+path, "b/"+path, string(data), string(out)))
	}
	if err != nil {
		return nil, source.Error{File: path, Message: err.Error()}
	}
	return applied, nil
}

// fileFix is a fix applied to a file.
type fileFix struct {
	file string
	fix.Applied
}

// summarize lists the applied fixes by object and check, then the risky
// ones that need a test run.
func summarize(w io.Writer, applied []fileFix, write bool) {
	if len(applied) == 0 {
		fmt.Fprintln(w, "kubeharden: nothing to fix")
		return
	}
	verb := "would apply"
	if write {
		verb = "applied"
	}
	type key struct{ file, obj, check string }
	var order []key
	seen := map[key]bool{}
	var risky []key
	for _, a := range applied {
		k := key{a.file, a.Object, a.Check}
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
			if a.Risky {
				risky = append(risky, k)
			}
		} else if a.Risky && !slices.Contains(risky, k) {
			risky = append(risky, k)
		}
	}
	fmt.Fprintf(w, "kubeharden: %s %d fixes:\n", verb, len(order))
	for _, k := range order {
		fmt.Fprintf(w, "  %s on %s (%s)\n", k.check, k.obj, k.file)
	}
	for _, k := range risky {
		fmt.Fprintf(w, "kubeharden: test these: %s on %s (%s)\n", riskyTitle(k.check), k.obj, k.file)
	}
}

func riskyTitle(id string) string {
	switch id {
	case "read-only-root-filesystem":
		return "read-only root filesystem"
	case "automount-service-account-token":
		return "no service account token"
	}
	return strings.ReplaceAll(id, "-", " ")
}
