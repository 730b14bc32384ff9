package imageref

import (
	"strings"
	"testing"
)

func TestParseBase(t *testing.T) {
	hex := strings.Repeat("a", 64)
	tests := []struct {
		in   string
		want Base
		ok   bool
	}{
		{"ubuntu:24.04", Base{Ref: Ref{Path: "ubuntu", Tag: "24.04"}, Name: "ubuntu", Repo: "ubuntu"}, true},
		{"docker.io/library/Ubuntu", Base{Ref: Ref{Path: "ubuntu"}, Name: "ubuntu", Repo: "ubuntu"}, true},
		{"index.docker.io/nginx", Base{Ref: Ref{Path: "nginx"}, Name: "nginx", Repo: "nginx"}, true},
		{"public.ecr.aws/docker/library/node:22", Base{Ref: Ref{Domain: "public.ecr.aws", Path: "node", Tag: "22"}, Name: "node", Repo: "node"}, true},
		{"gcr.io/distroless/static:nonroot", Base{Ref: Ref{Domain: "gcr.io", Path: "distroless/static", Tag: "nonroot"}, Name: "static", Repo: "distroless/static"}, true},
		{"node:${NODE_VERSION}-alpine", Base{Ref: Ref{Path: "node", Tag: "${node_version}-alpine"}, Name: "node", Repo: "node"}, true},
		{"$BASE", Base{Ref: Ref{Path: "$base"}, Name: "$base", Repo: "$base"}, true},
		{"${REGISTRY}/team/app:$TAG", Base{Ref: Ref{Path: "${registry}/team/app", Tag: "$tag"}, Name: "app", Repo: "team/app"}, true},
		{"registry.example.com:5000/app@${DIGEST}", Base{Ref: Ref{Domain: "registry.example.com:5000", Path: "app", Digest: "${digest}"}, Name: "app", Repo: "app"}, true},
		{"alpine:3.20@sha256:" + hex, Base{Ref: Ref{Path: "alpine", Tag: "3.20", Digest: "sha256:" + hex}, Name: "alpine", Repo: "alpine"}, true},
		{"a:b:c", Base{}, false},
		{"${", Base{Ref: Ref{Path: "${"}, Name: "${", Repo: "${"}, true},
	}
	for _, tt := range tests {
		got, ok := ParseBase(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseBase(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseBase(f *testing.F) {
	for _, s := range []string{"node:${V}-alpine", "$A$B/c@${D}", "x@sha256:$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseBase(s) // must not panic
	})
}
