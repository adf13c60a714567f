# smm-appliance — build, run and test. `make help` lists the targets.

GO        ?= go
BIN       := bin
TOOLS     := $(BIN)/tools
PKG       := github.com/smm-architect/smm-appliance
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
# Reproducible builds: the build date comes from SOURCE_DATE_EPOCH (or the
# last commit), never from the clock.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H:%M:%S)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=smm-appliance-build \
             -X $(VPKG).BuildDate=$(BUILD_DATE)
PROM_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/prometheus)
AM_VERSION   := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/alertmanager)

.PHONY: all build run test test-go fuzz-quick browser tools vet fmt clean help

all: build

help:
	@echo "make build   - bin/smm-appliance and bin/smm-simulator (static, version-stamped)"
	@echo "make run     - the demo: appliance on embedded defaults + simulated SMM workload"
	@echo "make test    - every test: unit, rule tests, end-to-end, browser, packages, reliability, fuzz, bench-quick"
	@echo "make test-go - the go test suites only (no packages, reliability or fuzzing)"
	@echo "make packages - dist/: .deb, .rpm, OCI image, offline bundle, SHA256SUMS"
	@echo "make tools   - promtool and amtool at the versions the appliance embeds"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smm-appliance ./cmd/smm-appliance
	@if [ -d cmd/smm-simulator ]; then CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smm-simulator ./cmd/smm-simulator; fi

# Upstream clients used by the tests, built from the same module versions the
# appliance embeds, so the comparison is same-library.
tools: $(TOOLS)/promtool $(TOOLS)/amtool

$(TOOLS)/promtool:
	GOBIN=$(abspath $(TOOLS)) CGO_ENABLED=0 $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROM_VERSION)

$(TOOLS)/amtool:
	GOBIN=$(abspath $(TOOLS)) CGO_ENABLED=0 $(GO) install github.com/prometheus/alertmanager/cmd/amtool@$(AM_VERSION)

run: build
	./scripts/demo.sh

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# make test is the one command for everything; CI runs it.
test: test-go test-packages test-reliability fuzz-quick bench-quick

# One build of the binary is shared by every end-to-end test. The long
# reliability tests run in test-reliability.
test-go: build tools browser fmt vet
	SMM_APPLIANCE_BIN=$(abspath $(BIN)/smm-appliance) SMM_SIMULATOR_BIN=$(abspath $(BIN)/smm-simulator) \
	PROMTOOL=$(abspath $(TOOLS)/promtool) AMTOOL=$(abspath $(TOOLS)/amtool) \
	$(GO) test -count=1 -timeout 30m -skip 'Reliability' ./...

.PHONY: ui
# The console's PromQL editor (CodeMirror + @prometheus-io/codemirror-promql)
# bundled from the pinned web/ui/editor/package-lock.json into
# web/ui/static/js/vendor/promql-editor.js. The bundle is committed: make
# build and air-gapped rebuilds need no npm. TestEditorBundleFresh (web/ui)
# checks the committed bundle against a fresh build where npm can install.
ui:
	cd web/ui/editor && npm ci --no-audit --no-fund && npm run build

# Headless Chromium for the console's browser tests (Debian's package).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# A short run of every fuzz target; longer runs: FUZZTIME=5m make fuzz-quick.
FUZZTIME ?= 30s
FUZZ_TARGETS := FuzzExpand:./appliance/envsubst FuzzExpandYAML:./appliance/envsubst \
	FuzzLoadAlertmanager:./appliance/configfiles FuzzAlertPostBody:./web FuzzAckRequest:./web \
	FuzzSilencePost:./web FuzzMatcherFilter:./web
# A target fails on a crasher ("Failing input written to …", kept in
# testdata/fuzz); a fuzzing-engine stall on a loaded machine ("context deadline
# exceeded" with no input) is reported but does not fail the run.
fuzz-quick:
	@for t in $(FUZZ_TARGETS); do name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name ($(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel 1 $$pkg 2>&1); rc=$$?; \
		echo "$$out" | tail -3; \
		if [ $$rc -ne 0 ]; then \
			if echo "$$out" | grep -q "Failing input written"; then echo "$$out"; exit 1; fi; \
			echo "warning: $$name: fuzzing engine stopped without a failing input (machine load); not a failure"; \
		fi; done

clean:
	rm -rf $(BIN) dist

include packaging/packaging.mk
include e2e/reliability.mk
include bench/bench.mk
