package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// dfFindings runs every Dockerfile check on one file, with the default
// parameters, and fails the test on parse errors.
func dfFindings(t *testing.T, path string) []check.Finding {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	df, errs := dockerfile.Parse(path, data, dockerfile.Options{})
	for _, e := range errs {
		t.Errorf("%s: %v", path, e)
	}
	if df == nil {
		t.Fatalf("%s: not parsed", path)
	}
	params := check.DefaultParams()
	var out []check.Finding
	dockerfilecheck.Run(dockerfilecheck.Of(Registry()), df, path, &params, func(f check.Finding) { out = append(out, f) })
	return out
}

// seed003Before is the Dockerfile of seed 003 before hardening, as the
// article prints it.
const seed003Before = `FROM python:3-alpine
COPY requirements.txt .
RUN pip3 install -r requirements.txt

WORKDIR /app
COPY src/ ./

ENV PYTHONUNBUFFERED 1
CMD python3 app.py
`

func dfChecksHit(fs []check.Finding) map[string]bool {
	hit := map[string]bool{}
	for _, f := range fs {
		hit[f.Check] = true
	}
	return hit
}

// TestDockerfileSeed003 is the acceptance test of the Dockerfile checks:
// seed 003's Dockerfile before hardening (also examples/insecure-app)
// runs as root, floats its base and runs its CMD through a shell, while
// python:3-alpine is a tag; the hardened example passes everything.
func TestDockerfileSeed003(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(seed, []byte(seed003Before), 0o600); err != nil {
		t.Fatal(err)
	}
	insecure := filepath.Join("..", "..", "examples", "insecure-app", "Dockerfile")
	for _, path := range []string{seed, insecure} {
		hit := dfChecksHit(dfFindings(t, path))
		for _, id := range []string{"dockerfile-user", "dockerfile-base-digest", "dockerfile-exec-form"} {
			if !hit[id] {
				t.Errorf("%s: no %s finding", path, id)
			}
		}
		if hit["dockerfile-base-tag"] {
			t.Errorf("%s: python:3-alpine is a tag, but dockerfile-base-tag reported it", path)
		}
	}
	// The example is the seed's file, with a comment on top.
	data, err := os.ReadFile(insecure)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), seed003Before) {
		t.Errorf("%s is not seed 003's Dockerfile", insecure)
	}
	hardened := filepath.Join("..", "..", "examples", "hardened-app", "Dockerfile")
	for _, f := range dfFindings(t, hardened) {
		t.Errorf("%s:%d: %s: %s", hardened, f.Location.Line, f.Check, f.Message)
	}
}

