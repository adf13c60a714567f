# make test-reliability — the long end-to-end reliability tests (issue 8):
# receiver outage, full disk, slow and flooding targets, remote write to an
# upstream Prometheus, push ingestion, and (issue 14) acks across kill -9,
# writes on a full disk, paging through a sudden fill, damaged state files,
# bounded state. Included by the Makefile; uses its GO, BIN and TOOLS. About
# 7 minutes; the full-disk tests need root (they mount a tmpfs) and skip
# without it.

# The remote store of TestReliabilityRemoteWrite: Debian's prometheus package
# (it has --web.enable-remote-write-receiver). Point UPSTREAM_PROMETHEUS at
# another build to use that instead.
UPSTREAM_PROMETHEUS ?= /usr/bin/prometheus
APT_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: test-reliability

test-reliability: build tools $(UPSTREAM_PROMETHEUS)
	SMM_APPLIANCE_BIN=$(abspath $(BIN)/smm-appliance) SMM_SIMULATOR_BIN=$(abspath $(BIN)/smm-simulator) \
	PROMTOOL=$(abspath $(TOOLS)/promtool) AMTOOL=$(abspath $(TOOLS)/amtool) \
	PROMETHEUS_BIN=$(UPSTREAM_PROMETHEUS) \
	$(GO) test -count=1 -timeout 15m -run 'Reliability' -v ./e2e/

# Installing the package does not start it where systemd is absent (CI
# containers); where systemd runs, the packaged service is stopped again so
# nothing is left listening on :9090.
/usr/bin/prometheus:
	$(APT_SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq --no-install-recommends prometheus
	-@if [ -d /run/systemd/system ]; then $(APT_SUDO) systemctl disable --now prometheus; fi
