package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// limitFlags are the bounds on hostile input (docs/limits.md), flags of
// every command that reads input.
type limitFlags struct{ l limits.Limits }

func (f *limitFlags) register(fl *pflag.FlagSet) {
	d := limits.Default()
	f.l = d
	fl.Var(size(&f.l.InputSize), "max-input-size", "largest input file or standard input read (bytes, or with KiB, MiB, GiB)")
	fl.Var(size(&f.l.DocumentSize), "max-document-size", "largest YAML or JSON document read")
	fl.IntVar(&f.l.YAMLNodes, "max-yaml-nodes", d.YAMLNodes, "most nodes of one YAML document, aliases expanded")
	fl.DurationVar(&f.l.RenderTimeout, "render-timeout", d.RenderTimeout, "longest time rendering one chart or kustomization may take")
	fl.Var(size(&f.l.RenderSize), "max-render-size", "largest output of rendering one chart or kustomization")
	fl.Var(size(&f.l.RenderMemory), "max-render-memory", "most memory rendering one Helm chart may take")
	fl.Var(sizeFlag[int]{p: &f.l.ExpansionSize, max: 1 << 40}, "max-expansion-size", "largest value built by expanding variables (Dockerfile ARG and ENV)")
	fl.Var(size(&f.l.BlobSize), "max-blob-size", "largest image manifest or config blob read")
	fl.IntVar(&f.l.PathDepth, "max-path-depth", d.PathDepth, "most components of a path in an image layer")
	fl.DurationVar(&f.l.NetworkTimeout, "network-timeout", d.NetworkTimeout, "longest time one registry request may take")
	fl.Var(size(&f.l.VulnRecordSize), "max-vuln-record-size", "largest OSV record, vulnerability report (--vuln-report) or VEX document read")
	fl.Var(size(&f.l.VulnExportSize), "max-vuln-export-size", "most uncompressed bytes of one OSV export (all.zip) read")
	fl.Var(size(&f.l.BaselineSize), "max-baseline-size", "largest --baseline report read")
	fl.Var(size(&f.l.InventorySize), "max-inventory-size", "most bytes of one image read for its package inventory (package databases, manifests, JARs)")
}

// apply checks the limits and puts them in the command's context.
func (f *limitFlags) apply(cmd *cobra.Command) error {
	l := f.l
	for name, bad := range map[string]bool{
		"--max-input-size": l.InputSize <= 0, "--max-document-size": l.DocumentSize <= 0,
		"--max-yaml-nodes": l.YAMLNodes <= 0, "--render-timeout": l.RenderTimeout <= 0,
		"--max-render-size": l.RenderSize <= 0, "--max-expansion-size": l.ExpansionSize <= 0,
		"--max-blob-size": l.BlobSize <= 0, "--max-path-depth": l.PathDepth <= 0,
		"--network-timeout": l.NetworkTimeout <= 0, "--max-render-memory": l.RenderMemory <= 0,
		"--max-vuln-record-size": l.VulnRecordSize <= 0, "--max-vuln-export-size": l.VulnExportSize <= 0,
		"--max-baseline-size":  l.BaselineSize <= 0,
		"--max-inventory-size": l.InventorySize <= 0,
	} {
		if bad {
			return usageError("%s must be positive", name)
		}
	}
	cmd.SetContext(limits.With(cmd.Context(), l))
	return nil
}

// sizeFlag is a byte size flag over an int or int64 field: 1048576,
// 512KiB, 16MiB, 1GiB (Ki, Mi, Gi and K, M, G are read as the same binary
// units). max, when positive, bounds it.
type sizeFlag[T int | int64] struct {
	p   *T
	max int64
}

func size[T int | int64](p *T) sizeFlag[T] { return sizeFlag[T]{p: p} }

func (s sizeFlag[T]) String() string {
	if s.p == nil {
		return ""
	}
	return limits.Bytes(int64(*s.p))
}

func (s sizeFlag[T]) Type() string { return "size" }

func (s sizeFlag[T]) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	if s.max > 0 && n > s.max {
		return fmt.Errorf("%q is too large", v)
	}
	*s.p = T(n)
	return nil
}

func parseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB or GiB)", v)
	}
	return n * mult, nil
}
