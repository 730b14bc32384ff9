package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/report"
	"github.com/kubeharden/kubeharden/internal/report/html"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// reportFlags are the flags every command that reports findings shares:
// format, destination, failure threshold, configuration and check selection.
type reportFlags struct {
	output     string
	outputFile string
	failOn     string
	configFile string
	only       []string
	skip       []string
	color      string
	htmlMax    int
	baseline   string
	failOnNew  bool
}

func (f *reportFlags) register(fl *pflag.FlagSet) {
	fl.StringVarP(&f.output, "output", "o", "text", "report format: "+strings.Join(report.Formats(), ", "))
	fl.StringVar(&f.outputFile, "output-file", "", "write the report to this file instead of stdout")
	fl.StringVar(&f.failOn, "fail-on", "high", "exit 1 when a finding has at least this severity: "+strings.Join(check.Severities(), ", ")+", or none")
	fl.StringVar(&f.configFile, "config", "", "config file (default: "+config.FileName+" found upward from the first path)")
	fl.StringSliceVar(&f.only, "checks", nil, "run only these checks (comma-separated IDs)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these checks (comma-separated IDs)")
	fl.StringVar(&f.color, "color", "auto", "colour the text report: auto (on a terminal, unless NO_COLOR is set), always, never")
	fl.IntVar(&f.htmlMax, "html-max-findings", html.DefaultMaxFindings, "most findings the html report lists one by one, the most severe first (its counts, charts and scores cover all)")
	fl.StringVar(&f.baseline, "baseline", "", "compare with this earlier JSON report (-o json): findings are new or unchanged, the baseline's gone ones fixed")
	fl.BoolVar(&f.failOnNew, "fail-on-new", false, "with --baseline: exit 1 only for new findings at or above --fail-on")
}

// reporter is what reportFlags resolve to before a scan.
type reporter struct {
	flags       *reportFlags
	render      report.Renderer
	failOn      check.Severity
	failEnabled bool
	color       bool
	cfg         *config.Config
	// base is the --baseline report, nil without one.
	base *baseline.Report
}

// prepare validates the flags and loads the configuration (found upward
// from the first input) before anything is scanned: usage errors exit 2
// without output.
func (f *reportFlags) prepare(cmd *cobra.Command, inputs []string) (*reporter, error) {
	r := &reporter{flags: f}
	var err error
	if r.render, err = report.Lookup(f.output); err != nil {
		return nil, usageError("--output: %v", err)
	}
	if f.htmlMax <= 0 {
		return nil, usageError("--html-max-findings must be positive")
	}
	if r.failOn, r.failEnabled, err = parseFailOn(f.failOn); err != nil {
		return nil, usageError("--fail-on: %v", err)
	}
	for _, id := range append(append([]string{}, f.only...), f.skip...) {
		if !knownCheck(id) {
			return nil, usageError("unknown check %q (see 'kubeharden checks')", id)
		}
	}
	if r.color, err = useColor(f.color, cmd.OutOrStdout(), f.outputFile); err != nil {
		return nil, err
	}
	if f.failOnNew && f.baseline == "" {
		return nil, usageError("--fail-on-new needs --baseline")
	}
	if f.baseline != "" {
		// Read before the scan: a bad baseline costs no scan.
		if r.base, err = baseline.Load(cmd.Context(), f.baseline, limits.From(cmd.Context())); err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		raiseMemoryLimit()
	}
	if r.cfg, err = loadConfig(f.configFile, inputs); err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	r.cfg.Checks.Only = append(r.cfg.Checks.Only, f.only...)
	r.cfg.Checks.Disable = append(r.cfg.Checks.Disable, f.skip...)
	// The config alone cannot name a check in both (config.Parse refuses
	// it); with the flags it still could, and then nothing runs it.
	for _, id := range r.cfg.Checks.Only {
		if slices.Contains(r.cfg.Checks.Disable, id) {
			return nil, usageError("check %q is both selected (--checks or checks.only) and disabled (--skip or checks.disable), so it would never run", id)
		}
	}
	return r, nil
}