// TestDockerfileCorpus pins the findings on the real-world Dockerfiles of
// ../shared/corpus, reviewed by hand (see each entry).
func TestDockerfileCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "dockerfiles")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus directory %s is missing (it lives beside the repository): %v", dir, err)
	}
	want := map[string][]string{
		// Final stage builds FROM argocd-base (ubuntu): full base; the
		// base stage installs openssh-client; USER $ARGOCD_USER_ID is ENV
		// 999, inherited from argocd-base.
		"argo-cd/Dockerfile": {"38 dockerfile-minimal-base", "38 dockerfile-tools-in-final-stage", "50 dockerfile-tools-in-final-stage", "167 dockerfile-user-high-uid"},
		// A dev image on a local :latest image, no USER.
		"argo-cd/hack/Dockerfile.dev-tools": {"1 dockerfile-base-digest", "1 dockerfile-base-tag", "1 dockerfile-user"},
		// USER commented out.
		"dockle/Dockerfile": {"1 dockerfile-base-digest", "9 dockerfile-base-digest", "9 dockerfile-user"},
		// Pinned distroless, USER 65532:65532.
		"gatekeeper/Dockerfile":       nil,
		"gatekeeper/gator.Dockerfile": nil,
		// apk add bash into the final image, no USER.
		"ingress-nginx/images/cfssl/rootfs/Dockerfile": {"15 dockerfile-base-digest", "15 dockerfile-user", "18 dockerfile-tools-in-final-stage"},
		// USER nonroot:nonroot is a name; golang:${GOLANG_VERSION} has a tag from a build arg.
		"ingress-nginx/images/custom-error-pages/rootfs/Dockerfile": {"17 dockerfile-base-digest", "33 dockerfile-base-digest", "38 dockerfile-user-high-uid"},
		// FROM scratch without USER.
		"ingress-nginx/images/httpbun/rootfs/Dockerfile": {"17 dockerfile-base-digest", "32 dockerfile-user"},
		// apk add bash kubectl in the final stage; wget here is busybox's, not installed.
		"kube-bench/Dockerfile": {"1 dockerfile-base-digest", "12 dockerfile-base-digest", "12 dockerfile-user", "34 dockerfile-tools-in-final-stage"},
		// ubi-minimal without tag; yum is installed and removed again.
		"kube-bench/Dockerfile.ubi":           {"1 dockerfile-base-digest", "12 dockerfile-base-digest", "12 dockerfile-base-tag", "12 dockerfile-user"},
		"kube-linter/image/Dockerfile":        {"1 dockerfile-user"},
		"kube-linter/image/Dockerfile_alpine": {"1 dockerfile-base-digest", "1 dockerfile-base-tag", "1 dockerfile-user"},
		// curl is installed in the debian downloader stage only; bash in the final one.
		"kube-score/cmd/kube-score/helm3.Dockerfile": {"1 dockerfile-base-digest", "13 dockerfile-base-digest", "13 dockerfile-user", "14 dockerfile-tools-in-final-stage"},
		"kubescape/build/Dockerfile":                 {"1 dockerfile-base-digest", "3 dockerfile-user-high-uid"},
		"kubescape/build/kubescape-cli.Dockerfile":   {"1 dockerfile-base-digest", "3 dockerfile-user-high-uid"},
		// USER kubesec is a name; curl only in the downloader stage.
		"kubesec/Dockerfile":                          {"1 dockerfile-base-digest", "18 dockerfile-base-digest", "30 dockerfile-base-digest", "48 dockerfile-user-high-uid"},
		"kubesec/Dockerfile.scratch":                  {"1 dockerfile-base-digest", "18 dockerfile-base-digest", "39 dockerfile-user-high-uid"},
		"kubewarden-controller/Dockerfile.controller": {"24 dockerfile-base-digest"},
		// USER 1200: non-root but low.
		"polaris/Dockerfile":                   {"1 dockerfile-base-digest", "17 dockerfile-user-high-uid"},
		"slim/build/package/docker/Dockerfile": {"1 dockerfile-base-digest", "1 dockerfile-base-tag", "5 dockerfile-user"},
		"trivy/Dockerfile":                     {"1 dockerfile-base-digest", "1 dockerfile-user"},
	}
	for name, w := range want {
		path := filepath.Join(dir, filepath.FromSlash(name))
		var got []string
		for _, f := range dfFindings(t, path) {
			got = append(got, strconv.Itoa(f.Location.Line)+" "+f.Check)
		}
		sort.Slice(got, func(i, j int) bool { return dfLess(got[i], got[j]) })
		sort.Slice(w, func(i, j int) bool { return dfLess(w[i], w[j]) })
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", name, got, w)
		}
	}
}

// dfLess orders "line check" strings by line, then check.
func dfLess(a, b string) bool {
	la, ca, _ := strings.Cut(a, " ")
	lb, cb, _ := strings.Cut(b, " ")
	na, _ := strconv.Atoi(la)
	nb, _ := strconv.Atoi(lb)
	if na != nb {
		return na < nb
	}
	return ca < cb
}

func TestDockerfilePackageOps(t *testing.T) {
	tests := []struct {
		script string
		want   string // ops as "+group:pkg,pkg" or "-pkg", space-separated
	}{
		{"apk add --no-cache bash curl=8.9-r0 cfssl@testing", "+bash,curl,cfssl"},
		{"apk --no-cache add -X https://repo git", "+git"},
		{"apk add --virtual .deps curl && apk del .deps", "+.deps:curl -.deps"},
		{"apk add -t=.deps wget", "+.deps:wget"},
		{"apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold install --no-install-recommends openssh-client git=1:2.47", "+openssh-client,git"},
		{"apt-get purge -y --auto-remove curl", "-curl"},
		{"sudo apt install -y netcat-openbsd", "+netcat-openbsd"},
		{"if [ -n \"$X\" ]; then yum install -y nc; fi", "+nc"},
		{"microdnf install -y yum && microdnf remove yum || rpm -e yum", "+yum -yum"},
		{"dnf -y --setopt install_weak_deps=0 install socat", "+socat"},
		{"zypper --non-interactive in telnet", "+telnet"},
		{"pip3 install --no-cache-dir -r requirements.txt httpie==3.2 'requests[socks]>=2'", "+httpie,requests"},
		{"python3 -m pip install -e . flask", "+flask"},
		{"/sbin/apk add \\\n  bash", "+bash"},
		{"apk info curl; apt-get update; echo apk add bash", ""},
	}
	for _, tt := range tests {
		var parts []string
		for _, op := range dfPackageOps(tt.script) {
			s := "+"
			if op.remove {
				s = "-"
			}
			if op.group != "" {
				s += op.group + ":"
			}
			parts = append(parts, s+strings.Join(op.pkgs, ","))
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.script, got, tt.want)
		}
	}
}

