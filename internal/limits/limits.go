// Package limits holds every bound kubeharden puts on what it reads, so
// that hostile input (a file, a chart, an image, an AdmissionReview) costs
// bounded memory and time and ends in a clear error naming the input and
// the limit. Each bound has a default chosen so that the real-world corpus
// and the benchmark sets pass unchanged, and a flag (docs/limits.md).
package limits

import (
	"context"
	"fmt"
	"time"
)

// Limits are the bounds of one run. The zero value of a field means its
// default (Default); a negative value is not allowed.
type Limits struct {
	// InputSize bounds one input file (or standard input) in bytes.
	InputSize int64
	// DocumentSize bounds one YAML or JSON document in bytes.
	DocumentSize int64
	// YAMLNodes bounds the nodes of one document, aliases expanded.
	YAMLNodes int
	// RenderTimeout bounds rendering one chart or kustomization.
	RenderTimeout time.Duration
	// RenderSize bounds the output of rendering one chart or
	// kustomization, in bytes.
	RenderSize int64
	// RenderMemory bounds the memory rendering one chart may take, in
	// bytes: its templates run in a child process held to it.
	RenderMemory int64
	// ExpansionSize bounds a value built by expansion (a Dockerfile ARG,
	// an environment variable), in bytes.
	ExpansionSize int
	// BlobSize bounds an image config or manifest blob, in bytes.
	BlobSize int64
	// PathDepth bounds the components of a path in an image layer.
	PathDepth int
	// NetworkTimeout bounds one network operation (a registry request).
	NetworkTimeout time.Duration
	// VulnRecordSize bounds one OSV record, vulnerability report or VEX
	// document, in bytes.
	VulnRecordSize int64
	// VulnExportSize bounds the uncompressed bytes of one OSV export
	// (an all.zip) or of the loose records of a database directory.
	VulnExportSize int64
	// BaselineSize bounds the --baseline report, in bytes: the JSON
	// report of a large scan is far larger than its manifests.
	BaselineSize int64
	// InventorySize bounds the bytes of one image kept or buffered for
	// its package inventory: package databases, language package
	// manifests, Go build information, a JAR while its members are read.
	InventorySize int64
}

