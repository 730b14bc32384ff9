package checks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// FuzzScan runs every check over any input: nothing may panic, and every
// finding must point inside the input.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := scantest.Stdin(data, scan.Options{Registry: Registry(), Workers: 1})
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, fd := range res.Findings {
			if fd.Location.Line < 1 || fd.Location.Line > lines {
				t.Fatalf("finding outside the input (%d lines): %+v", lines, fd)
			}
		}
	})
}
