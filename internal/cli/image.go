package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// imageFlags say how images are read.
type imageFlags struct {
	insecure bool
	platform string
	// packages reads the package files the inventory needs (not a flag:
	// set by the options that list or match packages).
	packages bool
}

func (f *imageFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "platform of multi-platform images")
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
still written.`,
		Example: `  kubeharden image registry.example.com/api:v1.0.3
  kubeharden image ./build/oci-layout
  kubeharden image -o json app.tar
  kubeharden image --sbom cyclonedx registry.example.com/api:v1.0.3 > api.cdx.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.sbom != "" {
				return writeSBOM(cmd, args, &f)
			}
			r, err := f.report.prepare(cmd, args)
			if err != nil {
				return err
			}
			res := inspectImages(cmd.Context(), args, &f.images, scan.Options{Registry: checks.Registry(), Policy: r.policy(), Logger: logger(cmd)})
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
// --network-timeout included) and runs the image checks on the rest. A
// cancelled ctx stops before the next image.
func inspectImages(ctx context.Context, refs []string, f *imageFlags, opts scan.Options) *scan.Result {
	var imgs []*image.Image
	var errs []source.Error
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		opts.Logger.Debug("loading image", "ref", ref)
		img, err := image.Load(ctx, ref, image.LoadOptions{Insecure: f.insecure, Platform: f.platform, Packages: f.packages})
		if err != nil {
			errs = append(errs, source.Error{File: ref, Message: err.Error(), Err: err})
			continue
		}
		imgs = append(imgs, img)
	}
	res := scan.RunImages(ctx, imgs, opts)
	res.Errors = append(errs, res.Errors...)
	return res
}
