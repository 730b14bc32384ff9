// Package scantest scans paths and bytes for tests: the engine itself takes
// a stream of items, and tests that start from files compose the source
// walk with it here.
package scantest

import (
	"bytes"
	"context"

	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// Paths scans files and directories (no charts or kustomizations).
func Paths(inputs []string, opts scan.Options) *scan.Result {
	ctx := context.Background()
	return scan.Run(ctx, source.Walk(ctx, inputs, source.Options{}), opts)
}

// Stdin scans data as standard input ("-").
func Stdin(data []byte, opts scan.Options) *scan.Result {
	ctx := context.Background()
	return scan.Run(ctx, source.Walk(ctx, []string{"-"}, source.Options{Stdin: bytes.NewReader(data)}), opts)
}
