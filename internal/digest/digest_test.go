package digest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalisation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, strings.Join([]string{
		"nginx:1.25 " + dA,
		"docker.io/library/alpine:latest " + dB,
		"ghcr.io/org/app:v1 " + dC,
	}, "\n"))
	r, err := New(Options{MappingFile: file, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want string // "" means no match
	}{
		{"nginx:1.25", dA},
		{"library/nginx:1.25", dA},
		{"docker.io/nginx:1.25", dA},
		{"docker.io/library/nginx:1.25", dA},
		{"index.docker.io/library/nginx:1.25", dA},
		{"alpine", dB}, // no tag means latest
		{"alpine:latest", dB},
		{"docker.io/library/alpine", dB},
		{"ghcr.io/org/app:v1", dC},
		{"nginx:1.26", ""},
		{"nginx", ""},
		{"quay.io/nginx:1.25", ""},
		{"myorg/nginx:1.25", ""},
		{"ghcr.io/org/app:V1", ""}, // tags are case-sensitive
		{"ghcr.io/app:v1", ""},
	}
	for _, tc := range tests {
		got, err := r.Digest(context.Background(), tc.ref)
		if tc.want == "" {
			if !errors.Is(err, ErrNoDigest) {
				t.Errorf("Digest(%q) = %q, %v; want ErrNoDigest", tc.ref, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Digest(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestDigestedReference(t *testing.T) {
	// No source knows these, and Offline forbids asking: the digest must
	// come from the reference itself.
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, "nginx:1.25 "+dA)
	r, err := New(Options{MappingFile: file, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"nginx@" + dC, "nginx:1.25@" + dC, "registry.example.com:5000/a/b:v1@" + dC} {
		got, err := r.Digest(context.Background(), ref)
		if err != nil || got != dC {
			t.Errorf("Digest(%q) = %q, %v; want %q", ref, got, err, dC)
		}
	}
}

func TestNotLiteral(t *testing.T) {
	// Not offline: a variable must be caught before any network use.
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"nginx:$TAG", "${REGISTRY}/app:1", "python:${PY_VERSION}-alpine", "{{ .Values.image }}", "app:{{.Chart.AppVersion}}"} {
		_, err := r.Digest(context.Background(), ref)
		if !errors.Is(err, ErrNotLiteral) {
			t.Errorf("Digest(%q) error = %v, want ErrNotLiteral", ref, err)
			continue
		}
		if want := `"` + ref + `" is not a literal reference`; err.Error() != want {
			t.Errorf("Digest(%q) error = %q, want %q", ref, err, want)
		}
	}
}

func TestInvalidReference(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"":                       "a repository name must be specified",
		"Nginx:1.25":             "repository can only contain the characters",
		"nginx:":                 "must specify a tag name after the colon",
		"nginx:1.25 ":            "tag can only contain the characters",
		"a b":                    "repository can only contain the characters",
		"nginx@sha256:abc":       "",
		"nginx@md5:abc":          "unsupported digest algorithm",
		"nginx@" + dA + "@" + dB: "exactly one '@'",
		"Nginx:1.25@" + dA:       "repository can only contain the characters",
	} {
		_, err := r.Digest(context.Background(), ref)
		if err == nil || !strings.HasPrefix(err.Error(), "resolving "+ref+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Digest(%q) error = %v, want resolving %s: ...%s...", ref, err, ref, want)
		}
	}
}

func TestNewOfflineNeedsASource(t *testing.T) {
	_, err := New(Options{Offline: true})
	if err == nil || !strings.Contains(err.Error(), "needs a --digests file or an --oci-layout") {
		t.Errorf("error %v", err)
	}
}

func TestPin(t *testing.T) {
	tests := []struct{ ref, digest, want string }{
		{"nginx:1.25", dA, "nginx:1.25@" + dA},
		{"nginx", dA, "nginx@" + dA},
		{"docker.io/library/nginx:1.25", dA, "docker.io/library/nginx:1.25@" + dA},
		{"localhost:5000/app:v1", dA, "localhost:5000/app:v1@" + dA},
		{"localhost:5000/app", dA, "localhost:5000/app@" + dA},
		{"nginx:1.25@" + dB, dA, "nginx:1.25@" + dA},
		{"nginx@" + dB, dA, "nginx@" + dA},
		{"nginx:1.25", "", "nginx:1.25"},
	}
	for _, tc := range tests {
		if got := Pin(tc.ref, tc.digest); got != tc.want {
			t.Errorf("Pin(%q, %q) = %q, want %q", tc.ref, tc.digest, got, tc.want)
		}
	}

	// A pinned reference resolves to its pin with no source at all, and
	// pinning it again changes nothing.
	file := filepath.Join(t.TempDir(), "digests.txt")
	writeFile(t, file, "")
	r, err := New(Options{MappingFile: file, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests[:len(tests)-1] {
		got, err := r.Digest(context.Background(), tc.want)
		if err != nil || got != tc.digest {
			t.Errorf("Digest(%q) = %q, %v; want %q", tc.want, got, err, tc.digest)
		}
		if again := Pin(tc.want, got); again != tc.want {
			t.Errorf("Pin(%q, %q) = %q, want it unchanged", tc.want, got, again)
		}
	}
}
