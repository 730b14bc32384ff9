// Package cli is kubeharden's command line: one file per subcommand, flags
// in, engine calls out, output to the command's writers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes. Findings are results, not errors: they exit 1 only when they
// reach --fail-on.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// exitError carries an exit code through cobra without printing twice.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: ExitError, err: fmt.Errorf(format, args...)}
}

// PluginName is the binary name under which kubectl runs kubeharden as a
// plugin: `kubectl harden` runs the first kubectl-harden on the PATH.
const PluginName = "kubectl-harden"

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeharden",
		Short: "Find and fix the security weaknesses of Kubernetes workloads and their images",
		Long: `kubeharden finds and fixes the security weaknesses of Kubernetes workloads
and their container images: in manifests, Helm charts, Kustomize directories
and Dockerfiles. Every finding points at the file, line and column to change.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("kubeharden {{.Version}}\n")
	root.PersistentFlags().BoolP("verbose", "v", false, "log progress and skipped documents to stderr")
	var lf limitFlags
	lf.register(root.PersistentFlags())
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return lf.apply(cmd) }
	root.AddCommand(newScanCommand(), newImageCommand(), newGenerateCommand(), newChecksCommand(), newVersionCommand(), newDocsCommand(), newFixCommand(), newClusterCommand(), newWebhookCommand(), newVulnDBCommand())
	registerCompletions(root)
	return root
}

// Main runs the command line and returns the process exit code. It prints
// an error once, as "kubeharden: error: ...".
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return MainAs(ctx, "kubeharden", args, stdin, stdout, stderr)
}

// MainAs is Main for a binary run as argv0. Run as kubectl-harden (a
// kubectl plugin, installed by krew or by hand), the usage, help and
// examples say `kubectl harden`, the command a person typed.
func MainAs(ctx context.Context, argv0 string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot()
	if asPlugin(argv0) {
		setDisplayName(root, "kubectl harden")
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "kubeharden: error: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "kubeharden: error: %v\n", err)
	return ExitError
}

// asPlugin reports whether argv0 names the kubectl plugin binary
// (kubectl-harden, or kubectl-harden.exe on Windows), by any path.
func asPlugin(argv0 string) bool {
	base := filepath.Base(argv0)
	base = strings.TrimSuffix(base, ".exe")
	return base == PluginName
}

// setDisplayName makes the root command call itself name in usage lines
// and help, and rewrites the examples, which are written for kubeharden.
func setDisplayName(root *cobra.Command, name string) {
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = name
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Example = strings.ReplaceAll(c.Example, "kubeharden ", name+" ")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func logger(cmd *cobra.Command) *slog.Logger {
	level := slog.LevelWarn
	// Libraries (Kustomize) warn through the standard log package; they
	// speak only with -v, like kubeharden's own progress.
	log.SetOutput(io.Discard)
	if v, _ := cmd.Flags().GetBool("verbose"); v {
		level = slog.LevelDebug
		log.SetOutput(cmd.ErrOrStderr())
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}
