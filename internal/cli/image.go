package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// imageFlags say how images are read.
type imageFlags struct {
	insecure bool
	platform string
}

func (f *imageFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "platform of multi-platform images")
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
			res := inspectImages(cmd.Context(), args, &f.images, scan.Options{Registry: checks.Registry(), Policy: r.policy(), Logger: logger(cmd)})
			return r.finish(cmd, res)
		},
	}
	f.report.register(cmd.Flags())
	f.images.register(cmd.Flags())
	return cmd
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
		img, err := image.Load(ctx, ref, image.LoadOptions{Insecure: f.insecure, Platform: f.platform})
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