func TestDockerfileBases(t *testing.T) {
	tests := []struct {
		base    string
		kind    dfBaseKind
		nonRoot bool
	}{
		{"scratch", dfBaseMinimal, false},
		{"gcr.io/distroless/static-debian12", dfBaseMinimal, false},
		{"gcr.io/distroless/static-debian12:nonroot", dfBaseMinimal, true},
		{"gcr.io/distroless/python3-debian12:nonroot@sha256:8d1d21bbd7b6c4b1a6ec4b1dfc4b9a4e36f3c1b6d8c8e2a6a96b3f0b5b8e1c2d", dfBaseMinimal, true},
		{"gcr.io/distroless/base:nonroot-arm64", dfBaseMinimal, true},
		{"gcr.io/distroless/base:debug-nonroot", dfBaseMinimal, true},
		{"gcr.io/distroless/base:debug", dfBaseMinimal, false},
		{"cgr.dev/chainguard/static", dfBaseMinimal, true},
		{"cgr.dev/chainguard/python:3.12", dfBaseMinimal, true},
		{"cgr.dev/chainguard/python:latest-dev", dfBaseMinimal, false},
		{"cgr.dev/chainguard/wolfi-base", dfBaseMinimal, false},
		{"alpine:3.20", dfBaseMinimal, false},
		{"python:3-alpine", dfBaseMinimal, false},
		{"python:3.12-slim", dfBaseMinimal, false},
		{"debian:bookworm-slim", dfBaseMinimal, false},
		{"python:3.12", dfBaseFull, false},
		{"python", dfBaseFull, false},
		{"docker.io/library/node:20", dfBaseFull, false},
		{"public.ecr.aws/docker/library/golang:1.22", dfBaseFull, false},
		{"ubuntu:24.04", dfBaseFull, false},
		{"debian:bookworm", dfBaseFull, false},
		{"opensuse/leap:15.6", dfBaseFull, false},
		{"registry.access.redhat.com/ubi9/ubi", dfBaseFull, false},
		{"redhat/ubi9", dfBaseFull, false},
		{"public.ecr.aws/amazonlinux/amazonlinux:2023", dfBaseFull, false},
		{"registry.access.redhat.com/ubi9/ubi-minimal", dfBaseUnknown, false},
		{"mycompany/python:3.12", dfBaseUnknown, false},
		{"golang:${GO_VERSION}", dfBaseUnknown, false},
		{"${BASE}", dfBaseUnknown, false},
		{"mcr.microsoft.com/windows/servercore:ltsc2022", dfBaseUnknown, false},
	}
	for _, tt := range tests {
		if kind, _ := dfClassifyBase(tt.base); kind != tt.kind {
			t.Errorf("%s: kind %d, want %d", tt.base, kind, tt.kind)
		}
		if got := dfNonRootBase(tt.base); got != tt.nonRoot {
			t.Errorf("%s: non-root %v, want %v", tt.base, got, tt.nonRoot)
		}
	}
}

func TestDockerfileRootUser(t *testing.T) {
	for v, want := range map[string]bool{
		"root": true, "0": true, "0:0": true, "root:root": true, "0:root": true, "root:1000": true, "000": true,
		"1000": false, "1000:0": false, "app": false, "app:root": false, "60096:60096": false, "rootless": false,
	} {
		if got := dfRootUser(v); got != want {
			t.Errorf("%q: root %v, want %v", v, got, want)
		}
	}
}

// FuzzDockerfileChecks runs the Dockerfile checks over any Dockerfile
// that parses: nothing may panic, and every finding must point at a line
// of the file.
func FuzzDockerfileChecks(f *testing.F) {
	files, _ := filepath.Glob("testdata/dockerfile-*/*/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, _ := dockerfile.Parse("Dockerfile", data, dockerfile.Options{})
		if df == nil {
			return
		}
		params := check.DefaultParams()
		params.MaxUID = 65535
		lines := strings.Count(string(data), "\n") + 1
		dockerfilecheck.Run(dockerfilecheck.Of(Registry()), df, "Dockerfile", &params, func(fd check.Finding) {
			if fd.Location.Line < 1 || fd.Location.Line > lines || fd.Message == "" || fd.Path == "" {
				t.Fatalf("bad finding (%d lines): %+v", lines, fd)
			}
		})
	})
}
