# kubeharden: every target a new machine needs. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
CACHE := $(CURDIR)/.cache
BIN := $(CACHE)/bin
GOLANGCI_VERSION := v2.6.2
GOLANGCI := $(BIN)/golangci-lint-$(GOLANGCI_VERSION)
CORPUS ?= $(abspath ../shared/corpus)
SCALE := $(CACHE)/scale

.PHONY: all build example test unit race fuzz lint generate verify bench clean controlplane krew-manifest

all: build

build:
	$(GO) build -o bin/kubeharden ./cmd/kubeharden

# Runs the tool on the bundled example: the insecure app of the seeds (many
# findings, reported without failing) and its hardened twin (zero findings).
example: build
	./bin/kubeharden scan --fail-on none examples/insecure-app
	./bin/kubeharden scan examples/hardened-app

# Everything CI checks: generated docs in sync, lint, unit and end-to-end
# tests with the race detector, and a short run of every fuzz target.
test: verify lint controlplane browser race fuzz

# Tests that run over the real-world corpus find it here.
export KUBEHARDEN_CORPUS := $(CORPUS)

# Integration tests (internal/testenv) run a real etcd and kube-apiserver,
# built from Go modules into a cache outside the repository, keyed by their
# versions (~11 min and 3 GB cold, nothing when built); set
# KUBEHARDEN_CONTROLPLANE or KUBEHARDEN_CACHE to build elsewhere.
export KUBEHARDEN_CONTROLPLANE := $(shell bash tools/controlplane/build.sh --dir)

controlplane:
	@GO=$(GO) bash tools/controlplane/build.sh >/dev/null

# The HTML report's tests open it in headless Chromium (Debian's chromium
# package, installed when missing; KUBEHARDEN_CHROMIUM names another) and
# validate it with html-validate (the npm package, pinned, installed into
# the cache once).
HTML_VALIDATE_VERSION := 9.7.1
HTML_VALIDATE := $(CACHE)/html-validate-$(HTML_VALIDATE_VERSION)/node_modules/.bin/html-validate
export KUBEHARDEN_HTML_VALIDATE := $(HTML_VALIDATE)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The Debian packages the tests run besides Go, each installed only when its
# command is missing: chromium (the HTML report), npm (html-validate),
# envsubst (the krew manifest) and git (the pre-commit hooks).
.PHONY: chromium debian-tools html-validate browser
chromium: debian-tools
debian-tools:
	@missing=; \
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$KUBEHARDEN_CHROMIUM" ] || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v envsubst >/dev/null || missing="$$missing gettext-base"; \
	command -v git >/dev/null || missing="$$missing git"; \
	[ -z "$$missing" ] || { echo "installing$$missing" >&2; $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; }

html-validate: $(HTML_VALIDATE)
$(HTML_VALIDATE): | debian-tools
	mkdir -p $(CACHE)/html-validate-$(HTML_VALIDATE_VERSION)
	cd $(CACHE)/html-validate-$(HTML_VALIDATE_VERSION) && npm install --no-audit --no-fund --prefix . html-validate@$(HTML_VALIDATE_VERSION)

browser: chromium html-validate

unit: controlplane browser
	$(GO) test ./...

race: controlplane browser
	$(GO) test -race -count=1 ./...

