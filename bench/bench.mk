# bench/bench.mk: the side-by-side benchmark of issue 9 (docs/benchmarks.md).
# Included by the Makefile, which defines GO, BIN, PROM_VERSION and AM_VERSION.
#
#   make bench        default profile (< 20 min on 2 cores): table on stdout,
#                     bench/results/<date>.json, docs/benchmarks.md regenerated
#   make bench-quick  small sizes (< 3 min), for CI: figures printed, not asserted
#   make bench-peer   Prometheus and Alertmanager from the module versions the
#                     appliance embeds, into bin/peer/ (heavy compile, done once)
#
# Peers: the same-library build in bin/peer/ and Debian's prometheus and
# prometheus-alertmanager packages (apt-get install prometheus prometheus-alertmanager),
# whichever are present; smm-bench lists what it found. BENCH_FLAGS adds smm-bench
# flags, e.g. BENCH_FLAGS='--only alerts --keep'.

BENCH_PEER  := $(BIN)/peer
BENCH_FLAGS ?=

.PHONY: bench bench-quick bench-peer bench-tool

bench-tool:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/smm-bench ./bench/cmd/smm-bench

bench: build bench-peer bench-tool
	SMM_BENCH_COMMAND='make bench' $(BIN)/smm-bench run --profile default --docs docs/benchmarks.md $(BENCH_FLAGS)

# In CI (make test) the peer is Debian's pair, installed here when missing; the
# same-library peer joins when bin/peer/ holds it (make bench-peer).
bench-quick: build bench-tool /usr/bin/prometheus /usr/bin/prometheus-alertmanager
	SMM_BENCH_COMMAND='make bench-quick' $(BIN)/smm-bench run --profile quick --results-dir $(BIN)/bench-quick $(BENCH_FLAGS)

/usr/bin/prometheus-alertmanager:
	$(APT_SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq --no-install-recommends prometheus-alertmanager
	-@if [ -d /run/systemd/system ]; then $(APT_SUDO) systemctl disable --now prometheus-alertmanager; fi

bench-peer: $(BENCH_PEER)/prometheus $(BENCH_PEER)/alertmanager

$(BENCH_PEER)/prometheus:
	GOBIN=$(abspath $(BENCH_PEER)) CGO_ENABLED=0 $(GO) install \
		-ldflags '-X github.com/prometheus/common/version.Version=$(PROM_VERSION)' \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROM_VERSION)

# go install of cmd/alertmanager fails (its UI assets are not in the module zip), so it is
# built from the module source with a placeholder UI; see bench/build-alertmanager.sh.
$(BENCH_PEER)/alertmanager:
	@mkdir -p $(BENCH_PEER)
	GO=$(GO) ./bench/build-alertmanager.sh $(AM_VERSION) $(abspath $@)
