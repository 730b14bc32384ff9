// Command kubeharden finds and fixes the security weaknesses of Kubernetes
// workloads and their container images.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubeharden/kubeharden/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
