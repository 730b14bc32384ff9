package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/vuln"
)

func newVulnDBCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Keep a local OSV vulnerability database for offline matching",
		Long: `Keep a directory of OSV vulnerability data (https://osv.dev) for
kubeharden image --vuln-db and kubeharden scan --images --vuln-db. kubeharden
never downloads it: fetch the exports yourself where there is network
(docs/vulnerabilities.md) and import them here.`,
	}
	cmd.AddCommand(newVulnDBImportCommand(), newVulnDBInfoCommand())
	return cmd
}

func newVulnDBImportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import DIR ZIP...",
		Short: "Add OSV exports (all.zip of an ecosystem) to a database directory",
		Long: `Import OSV exports, each an all.zip of one ecosystem as osv.dev publishes
them, into DIR (created if needed). Each export replaces the previous one of
its ecosystem; its records are read and checked (every record within
--max-vuln-record-size, the export within --max-vuln-export-size), indexed by
ecosystem and package, and the date of its newest record is kept so that
scans can say how old the data is. Every file is replaced atomically.`,
		Example: `  kubeharden vulndb import ~/osv Debian-all.zip Alpine-all.zip Go-all.zip`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			var errs []error
			for _, z := range args[1:] {
				if cmd.Context().Err() != nil {
					break
				}
				e, err := vuln.Import(cmd.Context(), dir, z, time.Now())
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: error: %v\n", err)
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d records of %s, newest modified %s, as %s\n",
					z, e.Records, e.Name, e.Newest.UTC().Format(time.DateOnly), e.File)
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			if len(errs) > 0 {
				return &exitError{code: ExitError, err: fmt.Errorf("%d of %d exports not imported", len(errs), len(args)-1)}
			}
			return nil
		},
	}
}

func newVulnDBInfoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "info DIR",
		Short: "Show the exports of a database directory and how old they are",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := vuln.Open(cmd.Context(), args[0])
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			out := cmd.OutOrStdout()
			for _, e := range db.Exports {
				fmt.Fprintf(out, "%-24s %7d records  newest %s  imported %s  %s\n", e.Name, e.Records,
					e.Newest.UTC().Format(time.DateOnly), e.Imported.UTC().Format(time.DateOnly), e.File)
			}
			if n := db.Records() - countExports(db); n > 0 {
				fmt.Fprintf(out, "%-24s %7d records (not imported: read at every run)\n", "loose", n)
			}
			if db.Records() == 0 {
				return &exitError{code: ExitError, err: errors.New("no records")}
			}
			return nil
		},
	}
}

func countExports(db *vuln.DB) int {
	n := 0
	for _, e := range db.Exports {
		n += e.Records
	}
	return n
}
