// Command kubeharden finds and fixes the security weaknesses of Kubernetes
// workloads and their container images.
package main

import (
	"os"
	"runtime/debug"

	"github.com/kubeharden/kubeharden/internal/cli"
)

func main() {
	// A scan makes much short-lived garbage (YAML nodes) and keeps little
	// (findings): collect rarely, under a soft ceiling, which the largest
	// inputs reach. Measured on N10k: GOGC 200 1.4x the parse floor, 800
	// 1.2x; N100k peaks at 286 MiB either way. GOGC and GOMEMLIMIT win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(200 << 20)
	}
	ctx, stop := cli.SignalContext()
	code := cli.MainAs(ctx, os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(stop(code))
}
