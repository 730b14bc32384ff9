// Command kubeharden finds and fixes the security weaknesses of Kubernetes
// workloads and their container images.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/kubeharden/kubeharden/internal/cli"
)

func main() {
	// A scan makes much short-lived garbage (YAML nodes) and keeps little:
	// collect less often, under a soft ceiling. GOGC and GOMEMLIMIT win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(200 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
