package digest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Digests for tests; the values mean nothing.
var (
	dA = "sha256:" + strings.Repeat("a", 64)
	dB = "sha256:" + strings.Repeat("b", 64)
	dC = "sha256:" + strings.Repeat("c", 64)
)

func TestParseMapping(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []mapping
	}{
		{
			name: "both forms",
			in:   "nginx:1.25@" + dA + "\nquay.io/prometheus/node-exporter:v1.8.0 " + dB + "\n",
			want: []mapping{
				{ref: "nginx:1.25", key: "index.docker.io/library/nginx:1.25", digest: dA, line: 1},
				{ref: "quay.io/prometheus/node-exporter:v1.8.0", key: "quay.io/prometheus/node-exporter:v1.8.0", digest: dB, line: 2},
			},
		},
		{
			name: "comments blank lines and odd whitespace",
			in:   "\ufeff# pins for prod\n\n   \n\tpython:3.9-alpine\t \t" + dA + "   # base\r\nlocalhost:5000/app:v2@" + dB + "#x\r\n# end",
			want: []mapping{
				{ref: "python:3.9-alpine", key: "index.docker.io/library/python:3.9-alpine", digest: dA, line: 4},
				{ref: "localhost:5000/app:v2", key: "localhost:5000/app:v2", digest: dB, line: 5},
			},
		},
		{
			name: "same digest twice under two spellings",
			in:   "nginx:1.25 " + dA + "\ndocker.io/library/nginx:1.25@" + dA + "\n",
			want: []mapping{
				{ref: "nginx:1.25", key: "index.docker.io/library/nginx:1.25", digest: dA, line: 1},
				{ref: "docker.io/library/nginx:1.25", key: "index.docker.io/library/nginx:1.25", digest: dA, line: 2},
			},
		},
		{name: "empty", in: "", want: nil},
		{name: "only comments", in: "# nothing\n#\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMapping("digests.txt", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseMappingErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"one word", "nginx:1.25 " + dA + "\n\nfoo\n", `digests.txt:3: "foo" is not REF@sha256:DIGEST or REF DIGEST`},
		{"three words", "nginx:1.25 " + dA + " extra", `digests.txt:1: "nginx:1.25 ` + dA + ` extra" is not REF@sha256:DIGEST or REF DIGEST`},
		{"digest twice", "nginx:1.25@" + dA + " " + dA, `digests.txt:1: "nginx:1.25@` + dA + ` ` + dA + `" is not REF@sha256:DIGEST or REF DIGEST`},
		{"short digest", "# x\nnginx:1.25 sha256:abc", `digests.txt:2: "sha256:abc" is not a digest (sha256: and 64 lowercase hex digits)`},
		{"upper-case hex", "nginx:1.25 sha256:" + strings.Repeat("A", 64), `digests.txt:1: "sha256:AAAA`},
		{"sha512", "nginx:1.25 sha512:" + strings.Repeat("a", 128), `digests.txt:1: "sha512:aaaa`},
		{"digest without algorithm", "nginx:1.25 " + strings.Repeat("a", 64), `is not a digest`},
		{"crane --full-ref output has no tag", "index.docker.io/library/nginx@" + dA, `digests.txt:1: "index.docker.io/library/nginx" names no tag: write REF:TAG@sha256:DIGEST (crane digest --full-ref leaves the tag out)`},
		{"no tag, registry port", "localhost:5000/app " + dA, `digests.txt:1: "localhost:5000/app" names no tag`},
		{"variable", "nginx:${TAG} " + dA, `digests.txt:1: "nginx:${TAG}" is not a literal reference`},
		{"bad name", "Nginx:1.25 " + dA, `digests.txt:1: "Nginx:1.25": repository can only contain`},
		{"empty tag", "nginx: " + dA, `digests.txt:1: "nginx:": nginx: must specify a tag name after the colon`},
		{
			"conflicting duplicate",
			"nginx:1.25 " + dA + "\nredis:7 " + dC + "\n\nindex.docker.io/library/nginx:1.25@" + dB,
			`digests.txt:4: index.docker.io/library/nginx:1.25 is ` + dB + `, but line 1 says nginx:1.25 is ` + dA,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMapping("digests.txt", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; entries %+v", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNewMappingFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "digests.txt")
	writeFile(t, file, "nginx:1.25@"+dA+"\npython:3.9-alpine "+dB+"\n")
	r, err := New(Options{MappingFile: file, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"nginx:1.25":                                dA,
		"docker.io/library/nginx:1.25":              dA,
		"index.docker.io/library/python:3.9-alpine": dB,
	} {
		got, err := r.Digest(context.Background(), ref)
		if err != nil || got != want {
			t.Errorf("Digest(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}

	_, err = r.Digest(context.Background(), "nginx:1.26")
	if want := "no digest for nginx:1.26 in the --digests file or OCI layouts (offline)"; err == nil || err.Error() != want {
		t.Errorf("Digest(nginx:1.26) error = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrNoDigest) {
		t.Errorf("error %v is not ErrNoDigest", err)
	}

	bad := filepath.Join(dir, "bad.txt")
	writeFile(t, bad, "nginx:1.25@"+dA+"\nnginx:1.25@"+dB+"\n")
	if _, err := New(Options{MappingFile: bad}); err == nil || !strings.Contains(err.Error(), bad+":2: nginx:1.25 is "+dB+", but line 1 says") {
		t.Errorf("New with conflicting lines: error %v", err)
	}

	_, err = New(Options{MappingFile: filepath.Join(dir, "missing.txt")})
	if err == nil || !strings.HasPrefix(err.Error(), "reading digests file: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New with a missing file: error %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
