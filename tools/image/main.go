// Command image builds kubeharden's container image without a Docker
// daemon (see internal/imagebuild) and writes it as an OCI image layout,
// and optionally as a docker-archive tarball. It prints the image's
// reference with its digest, and its size: `make image` runs it, and the
// release process copies the digest into deploy/ (deploy/README.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/kubeharden/kubeharden/internal/imagebuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	out := flag.String("o", "dist/image", "OCI layout directory to write (must not exist or be empty)")
	tarPath := flag.String("tar", "", "also write a docker-archive tarball here")
	arch := flag.String("arch", "amd64", "GOARCH of the image (linux only)")
	repo := flag.String("repository", "ghcr.io/kubeharden/kubeharden", "repository the image is named for")
	version := flag.String("version", "dev", "version written into the binary and the labels")
	revision := flag.String("revision", "", "source commit, for the org.opencontainers.image.revision label")
	flag.Parse()
	created, err := imagebuild.SourceDateEpoch()
	if err != nil {
		return err
	}
	img, err := imagebuild.Build(ctx, imagebuild.Options{
		ModuleDir: ".", Arch: *arch, Version: *version, Revision: *revision, Created: created, Stderr: os.Stderr,
	})
	if err != nil {
		return err
	}
	ref := *repo + ":" + *version
	if err := imagebuild.WriteLayout(*out, img, ref, *arch); err != nil {
		return err
	}
	if *tarPath != "" {
		if err := imagebuild.WriteTarball(*tarPath, img, ref); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	size, err := imagebuild.Size(img)
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", ref, digest)
	fmt.Fprintf(os.Stderr, "image: linux/%s, %d bytes compressed, written to %s\n", *arch, size, *out)
	return nil
}