# Fuzz targets run briefly in CI, each for a number of executions sized to
# about ten seconds here. Counts, not durations: go1.26's fuzz coordinator
# can fail a duration run at its deadline with a spurious "context deadline
# exceeded" (golang/go#75804, fixed in go1.27). Fuzz longer with
# `make fuzz FUZZTIME=5m`.
FUZZ_TARGETS := \
	./internal/source:FuzzSplitParse:150000x \
	./internal/checks:FuzzScan:10000x \
	./internal/checks:FuzzDockerfileChecks:15000x \
	./internal/config:FuzzParse:150000x \
	./internal/report/jsonenc:FuzzAppendString:300000x \
	./internal/report/sarif:FuzzMatchesReference:3000x \
	./internal/report/junit:FuzzMatchesReference:5000x \
	./internal/dockerfile:FuzzParse:50000x \
	./internal/image:FuzzFlatten:200000x \
	./internal/source/kustomize:FuzzBuild:2000x \
	./internal/source/helm:FuzzRender:1000x \
	./internal/fix:FuzzManifest:20000x \
	./internal/digest:FuzzParseMapping:150000x \
	./internal/fix/dockerfix:FuzzDockerfile:25000x \
	./internal/image:FuzzLoadArchive:30000x \
	./internal/yamledit:FuzzSameNode:100000x \
	./internal/source:FuzzMatchGlob:200000x \
	./internal/source:FuzzSplitLimits:100000x \
	./internal/dockerfile:FuzzExpansionBound:100000x \
	./internal/source/kustomize:FuzzDocSizes:60000x \
	./internal/source/helm:FuzzRenderBounded:100x \
	./internal/source/helm:FuzzMarkTemplate:15000x \
	./internal/webhook:FuzzReview:20000x \
	./internal/admissionpolicy:FuzzImageGrammar:50000x \
	./internal/report/html:FuzzRender:3000x \
	./internal/vuln:FuzzMatchRecord:50000x \
	./internal/vuln:FuzzParseReport:70000x \
	./internal/vuln:FuzzParseVEX:70000x \
	./internal/vuln:FuzzDBFiles:6000x \
	./internal/baseline:FuzzParse:100000x \
	./internal/vuln:FuzzDpkgStatus:60000x \
	./internal/vuln:FuzzApkInstalled:100000x \
	./internal/vuln:FuzzPythonMetadata:60000x \
	./internal/vuln:FuzzNpmPackageJSON:100000x \
	./internal/vuln:FuzzPomProperties:100000x \
	./internal/image:FuzzGoBuildInfo:100000x \
	./internal/image:FuzzJAR:100000x \
	./internal/vuln:FuzzInventory:60000x \
	./internal/vuln:FuzzRPMHeader:120000x \
	./internal/vuln:FuzzRPMDB:20000x \
	./internal/vuln:FuzzRPMBerkeleyDB:100000x
FUZZTIME ?=
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		[ -z "$(FUZZTIME)" ] || budget=$(FUZZTIME); \
		echo "fuzz $$pkg $$name ($$budget)"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$$budget $$pkg; \
	done

$(GOLANGCI):
	mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(BIN)/golangci-lint $(GOLANGCI)

lint: $(GOLANGCI)
	$(GOLANGCI) run ./...

# Regenerates docs/checks.md and docs/cli.md from the registry and commands.
generate:
	$(GO) run ./cmd/kubeharden gendocs docs

# Fails when generated files drift from the code.
verify:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp docs/cluster.md $$tmp/; \
	$(GO) run ./cmd/kubeharden gendocs $$tmp; \
	for f in checks.md cli.md cluster.md; do \
		diff -u docs/$$f $$tmp/$$f || { echo "docs/$$f is out of date: run make generate"; exit 1; }; \
	done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# The krew plugin manifest of a release (docs/integrations.md): the tag and
# the sha256 of each archive in DIST.
DIST ?= dist
krew-manifest:
	@test -n "$(VERSION)" || { echo "usage: make krew-manifest VERSION=v1.2.3 DIST=dist" >&2; exit 1; }
	@bash tools/krew/manifest.sh $(VERSION) $(DIST)

$(SCALE)/N10k.yaml:
	bash $(CORPUS)/scale.sh $(SCALE) >/dev/null

# Objects per second and peak memory of a scan against the parse-only floor
# (the same files decoded with the same YAML library, no checks).
bench: build $(SCALE)/N10k.yaml
	$(GO) build -o $(CACHE)/floor ./tools/floor
	@for f in N1k.yaml N10k.yaml N100k.yaml dir10k; do \
		echo "== $$f"; \
		/usr/bin/time -f "floor: %e s, peak %M KiB" $(CACHE)/floor $(SCALE)/$$f; \
		/usr/bin/time -f "scan:  %e s, peak %M KiB" ./bin/kubeharden scan -o json --fail-on none --output-file /dev/null $(SCALE)/$$f; \
	done
	@echo "== fix N10k.yaml"
	@/usr/bin/time -f "fix:   %e s, peak %M KiB" sh -c './bin/kubeharden fix - < $(SCALE)/N10k.yaml > /dev/null 2>&1'
	KUBEHARDEN_SCALE=$(SCALE) $(GO) test -run='^$$' -bench=. -benchmem ./internal/scan ./internal/fix

clean:
	rm -rf bin $(CACHE)

