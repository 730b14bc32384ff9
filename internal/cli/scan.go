package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/report"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

type scanFlags struct {
	output     string
	outputFile string
	failOn     string
	configFile string
	exclude    []string
	namespace  string
	only       []string
	skip       []string
	color      string
	render     renderFlags
}

func newScanCommand() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan manifests for security weaknesses",
		Long: `Scan Kubernetes manifests (YAML or JSON, multi-document, List kinds) in
files and directories (recursively; hidden directories skipped), or from
standard input with "-". Every finding names the file, line and column.

A directory with Chart.yaml (or a packaged .tgz chart) is rendered with the
Helm SDK, offline: findings name the template file and the line in the
rendered document. A directory with kustomization.yaml is built with
Kustomize: findings point at the original resource file and line where
Kustomize's origin annotations allow. Templates are never read as raw YAML.

Exit codes: 0 when no finding reaches --fail-on, 1 when one does, 2 for a
usage or input error (everything readable is still scanned and reported).`,
		Example: `  kubeharden scan deploy/
  kubeharden scan -o sarif k8s/ > out.sarif
  kubeharden scan --fail-on medium app.yaml
  helm template ./chart | kubeharden scan -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "report format: "+strings.Join(report.Formats(), ", "))
	fl.StringVar(&f.outputFile, "output-file", "", "write the report to this file instead of stdout")
	fl.StringVar(&f.failOn, "fail-on", "high", "exit 1 when a finding has at least this severity: "+strings.Join(check.Severities(), ", ")+", or none")
	fl.StringVar(&f.configFile, "config", "", "config file (default: "+config.FileName+" found upward from the first path)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this glob (repeatable; ** matches directories)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of objects that set none, as kubectl apply -n would place them")
	fl.StringSliceVar(&f.only, "checks", nil, "run only these checks (comma-separated IDs)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these checks (comma-separated IDs)")
	f.render.register(fl)
	fl.StringVar(&f.color, "color", "auto", "colour the text report: auto (on a terminal, unless NO_COLOR is set), always, never")
	return cmd
}

// knownCheck accepts registered and engine-level check IDs.
func knownCheck(id string) bool {
	if checks.Registry().Get(id) != nil {
		return true
	}
	for _, m := range scan.EngineChecks() {
		if m.ID == id {
			return true
		}
	}
	return false
}

// loadConfig reads --config or the file found upward from the first input.
func loadConfig(explicit string, inputs []string) (*config.Config, error) {
	path := explicit
	if path == "" {
		start := "."
		for _, in := range inputs {
			if in != source.Stdin {
				start = in
				break
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

func runScan(cmd *cobra.Command, args []string, f *scanFlags) error {
	render, err := report.Lookup(f.output)
	if err != nil {
		return usageError("--output: %v", err)
	}
	failOn, failEnabled, err := parseFailOn(f.failOn)
	if err != nil {
		return usageError("--fail-on: %v", err)
	}
	for _, id := range append(append([]string{}, f.only...), f.skip...) {
		if !knownCheck(id) {
			return usageError("unknown check %q (see 'kubeharden checks')", id)
		}
	}
	color, err := useColor(f.color, cmd.OutOrStdout(), f.outputFile)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.configFile, args)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	cfg.Checks.Only = append(cfg.Checks.Only, f.only...)
	cfg.Checks.Disable = append(cfg.Checks.Disable, f.skip...)

	res := scan.Run(cmd.Context(), args, scan.Options{
		Registry:  checks.Registry(),
		Config:    cfg,
		Namespace: f.namespace,
		Exclude:   f.exclude,
		Stdin:     cmd.InOrStdin(),
		Logger:    logger(cmd),
		Renderers: f.render.renderers(f.namespace),
	})

	out := cmd.OutOrStdout()
	var file *os.File
	if f.outputFile != "" {
		file, err = os.Create(f.outputFile)
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("creating report: %w", err)}
		}
		out = file
	}
	opts := report.Options{Color: color, Version: version(), FailOn: failOn}
	if err := render(out, res, opts); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing report: %w", err)}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing report: %w", err)}
		}
	}
	// Input errors are in the report; on stderr too when the report is not
	// text on the terminal, so that a CI log shows them.
	if f.output != "text" || f.outputFile != "" {
		for _, e := range res.Errors {
			fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: input error: %v\n", e)
		}
	}
	if len(res.Errors) > 0 {
		return &exitError{code: ExitError}
	}
	if failEnabled {
		for _, fd := range res.Findings {
			if fd.Severity >= failOn {
				return &exitError{code: ExitFindings}
			}
		}
	}
	return nil
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
		f, ok := out.(*os.File)
		if !ok {
			return false, nil
		}
		st, err := f.Stat()
		return err == nil && st.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, usageError("--color: want auto, always or never, not %q", mode)
}
