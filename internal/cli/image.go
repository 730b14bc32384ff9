package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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
	// packages reads the package files the inventory needs (not a flag:
	// set by the options that list or match packages).
	packages bool
}

func (f *imageFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "platform of multi-platform images")
	fl.StringVar(&f.vulnDB, "vuln-db", "", "match image packages offline against this OSV database directory (see kubeharden vulndb import); never downloads")
	fl.StringArrayVar(&f.reports, "vuln-report", nil, "read a Trivy, Grype or CycloneDX vulnerability report of the image (repeatable; refused unless made for the same image digest)")
	fl.StringArrayVar(&f.vex, "vex", nil, "OpenVEX JSON document whose not_affected and fixed statements suppress vulnerabilities (repeatable)")
}

// needImages is the usage error of vulnerability sources named without
// --images (inspect), on the commands where images are optional.
func (f *imageFlags) needImages(inspect bool) error {
	if !inspect && (f.vulnDB != "" || len(f.reports) > 0 || len(f.vex) > 0) {
		return usageError("--vuln-db, --vuln-report and --vex apply to images: add --images")
	}
	return nil
}

// inspectRefs inspects refs with the vulnerability sources the flags
// name, for scan --images and cluster --images.
func (f *imageFlags) inspectRefs(cmd *cobra.Command, refs []string, opts scan.Options) (*scan.Result, error) {
	vs, err := f.vulnScanner(cmd, opts.Policy)
	if err != nil {
		return nil, err
	}
	return inspectImages(cmd.Context(), refs, f, vs, opts), nil
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
	// sbom, when set, writes the image's SBOM in this format instead of
	// the report.
	sbom string
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
also shows each image's digest, user, entrypoint, layer count and inventory.

--sbom writes the software bill of materials of one image instead of the
report: CycloneDX 1.6 JSON or SPDX 2.3 JSON, to stdout or --output-file.
It lists the OS packages (dpkg, distroless status.d, apk), the Go modules
of Go 1.18+ executables, Python distributions, npm packages under
node_modules and Maven artifacts of JARs, each with its package URL and
the file that brought it in. Files that cannot be read (corrupt, or past
--max-inventory-size) are input errors (exit 2); the SBOM of the rest is
still written.

--vuln-db matches the same packages offline against a local OSV database
(kubeharden vulndb import; nothing is downloaded) and --vuln-report reads a
Trivy, Grype or CycloneDX report of the same image digest: each known
vulnerability is an image-vulnerability finding with its ID and aliases,
severity, installed and fixed versions and the file that brought the
package in. --vex and vulnerabilities in .kubeharden.yaml (threshold,
ignore list) decide what counts (docs/vulnerabilities.md).`,
		Example: `  kubeharden image registry.example.com/api:v1.0.3
  kubeharden image ./build/oci-layout
  kubeharden image -o json app.tar
  kubeharden image --sbom cyclonedx registry.example.com/api:v1.0.3 > api.cdx.json
  kubeharden image --vuln-db ~/osv --vex api.openvex.json registry.example.com/api:v1.0.3
  kubeharden image --vuln-report trivy.json registry.example.com/api@sha256:...`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.sbom != "" {
				return writeSBOM(cmd, args, &f)
			}
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
	cmd.Flags().StringVar(&f.sbom, "sbom", "", "write the image's SBOM instead of the report: "+strings.Join(vuln.SBOMFormats(), ", "))
	return cmd
}

// writeSBOM writes the SBOM of the one image args names.
func writeSBOM(cmd *cobra.Command, args []string, f *imageCmdFlags) error {
	format := vuln.SBOMFormat(f.sbom)
	if !slices.Contains(vuln.SBOMFormats(), f.sbom) {
		return usageError("--sbom: want %s, not %q", strings.Join(vuln.SBOMFormats(), " or "), f.sbom)
	}
	if len(args) != 1 {
		return usageError("--sbom describes one image; %d were given", len(args))
	}
	if cmd.Flags().Changed("output") {
		return usageError("--sbom writes the SBOM instead of the report: --output does not apply")
	}
	ctx := cmd.Context()
	img, err := image.Load(ctx, args[0], image.LoadOptions{Insecure: f.images.insecure, Platform: f.images.platform, Packages: true})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	pkgs, invErr := vuln.Inventory(ctx, img)
	if ctx.Err() != nil {
		return &exitError{code: ExitError, err: errors.New("interrupted; no SBOM written")}
	}
	out := cmd.OutOrStdout()
	var file *os.File
	if f.report.outputFile != "" {
		if file, err = os.Create(f.report.outputFile); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("creating SBOM: %w", err)}
		}
		out = file
	}
	err = vuln.WriteSBOM(out, format, img, pkgs, vuln.SBOMOptions{ToolVersion: version()})
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing SBOM: %w", cerr)
		}
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if invErr != nil {
		// The SBOM of what could be read is written; what could not is
		// an input error, as in a report.
		fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: input error: %v\n", invErr)
		return &exitError{code: ExitError}
	}
	return nil
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
		// The package files are kept when the options list or match
		// packages: the other checks do not need them.
		img, err := image.Load(ctx, ref, image.LoadOptions{Insecure: f.insecure, Platform: f.platform, Packages: f.packages || (vs != nil && vs.DB != nil)})
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
