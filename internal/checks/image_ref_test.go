package checks

import (
	"strings"
	"testing"
)

func TestParseImageRef(t *testing.T) {
	const hex = "f2aeefbeb3846b146a8ad9b995af469d249272af804b309318e2c72c9ca035b0"
	tests := []struct {
		in      string
		want    imageRef
		wantErr string
	}{
		{in: "nginx", want: imageRef{Path: "nginx"}},
		{in: "nginx:1.27", want: imageRef{Path: "nginx", Tag: "1.27"}},
		{in: "nginx:latest", want: imageRef{Path: "nginx", Tag: "latest"}},
		{in: "library/nginx:1.27-alpine", want: imageRef{Path: "library/nginx", Tag: "1.27-alpine"}},
		{in: "registry/api:latest", want: imageRef{Path: "registry/api", Tag: "latest"}},
		{in: "docker.io/library/nginx", want: imageRef{Domain: "docker.io", Path: "library/nginx"}},
		{in: "ghcr.io/org/team/app:v1.0.3", want: imageRef{Domain: "ghcr.io", Path: "org/team/app", Tag: "v1.0.3"}},
		// The port is not a tag.
		{in: "localhost:5000/app", want: imageRef{Domain: "localhost:5000", Path: "app"}},
		{in: "localhost:5000/app:2", want: imageRef{Domain: "localhost:5000", Path: "app", Tag: "2"}},
		{in: "localhost/app", want: imageRef{Domain: "localhost", Path: "app"}},
		{in: "registry.example.com:443/a/b", want: imageRef{Domain: "registry.example.com:443", Path: "a/b"}},
		{in: "[::1]:5000/app:dev", want: imageRef{Domain: "[::1]:5000", Path: "app", Tag: "dev"}},
		{in: "10.0.0.1:5000/app", want: imageRef{Domain: "10.0.0.1:5000", Path: "app"}},
		// Without a slash, host:port reads as name:tag, as Docker reads it.
		{in: "localhost:5000", want: imageRef{Path: "localhost", Tag: "5000"}},
		// A capital first component can only be a host.
		{in: "MyRegistry/app", want: imageRef{Domain: "MyRegistry", Path: "app"}},
		{in: "app@sha256:" + hex, want: imageRef{Path: "app", Digest: "sha256:" + hex}},
		{in: "app:latest@sha256:" + hex, want: imageRef{Path: "app", Tag: "latest", Digest: "sha256:" + hex}},
		{in: "localhost:5000/app@sha256:" + hex, want: imageRef{Domain: "localhost:5000", Path: "app", Digest: "sha256:" + hex}},
		{in: "python:3.9-alpine3.15@sha256:" + hex, want: imageRef{Path: "python", Tag: "3.9-alpine3.15", Digest: "sha256:" + hex}},
		{in: "app@sha512:" + strings.Repeat("ab", 64), want: imageRef{Path: "app", Digest: "sha512:" + strings.Repeat("ab", 64)}},
		{in: "a__b/c.d-e--f:T_1", want: imageRef{Path: "a__b/c.d-e--f", Tag: "T_1"}},

		{in: "", wantErr: "empty"},
		{in: " nginx", wantErr: "whitespace"},
		{in: "Nginx", wantErr: "lowercase"},
		{in: "org/App", wantErr: "lowercase"},
		{in: "nginx:", wantErr: "invalid tag"},
		{in: "nginx:-1", wantErr: "invalid tag"},
		{in: "nginx:" + strings.Repeat("a", 129), wantErr: "invalid tag"},
		{in: ":1.0", wantErr: "no repository"},
		{in: "a//b", wantErr: "path component"},
		{in: "a/b/", wantErr: "path component"},
		{in: "a_/b", wantErr: "path component"},
		{in: "-a.com/b", wantErr: "registry host"},
		{in: "a.com:port/b", wantErr: "registry host"},
		{in: "app@sha256:abc", wantErr: "invalid digest"},
		{in: "app@sha256:" + strings.ToUpper(hex), wantErr: "lowercase hex"},
		{in: "app@sha256:" + hex + "00", wantErr: "lowercase hex"},
		{in: "app@md5:" + hex, wantErr: "unsupported"},
		{in: "app@" + hex, wantErr: "invalid digest"},
		{in: "app@sha256:" + hex + "@sha256:" + hex, wantErr: "invalid digest"},
		{in: strings.Repeat("a", 256), wantErr: "longer than"},
	}
	for _, tt := range tests {
		got, err := parseImageRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseImageRef(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseImageRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestImageRefPinned(t *testing.T) {
	for in, want := range map[string]bool{
		"app@sha256:" + strings.Repeat("0", 64):     true,
		"app:1@sha256:" + strings.Repeat("0", 64):   true,
		"app@sha512:" + strings.Repeat("0", 128):    false,
		"registry.example.com/app:1.0":              false,
		"registry.example.com/app:sha256-deadbeef0": false,
	} {
		r, err := parseImageRef(in)
		if err != nil {
			t.Fatalf("parseImageRef(%q): %v", in, err)
		}
		if got := r.pinnedSHA256(); got != want {
			t.Errorf("pinnedSHA256(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParseImageRef checks that the parser never panics and that what it
// accepts reassembles to its input.
func FuzzParseImageRef(f *testing.F) {
	for _, s := range []string{"nginx", "localhost:5000/app:1@sha256:" + strings.Repeat("a", 64), "[::1]:5/a", "a@b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseImageRef(s)
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
			t.Errorf("parseImageRef(%q) = %+v, which reassembles to %q", s, r, back)
		}
	})
}
