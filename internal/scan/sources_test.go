package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
	"github.com/kubeharden/kubeharden/internal/source"
)

// TestSameFindingsFromEverySource: an object yields byte-identical findings
// whether it is scanned from a file, from stdin, handed to the engine as
// bytes, or (for a file of one object) handed to the engine as an object:
// a check never knows where its object came from. The inputs are every
// pass and fail fixture of every object check.
func TestSameFindingsFromEverySource(t *testing.T) {
	files, err := filepath.Glob("../checks/testdata/*/*/*.yaml")
	if err != nil || len(files) < 100 {
		t.Fatalf("fixtures: %d, %v", len(files), err)
	}
	reg := checks.Registry()
	engine := scan.New(scan.Options{Registry: reg})
	compared, objects := 0, 0
	for _, file := range files {
		if filepath.Base(filepath.Dir(file)) == "fix" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fromFile := encode(t, scantest.Paths([]string{file}, scan.Options{Registry: reg}).Findings, file)
		fromStdin := encode(t, scantest.Stdin(data, scan.Options{Registry: reg}).Findings, "-")
		if !bytes.Equal(fromFile, fromStdin) {
			t.Errorf("%s: file and stdin differ:\n%s\n%s", file, fromFile, fromStdin)
		}
		docs, _ := source.Split(file, data)
		ctx := context.Background()
		fromBytes := encode(t, scan.Run(ctx, source.Documents(docs...), scan.Options{Registry: reg}).Findings, file)
		if !bytes.Equal(fromFile, fromBytes) {
			t.Errorf("%s: file and documents differ:\n%s\n%s", file, fromFile, fromBytes)
		}
		compared++
		var objs []*object.Object
		for _, d := range docs {
			o, _, _ := source.Parse(d)
			objs = append(objs, o...)
		}
		if len(objs) != 1 {
			continue
		}
		objects++
		fromObject := encode(t, engine.Object(objs[0], nil).Findings, file)
		if !bytes.Equal(fromFile, fromObject) {
			t.Errorf("%s: file and object differ:\n%s\n%s", file, fromFile, fromObject)
		}
	}
	if compared < 100 || objects < 50 {
		t.Errorf("compared only %d files, %d single objects", compared, objects)
	}
}

// encode writes findings as JSON with the file name replaced, so that a
// file and stdin compare.
func encode(t *testing.T, fs []check.Finding, file string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range fs {
		if f.Location.File == file {
			f.Location.File = "F"
		}
		j, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
