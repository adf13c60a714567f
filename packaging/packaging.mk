# packaging/packaging.mk: make packages and make test-packages.
#
# Included from the top-level Makefile (include packaging/packaging.mk), which
# defines GO, BIN, VERSION, REVISION, SOURCE_DATE_EPOCH and the build target.
# Needs no container daemon; run as root on Debian/Ubuntu for test-packages
# (dpkg --root, rpm --root, chroot), which apt-installs the tools it lacks.

DIST           ?= dist
PKG_TOOL       := $(BIN)/smm-package
# Shipped in /usr/share/doc/smm-appliance and the bundle's docs/: SRC=NAME.
PKG_DOCS       ?= README.md=README.md docs/install.md=install.md docs/security.md=security.md configs/README.md=configs.md docs/dashboards.md=dashboards.md \
                  $(if $(wildcard docs/alerts.md),docs/alerts.md=alerts.md)
PKG_MAINTAINER ?= SMM Architect <platform@smm-architect.com>
PKG_LICENSE    ?= Proprietary
# Debian packages: the image copies CA certificates and zoneinfo from the build
# machine; the tests run these tools.
PKG_BUILD_DEBS := ca-certificates tzdata
PKG_TEST_DEBS  := dpkg rpm skopeo umoci podman systemd util-linux passwd tar

.PHONY: packages test-packages package-tool package-build-deps package-test-deps

# apt-get install the Debian packages in $(1) that are not installed yet. Not
# on Debian (no dpkg-query): nothing; the build and the tests say what lacks.
define pkg_apt_install
	@command -v dpkg-query >/dev/null || exit 0; \
	missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "packaging: need$$missing (apt-get install as root)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

package-tool:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(PKG_TOOL) ./packaging/cmd/smm-package

package-build-deps:
	$(call pkg_apt_install,$(PKG_BUILD_DEBS))

package-test-deps:
	$(call pkg_apt_install,$(PKG_BUILD_DEBS) $(PKG_TEST_DEBS))

# The .deb, .rpm, OCI image (layout tarball and docker-archive), offline bundle
# and SHA256SUMS, byte-identical for the same commit and SOURCE_DATE_EPOCH.
packages: build package-tool package-build-deps
	@mkdir -p $(DIST) && rm -f $(DIST)/smm-appliance[-_]* $(DIST)/SHA256SUMS
	$(PKG_TOOL) --binary=$(BIN)/smm-appliance --version='$(VERSION)' --revision='$(REVISION)' \
	  --source-date-epoch=$(SOURCE_DATE_EPOCH) --dist=$(DIST) \
	  --maintainer='$(PKG_MAINTAINER)' --license='$(PKG_LICENSE)' \
	  $(addprefix --doc=$(CURDIR)/,$(PKG_DOCS))
	@ls -l $(DIST)

# Install, start, upgrade and remove every artefact with the real tools
# (packaging/pkgtest), and check that a second build is byte-identical.
test-packages: packages package-test-deps
	SMM_PACKAGES_DIST=$(abspath $(DIST)) SMM_APPLIANCE_BIN=$(abspath $(BIN)/smm-appliance) \
	SMM_PACKAGE_VERSION='$(VERSION)' SMM_PACKAGE_REVISION='$(REVISION)' SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	SMM_PACKAGE_DOCS='$(addprefix $(CURDIR)/,$(PKG_DOCS))' \
	SMM_PACKAGE_MAINTAINER='$(PKG_MAINTAINER)' SMM_PACKAGE_LICENSE='$(PKG_LICENSE)' \
	$(GO) test -count=1 -timeout 15m -v ./packaging/...
