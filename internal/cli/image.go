package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// imageFlags say how images are read, and where their vulnerabilities
// come from.
type imageFlags struct {
	insecure bool
	platform string
	vulnDB   string
	reports  []string
	vex      []string
}

func (f *imageFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "platform of multi-platform images")
	fl.StringVar(&f.vulnDB, "vuln-db", "", "match image packages offline against this OSV database directory (see kubeharden vulndb import); never downloads")
	fl.StringArrayVar(&f.reports, "vuln-report", nil, "read a Trivy, Grype or CycloneDX vulnerability report of the image (repeatable; refused unless made for the same image digest)")
	fl.StringArrayVar(&f.vex, "vex", nil, "OpenVEX JSON document whose not_affected and fixed statements suppress vulnerabilities (repeatable)")
}

// vulnScanner reads the vulnerability sources the flags name: nil when
// there are none. It prints the database's size and age on stderr, and
// warns when it is older than vulnerabilities.maxDatabaseAge.
func (f *imageFlags) vulnScanner(cmd *cobra.Command, pol *policy.Policy) (*vuln.Scanner, error) {
	if f.vulnDB == "" && len(f.reports) == 0 {
		if len(f.vex) > 0 {
			return nil, usageError("--vex needs --vuln-db or --vuln-report: it suppresses vulnerabilities, it finds none")
		}
		return nil, nil
	}
	ctx := cmd.Context()
	lim := limits.From(ctx)
	s := &vuln.Scanner{}
	if f.vulnDB != "" {
		db, err := vuln.Open(ctx, f.vulnDB)
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		s.DB = db
		w := cmd.ErrOrStderr()
		oldest := db.Oldest()
		if oldest.IsZero() {
			fmt.Fprintf(w, "kubeharden: vulnerability database %s: %d records, age unknown (no modified dates)\n", f.vulnDB, db.Records())
		} else {
			age := pol.Now.Sub(oldest)
			fmt.Fprintf(w, "kubeharden: vulnerability database %s: %d records, data up to %s (%s old)\n", f.vulnDB, db.Records(), oldest.UTC().Format(time.DateOnly), days(age))
			if limit := pol.Config.Vulnerabilities.MaxAge(); age > limit {
				fmt.Fprintf(w, "kubeharden: warning: the vulnerability database is %s old, past vulnerabilities.maxDatabaseAge (%s): import fresh exports (docs/vulnerabilities.md)\n", days(age), days(limit))
			}
		}
	}
	for _, file := range f.reports {
		r, err := vuln.ReadReport(file, lim)
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		s.Reports = append(s.Reports, r)
	}
	for _, file := range f.vex {
		v, err := vuln.ReadVEX(file, lim)
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		s.VEX = append(s.VEX, v)
	}
	return s, nil
}

// days writes a duration in days (or hours, under two days).
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

type imageCmdFlags struct {
	report reportFlags
	images imageFlags
}

func newImageCommand() *cobra.Command {
	var f imageCmdFlags
	cmd := &cobra.Command{
		Use:   "image REF...",
		Short: "Inspect built images: what the container really ships",
		Long: `Inspect built container images without a daemon. REF is a registry
reference (default keychain; --insecure for plain HTTP), an OCI layout
directory, or a docker-archive tarball (docker save output).

The layers are flattened as a container would see them (whiteouts and
opaque directories honoured, symlinks, hardlinks and busybox applets
resolved), and the image is checked for shells, package managers, network
and filesystem tools, setuid files and a root or low user. The text report
also shows each image's digest, user, entrypoint, layer count and inventory.`,
		Example: `  kubeharden image registry.example.com/api:v1.0.3
  kubeharden image ./build/oci-layout
  kubeharden image -o json app.tar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.report.prepare(cmd, args)
			if err != nil {
				return err
			}
			opts := scan.Options{Registry: checks.Registry(), Policy: r.policy(), Logger: logger(cmd)}
			vs, err := f.images.vulnScanner(cmd, opts.Policy)
			if err != nil {
				return err
			}
			res := inspectImages(cmd.Context(), args, &f.images, vs, opts)
			return r.finish(cmd, res)
		},
	}
	f.report.register(cmd.Flags())
	f.images.register(cmd.Flags())
	return cmd
}

// inspectImages loads every reference (an input error for those that
// cannot be read, a registry that does not answer within
// --network-timeout included) and runs the image checks on the rest, with
// the vulnerabilities vs finds when not nil (a report that fits none of
// the images is an input error). A cancelled ctx stops before the next
// image.
func inspectImages(ctx context.Context, refs []string, f *imageFlags, vs *vuln.Scanner, opts scan.Options) *scan.Result {
	var imgs []*image.Image
	var errs []source.Error
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		opts.Logger.Debug("loading image", "ref", ref)
		img, err := image.Load(ctx, ref, image.LoadOptions{Insecure: f.insecure, Platform: f.platform})
		if err != nil {
			errs = append(errs, source.Error{File: ref, Message: err.Error(), Err: err})
			continue
		}
		imgs = append(imgs, img)
	}
	if vs != nil {
		opts.Vulnerabilities = vs.Scan
	}
	res := scan.RunImages(ctx, imgs, opts)
	res.Errors = append(errs, res.Errors...)
	if vs != nil && ctx.Err() == nil {
		for _, err := range vs.Unused(imgs) {
			res.Errors = append(res.Errors, source.Error{File: "--vuln-report", Message: err.Error(), Err: err})
		}
	}
	return res
}
