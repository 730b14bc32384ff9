package dockerfix

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/fix"
)

// FuzzDockerfile: no input makes Dockerfile panic; a file that parses
// comes out parsing, without a rewrite that failed its own verification,
// and a second run changes nothing.
func FuzzDockerfile(f *testing.F) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join("testdata", d.Name(), "before")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("\ufeffFROM alpine\r\nRUN a \\\r\n b\r\nCMD c d"))
	f.Add([]byte("# escape=`\nFROM alpine\nRUN a `\n  b\nCMD c `\n  d\n"))
	f.Add([]byte("FROM alpine AS a\nUSER app\nFROM a\nONBUILD RUN x\nENTRYPOINT exec x y\nCMD z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := fix.Options{FixValues: check.FixValues{Resolve: testResolve}}
		out, applied, skipped, err := Dockerfile("Dockerfile", data, opts)
		if errors.Is(err, errInternal) {
			t.Fatalf("%v\ninput:\n%s", err, data)
		}
		if err != nil {
			if out != nil || applied != nil || skipped != nil {
				t.Fatalf("error %v with results", err)
			}
			return
		}
		for _, s := range skipped {
			if strings.Contains(s.Reason, "did not verify") {
				t.Fatalf("%s: %s\ninput:\n%q", s.Check, s.Reason, data)
			}
		}
		if len(applied) == 0 {
			if !bytes.Equal(out, data) {
				t.Fatalf("nothing applied, output changed")
			}
			return
		}
		if f, _ := dockerfile.Parse("Dockerfile", out, dockerfile.Options{}); f == nil {
			t.Fatalf("output does not parse:\n%q", out)
		}
		again, applied2, _, err := Dockerfile("Dockerfile", out, opts)
		if err != nil || !bytes.Equal(again, out) || len(applied2) != 0 {
			t.Fatalf("second run: err %v, applied %v\ninput:\n%q\noutput:\n%q\nagain:\n%q", err, applied2, data, out, again)
		}
	})
}