# The HTML report of the 100,000-object scan: its size (MB, under 50) and
# the time headless Chromium takes to open it (s/load, under 5).
.PHONY: bench-html
bench-html: browser $(SCALE)/N10k.yaml
	KUBEHARDEN_SCALE=$(SCALE) $(GO) test -run='^$$' -bench='^BenchmarkHTML100k$$' -benchtime=3x -timeout=30m ./internal/report/html

# Screenshots of the HTML report of the bundled insecure example (shown in
# the README), the real-world corpus and the 100,000-object scan, in
# docs/img/. Only the example's is committed.
SCREENSHOT = $(firstword $(shell command -v chromium chromium-browser)) --headless --disable-gpu --hide-scrollbars \
	$(shell [ "$$(id -u)" = 0 ] && echo --no-sandbox) --window-size=1280,1800
.PHONY: screenshots
screenshots: build chromium $(SCALE)/N10k.yaml
	mkdir -p docs/img $(CACHE)/screenshots
	./bin/kubeharden scan -o html --fail-on none --output-file $(CACHE)/screenshots/example.html examples/insecure-app
	./bin/kubeharden scan -o html --fail-on none --output-file $(CACHE)/screenshots/corpus.html $(CORPUS)/real
	./bin/kubeharden scan -o html --fail-on none --output-file $(CACHE)/screenshots/100k.html $(SCALE)/N100k.yaml
	@for r in example corpus 100k; do \
		$(SCREENSHOT) --screenshot=$(CURDIR)/docs/img/report-$$r.png file://$(CACHE)/screenshots/$$r.html 2>/dev/null && echo "docs/img/report-$$r.png"; \
	done

# Audit time and peak RSS of `kubeharden cluster` against a real API server
# holding 10,000 Pods' worth of objects, next to a bare paginated list of
# the same objects (the floor). Populating the server takes a few minutes.
.PHONY: bench-cluster
bench-cluster: controlplane
	$(GO) test -run='^$$' -bench='^BenchmarkCluster$$' -benchtime=3x -timeout=30m ./internal/cluster

# The webhook under load: real AdmissionReviews of a mix of workloads over
# HTTPS on loopback at 1,000 a second for 60 s (KUBEHARDEN_LOAD_RATE,
# KUBEHARDEN_LOAD_SECONDS) to one in-process server; p50/p99 latency,
# errors and RSS. Then Pod creates through a real API server without and
# with the webhook (BenchmarkAPIServer), and the handler alone
# (BenchmarkReview).
.PHONY: bench-webhook
bench-webhook: controlplane
	$(GO) test -run='^$$' -bench='^BenchmarkLoad$$' -benchtime=1x -timeout=10m ./internal/webhook
	$(GO) test -run='^$$' -bench='^BenchmarkAPIServer$$' -benchtime=1x -timeout=10m ./internal/webhook
	$(GO) test -run='^$$' -bench='^BenchmarkReview$$' -benchtime=20000x ./internal/webhook

# kubeharden's own image, built without a Docker daemon (internal/imagebuild):
# static, FROM scratch, user 65532, written as an OCI layout to dist/image
# (and a docker-archive tarball, dist/kubeharden.tar). Prints the reference
# with its digest: the release copies it into deploy/ (deploy/README.md).
# Reproducible: the same Go sources, Go toolchain, IMAGE_* and
# SOURCE_DATE_EPOCH give the same digest (IMAGE_REVISION, the commit label,
# is left empty unless a release sets it, so that a commit touching only
# deploy/ or docs builds the same image).
IMAGE_ARCH ?= amd64
IMAGE_REVISION ?=
IMAGE_VERSION ?= dev
IMAGE_REPOSITORY ?= ghcr.io/kubeharden/kubeharden
.PHONY: image
image:
	rm -rf dist/image dist/kubeharden.tar
	$(GO) run ./tools/image -o dist/image -tar dist/kubeharden.tar -arch $(IMAGE_ARCH) \
		-version $(IMAGE_VERSION) -repository $(IMAGE_REPOSITORY) -revision "$(IMAGE_REVISION)"

# Rewrites deploy/manifests/kubeharden.yaml from the chart (default values),
# the chart's audit role from `kubeharden cluster --print-rbac
# --write-reports` and deploy/policies from `kubeharden generate
# admission-policy`; internal/deploy's tests fail when either drifts.
.PHONY: deploy-manifests
deploy-manifests:
	$(GO) test ./internal/deploy -run '^(TestManifestsUpToDate|TestAuditIsTheDocumented|TestPoliciesUpToDate)$$' -count=1 -args -update