// Default returns the default limits.
func Default() Limits {
	return Limits{
		InputSize:      256 << 20,
		DocumentSize:   4 << 20,
		YAMLNodes:      4 << 20,
		RenderTimeout:  30 * time.Second,
		RenderSize:     64 << 20,
		RenderMemory:   1 << 30,
		ExpansionSize:  1 << 20,
		BlobSize:       8 << 20,
		PathDepth:      512,
		NetworkTimeout: 30 * time.Second,
		VulnRecordSize: 32 << 20,
		VulnExportSize: 4 << 30,
		BaselineSize:   1 << 30,
		InventorySize:  256 << 20,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := Default()
	orDefault(&l.InputSize, d.InputSize)
	orDefault(&l.DocumentSize, d.DocumentSize)
	orDefault(&l.YAMLNodes, d.YAMLNodes)
	orDefault(&l.RenderTimeout, d.RenderTimeout)
	orDefault(&l.RenderSize, d.RenderSize)
	orDefault(&l.RenderMemory, d.RenderMemory)
	orDefault(&l.ExpansionSize, d.ExpansionSize)
	orDefault(&l.BlobSize, d.BlobSize)
	orDefault(&l.PathDepth, d.PathDepth)
	orDefault(&l.NetworkTimeout, d.NetworkTimeout)
	orDefault(&l.VulnRecordSize, d.VulnRecordSize)
	orDefault(&l.VulnExportSize, d.VulnExportSize)
	orDefault(&l.BaselineSize, d.BaselineSize)
	orDefault(&l.InventorySize, d.InventorySize)
	return l
}

func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Exceeded is the error of an input past a limit. Match it with
// errors.As; its message names the limit and the flag that raises it.
type Exceeded struct {
	// Limit names the bound ("document size"), Flag the flag that sets it.
	Limit, Flag string
	// Max is the bound as a person reads it ("16 MiB", "30s").
	Max string
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("exceeds the %s limit of %s (raise it with %s)", e.Limit, e.Max, e.Flag)
}

// InputSizeExceeded is the error of an input past InputSize.
func (l Limits) InputSizeExceeded() error {
	return &Exceeded{Limit: "input size", Flag: "--max-input-size", Max: Bytes(l.InputSize)}
}

// DocumentSizeExceeded is the error of a document past DocumentSize.
func (l Limits) DocumentSizeExceeded() error {
	return &Exceeded{Limit: "document size", Flag: "--max-document-size", Max: Bytes(l.DocumentSize)}
}

// YAMLNodesExceeded is the error of a document past YAMLNodes.
func (l Limits) YAMLNodesExceeded() error {
	return &Exceeded{Limit: "YAML node", Flag: "--max-yaml-nodes", Max: fmt.Sprint(l.YAMLNodes)}
}

// RenderTimeoutExceeded is the error of a render past RenderTimeout.
func (l Limits) RenderTimeoutExceeded() error {
	return &Exceeded{Limit: "render time", Flag: "--render-timeout", Max: l.RenderTimeout.String()}
}

// RenderSizeExceeded is the error of a render past RenderSize.
func (l Limits) RenderSizeExceeded() error {
	return &Exceeded{Limit: "render output", Flag: "--max-render-size", Max: Bytes(l.RenderSize)}
}

// RenderMemoryExceeded is the error of a render past RenderMemory.
func (l Limits) RenderMemoryExceeded() error {
	return &Exceeded{Limit: "render memory", Flag: "--max-render-memory", Max: Bytes(l.RenderMemory)}
}

// ExpansionSizeExceeded is the error of an expansion past ExpansionSize.
func (l Limits) ExpansionSizeExceeded() error {
	return &Exceeded{Limit: "expansion size", Flag: "--max-expansion-size", Max: Bytes(int64(l.ExpansionSize))}
}

// BlobSizeExceeded is the error of an image blob past BlobSize.
func (l Limits) BlobSizeExceeded() error {
	return &Exceeded{Limit: "image metadata blob", Flag: "--max-blob-size", Max: Bytes(l.BlobSize)}
}

// PathDepthExceeded is the error of a layer path past PathDepth.
func (l Limits) PathDepthExceeded() error {
	return &Exceeded{Limit: "layer path depth", Flag: "--max-path-depth", Max: fmt.Sprint(l.PathDepth)}
}

// NetworkTimeoutExceeded is the error of a network operation past
// NetworkTimeout.
func (l Limits) NetworkTimeoutExceeded() error {
	return &Exceeded{Limit: "network timeout", Flag: "--network-timeout", Max: l.NetworkTimeout.String()}
}

// VulnRecordSizeExceeded is the error of an OSV record, a scanner's
// report or a VEX document past VulnRecordSize.
func (l Limits) VulnRecordSizeExceeded() error {
	return &Exceeded{Limit: "vulnerability record size", Flag: "--max-vuln-record-size", Max: Bytes(l.VulnRecordSize)}
}

// VulnExportSizeExceeded is the error of an OSV export past
// VulnExportSize.
func (l Limits) VulnExportSizeExceeded() error {
	return &Exceeded{Limit: "vulnerability export size", Flag: "--max-vuln-export-size", Max: Bytes(l.VulnExportSize)}
}

// BaselineSizeExceeded is the error of a baseline report past
// BaselineSize.
func (l Limits) BaselineSizeExceeded() error {
	return &Exceeded{Limit: "baseline size", Flag: "--max-baseline-size", Max: Bytes(l.BaselineSize)}
}

// InventorySizeExceeded is the error of an image whose package files
// take more than InventorySize.
func (l Limits) InventorySizeExceeded() error {
	return &Exceeded{Limit: "package inventory size", Flag: "--max-inventory-size", Max: Bytes(l.InventorySize)}
}

// Bytes writes a size as a person reads it: 16 MiB, 512 KiB, 100 bytes.
func Bytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

type ctxKey struct{}

// With returns ctx carrying l, so that code deep in a source reads the
// run's limits without a parameter at every layer.
func With(ctx context.Context, l Limits) context.Context {
	return context.WithValue(ctx, ctxKey{}, l.WithDefaults())
}

// From returns the limits ctx carries, or the defaults.
func From(ctx context.Context) Limits {
	if l, ok := ctx.Value(ctxKey{}).(Limits); ok {
		return l
	}
	return Default()
}