// finish writes the report and turns the result into the exit code: 2 for
// input errors, 1 for findings at or above --fail-on, else 0.
func (r *reporter) finish(cmd *cobra.Command, res *scan.Result) error {
	if err := cmd.Context().Err(); err != nil {
		// A signal stopped the run: a partial report would read as a
		// complete one.
		return &exitError{code: ExitError, err: errors.New("interrupted; no report written")}
	}
	f := r.flags
	out := cmd.OutOrStdout()
	var file *os.File
	if f.outputFile != "" {
		var err error
		if file, err = os.Create(f.outputFile); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("creating report: %w", err)}
		}
		out = file
	}
	opts := report.Options{Color: r.color, Version: version(), FailOn: r.failOn, HTMLMaxFindings: f.htmlMax}
	if r.base != nil {
		opts.Baseline = baseline.Compare(r.base, res.Findings, res.Suppressed)
	}
	if err := r.render(out, res, opts); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing report: %w", err)}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing report: %w", err)}
		}
	}
	// Input errors are in the report, and on stderr too whatever the
	// format and destination: a report piped to a file or another tool
	// must not hide them from the person or the CI log watching stderr.
	failed := false
	if len(res.Errors) > 0 {
		w := bufio.NewWriter(cmd.ErrOrStderr())
		for _, e := range res.Errors {
			// A coverage gap (a kind the credentials may not list) is
			// reported but fails nothing: the rest was still audited.
			what := "input error"
			if e.Gap() {
				what = "coverage gap"
			} else {
				failed = true
			}
			fmt.Fprintf(w, "kubeharden: %s: %v\n", what, e)
		}
		w.Flush() //nolint:errcheck // stderr: nowhere left to report to
	}
	if failed {
		return &exitError{code: ExitError}
	}
	if r.failEnabled {
		for i, fd := range res.Findings {
			if fd.Severity >= r.failOn && (!f.failOnNew || opts.Baseline.IsNew(i)) {
				return &exitError{code: ExitFindings}
			}
		}
	}
	return nil
}

// raiseMemoryLimit raises the soft memory limit by the heap now live. main
// sets a low limit (unless GOMEMLIMIT is set) for a scan, whose garbage
// is short-lived; a baseline's findings stay live for the whole run, and
// under a limit they fill the collector would run without pause (a
// 100k-object scan against its own report: 111 s instead of 33 s).
func raiseMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	cur := debug.SetMemoryLimit(-1)
	if cur == math.MaxInt64 {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.SetMemoryLimit(cur + int64(ms.HeapAlloc))
}

// knownCheck accepts registered and engine-level check IDs.
func knownCheck(id string) bool {
	if checks.Registry().Get(id) != nil {
		return true
	}
	for _, m := range policy.Checks() {
		if m.ID == id {
			return true
		}
	}
	return false
}

// loadConfig reads --config or the file found upward from the first input.
// policy is the policy of the loaded configuration, judged today.
func (r *reporter) policy() *policy.Policy {
	return policy.New(r.cfg, checks.Registry(), time.Time{})
}

func loadConfig(explicit string, inputs []string) (*config.Config, error) {
	path := explicit
	if path == "" {
		start := "."
		for _, in := range inputs {
			if in != source.Stdin {
				if _, err := os.Stat(in); err == nil {
					start = in
					break
				}
			}
		}
		found, ok := config.Find(start)
		if !ok {
			return config.Default(), nil
		}
		path = found
	}
	return config.Load(path, knownCheck)
}

func parseFailOn(s string) (check.Severity, bool, error) {
	if strings.EqualFold(s, "none") {
		return 0, false, nil
	}
	sev, err := check.ParseSeverity(s)
	return sev, true, err
}

func useColor(mode string, out io.Writer, outputFile string) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if outputFile != "" || os.Getenv("NO_COLOR") != "" {
			return false, nil
		}
		return isTerminal(out), nil
	}
	return false, usageError("--color: want auto, always or never, not %q", mode)
}
