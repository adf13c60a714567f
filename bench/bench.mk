# bench/bench.mk: the side-by-side benchmark of issue 9 (docs/benchmarks.md).
# Included by the Makefile, which defines GO, BIN, PROM_VERSION and AM_VERSION.
#
#   make bench        default profile (< 20 min on 2 cores): table on stdout,
#                     bench/results/<date>.json, docs/benchmarks.md regenerated
#   make bench-quick  small sizes (< 3 min), for CI: figures printed, not asserted
#   make bench-peer   Prometheus and Alertmanager from the module versions the
#                     appliance embeds, into bin/peer/ (heavy compile, done once)
#   make bench-vm     VictoriaMetrics single-node and vmalert $(VM_VERSION) into bin/peer/
#                     (go install, under a minute; Debian's 1.79 package if that fails)
#
# Peers: the same-library build in bin/peer/, Debian's prometheus and
# prometheus-alertmanager packages (apt-get install prometheus prometheus-alertmanager),
# and VictoriaMetrics + vmalert with the same Alertmanager, whichever are present;
# smm-bench lists what it found. BENCH_FLAGS adds smm-bench flags, e.g.
# BENCH_FLAGS='--only alerts --keep'.

BENCH_PEER  := $(BIN)/peer
BENCH_FLAGS ?=
VM_VERSION  := v1.151.0

.PHONY: bench bench-quick bench-peer bench-vm bench-tool

bench-tool:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/smm-bench ./bench/cmd/smm-bench

bench: build bench-peer bench-vm bench-tool
	SMM_BENCH_COMMAND='make bench' $(BIN)/smm-bench run --profile default --docs docs/benchmarks.md $(BENCH_FLAGS)

# In CI (make test) the peers are Debian's pair, installed here when missing, and
# VictoriaMetrics (make bench-vm); the same-library peer joins when bin/peer/ holds it
# (make bench-peer).
bench-quick: build bench-tool bench-vm /usr/bin/prometheus /usr/bin/prometheus-alertmanager
	SMM_BENCH_COMMAND='make bench-quick' $(BIN)/smm-bench run --profile quick --results-dir $(BIN)/bench-quick $(BENCH_FLAGS)

/usr/bin/prometheus-alertmanager:
	$(APT_SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq --no-install-recommends prometheus-alertmanager
	-@if [ -d /run/systemd/system ]; then $(APT_SUDO) systemctl disable --now prometheus-alertmanager; fi

bench-peer: $(BENCH_PEER)/prometheus $(BENCH_PEER)/alertmanager

bench-vm: $(BENCH_PEER)/victoria-metrics

# vmalert is built with it; the script falls back to Debian's package by itself.
$(BENCH_PEER)/victoria-metrics:
	GO=$(GO) APT_SUDO=$(APT_SUDO) ./bench/build-victoriametrics.sh $(VM_VERSION) $(abspath $(BENCH_PEER))

$(BENCH_PEER)/prometheus:
	GOBIN=$(abspath $(BENCH_PEER)) CGO_ENABLED=0 $(GO) install \
		-ldflags '-X github.com/prometheus/common/version.Version=$(PROM_VERSION)' \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROM_VERSION)

# go install of cmd/alertmanager fails (its UI assets are not in the module zip), so it is
# built from the module source with a placeholder UI; see bench/build-alertmanager.sh.
$(BENCH_PEER)/alertmanager:
	@mkdir -p $(BENCH_PEER)
	GO=$(GO) ./bench/build-alertmanager.sh $(AM_VERSION) $(abspath $@)
