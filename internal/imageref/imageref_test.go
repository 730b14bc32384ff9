package imageref

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

func TestParse(t *testing.T) {
	const hex = "f2aeefbeb3846b146a8ad9b995af469d249272af804b309318e2c72c9ca035b0"
	tests := []struct {
		in      string
		want    Ref
		wantErr error
	}{
		{in: "nginx", want: Ref{Path: "nginx"}},
		{in: "nginx:1.27", want: Ref{Path: "nginx", Tag: "1.27"}},
		{in: "nginx:latest", want: Ref{Path: "nginx", Tag: "latest"}},
		{in: "library/nginx:1.27-alpine", want: Ref{Path: "library/nginx", Tag: "1.27-alpine"}},
		{in: "registry/api:latest", want: Ref{Path: "registry/api", Tag: "latest"}},
		{in: "docker.io/library/nginx", want: Ref{Domain: "docker.io", Path: "library/nginx"}},
		{in: "ghcr.io/org/team/app:v1.0.3", want: Ref{Domain: "ghcr.io", Path: "org/team/app", Tag: "v1.0.3"}},
		// The port is not a tag.
		{in: "localhost:5000/app", want: Ref{Domain: "localhost:5000", Path: "app"}},
		{in: "localhost:5000/app:2", want: Ref{Domain: "localhost:5000", Path: "app", Tag: "2"}},
		{in: "localhost/app", want: Ref{Domain: "localhost", Path: "app"}},
		{in: "registry.example.com:443/a/b", want: Ref{Domain: "registry.example.com:443", Path: "a/b"}},
		{in: "[::1]:5000/app:dev", want: Ref{Domain: "[::1]:5000", Path: "app", Tag: "dev"}},
		{in: "10.0.0.1:5000/app", want: Ref{Domain: "10.0.0.1:5000", Path: "app"}},
		// Without a slash, host:port reads as name:tag, as Docker reads it.
		{in: "localhost:5000", want: Ref{Path: "localhost", Tag: "5000"}},
		// A capital first component can only be a host.
		{in: "MyRegistry/app", want: Ref{Domain: "MyRegistry", Path: "app"}},
		{in: "app@sha256:" + hex, want: Ref{Path: "app", Digest: "sha256:" + hex}},
		{in: "app:latest@sha256:" + hex, want: Ref{Path: "app", Tag: "latest", Digest: "sha256:" + hex}},
		{in: "localhost:5000/app@sha256:" + hex, want: Ref{Domain: "localhost:5000", Path: "app", Digest: "sha256:" + hex}},
		{in: "python:3.9-alpine3.15@sha256:" + hex, want: Ref{Path: "python", Tag: "3.9-alpine3.15", Digest: "sha256:" + hex}},
		{in: "app@sha512:" + strings.Repeat("ab", 64), want: Ref{Path: "app", Digest: "sha512:" + strings.Repeat("ab", 64)}},
		{in: "a__b/c.d-e--f:T_1", want: Ref{Path: "a__b/c.d-e--f", Tag: "T_1"}},

		{in: "", wantErr: reference.ErrNameEmpty},
		{in: " nginx", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "Nginx", wantErr: reference.ErrNameContainsUppercase},
		{in: "org/App", wantErr: reference.ErrNameContainsUppercase},
		{in: "nginx:", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "nginx:-1", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "nginx:" + strings.Repeat("a", 129), wantErr: reference.ErrReferenceInvalidFormat},
		{in: ":1.0", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "a//b", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "a/b/", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "a_/b", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "-a.com/b", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "a.com:port/b", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "app@sha256:abc", wantErr: reference.ErrReferenceInvalidFormat},
		{in: "app@sha256:" + strings.ToUpper(hex), wantErr: digest.ErrDigestInvalidFormat},
		{in: "app@sha256:" + hex + "00", wantErr: digest.ErrDigestInvalidLength},
		{in: "app@md5:" + hex, wantErr: digest.ErrDigestUnsupported},
		{in: "app@" + hex, wantErr: reference.ErrReferenceInvalidFormat},
		{in: "app@sha256:" + hex + "@sha256:" + hex, wantErr: reference.ErrReferenceInvalidFormat},
		{in: strings.Repeat("a", 256), wantErr: reference.ErrNameTooLong},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse(%q) = %+v, %v; want %v", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestPinnedSHA256(t *testing.T) {
	for in, want := range map[string]bool{
		"app@sha256:" + strings.Repeat("0", 64):     true,
		"app:1@sha256:" + strings.Repeat("0", 64):   true,
		"app@sha512:" + strings.Repeat("0", 128):    false,
		"registry.example.com/app:1.0":              false,
		"registry.example.com/app:sha256-deadbeef0": false,
	} {
		r, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := r.PinnedSHA256(); got != want {
			t.Errorf("PinnedSHA256(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParse checks that the parser never panics and that what it
// accepts reassembles to its input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"nginx", "localhost:5000/app:1@sha256:" + strings.Repeat("a", 64), "[::1]:5/a", "a@b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		back := r.Path
		if r.Domain != "" {
			back = r.Domain + "/" + back
		}
		if r.Tag != "" {
			back += ":" + r.Tag
		}
		if r.Digest != "" {
			back += "@" + r.Digest
		}
		if back != s {
			t.Errorf("Parse(%q) = %+v, which reassembles to %q", s, r, back)
		}
	})
}
