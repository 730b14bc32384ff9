package digest

import (
	"regexp"
	"strings"
	"testing"
)

var errLine = regexp.MustCompile(`^f:[1-9][0-9]*: `)

// FuzzParseMapping checks that parseMapping never panics, that its errors
// name a line, and that what it accepts round-trips: the entries written
// back in either form parse to the same entries.
func FuzzParseMapping(f *testing.F) {
	for _, s := range []string{
		"",
		"nginx:1.25@" + dA,
		"nginx:1.25 " + dA + "\n# comment\n\ndocker.io/library/nginx:1.25@" + dA + " # again\r\n",
		"localhost:5000/a/b:v1\t" + dB,
		"index.docker.io/library/nginx@" + dA,
		"nginx:1.25 " + dA + "\nnginx:1.25 " + dB,
		"nginx:${TAG} " + dA,
		"foo\n",
		"\ufeffa:b@sha256:" + strings.Repeat("0", 64),
		"a:b@c@" + dA,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseMapping("f", data)
		if err != nil {
			if !errLine.MatchString(err.Error()) {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		var b strings.Builder
		for i, e := range entries {
			if !isDigest(e.digest) || e.key == "" {
				t.Fatalf("entry %+v", e)
			}
			sep := " "
			if i%2 == 1 {
				sep = "@"
			}
			b.WriteString(e.ref + sep + e.digest + "\n")
		}
		again, err := parseMapping("f", []byte(b.String()))
		if err != nil {
			t.Fatalf("reparsing %q: %v", b.String(), err)
		}
		if len(again) != len(entries) {
			t.Fatalf("reparsed %d entries, want %d", len(again), len(entries))
		}
		for i := range again {
			a, e := again[i], entries[i]
			if a.ref != e.ref || a.key != e.key || a.digest != e.digest || a.line != i+1 {
				t.Fatalf("entry %d reparsed as %+v, want %+v", i, a, e)
			}
		}
	})
}
