# sriovctl: build, test, install.
#
#   make list      install what is missing, build, and list this host's SR-IOV NICs
#   make test      install what is missing, then run every test (unit, CLI, generated files, VM)
#   make bench     the benchmarks (results in BENCHMARKS.md)
#   make fuzz      run every libFuzzer target a minute (FUZZ_SECONDS); make fuzz-ci: a few seconds each
#   make install PREFIX=/usr/local DESTDIR=
#   make deb       the Debian package, .build/deb/sriovctl_VERSION_amd64.deb (checked by lintian)
#   make dist      the release tarball, .build/dist/sriovctl-VERSION-linux-x86_64.tar.gz and .sha256
#   make collection  the Ansible collection, .build/collection/sriovctl-sriov-VERSION.tar.gz
#   make set-version VERSION=x.y.z   one commit that changes the version everywhere

PREFIX   ?= /usr/local
DESTDIR  ?=
SWIFT    ?= swift
# The one version: Sources/SRIOVKit/Version.swift (--version), which debian/changelog, the
# collection's galaxy.yml and the man page's footer must repeat (`make set-version` changes all).
VERSION := $(shell sed -n 's/^public let version = "\(.*\)"$$/\1/p' Sources/SRIOVKit/Version.swift)
# The date in the man page's header; set-version moves it, so that regenerating is reproducible.
MAN_DATE := 2026-11-25

DEBUG_BIN   = .build/debug/sriovctl
RELEASE_BIN = .build/release/sriovctl

# Debian packages: the C libraries (headers and pkg-config files) and pci.ids (pciutils).
BUILD_DEPS = libpci-dev libsystemd-dev libkmod-dev libnl-route-3-dev pkg-config pciutils
# And for the tests: lspci reads fixture hosts, cc and depmod build their module trees,
# systemd-journal-remote writes journals, systemd-analyze verifies units, mandoc lints the man
# page, iproute2's ip is copied into the VM guest, python3 runs the stand-in API server and parses
# YAML, and cloud-init's schema check needs its Python libraries. Debian's
# kubectl and cloud-init are unpacked privately (Tests/kubernetes/kubectl.sh,
# Tests/ansible/cloud-init-schema.sh); ansible-core goes into a venv (Tests/ansible/run.sh).
TEST_DEPS = gcc kmod systemd systemd-journal-remote python3 python3-yaml python3-venv \
  python3-configobj python3-jinja2 python3-jsonpatch python3-jsonschema python3-netifaces \
  python3-requests python3-serial dpkg-dev lintian mandoc iproute2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: packaging-deps collection deb dist set-version check-version all build release deps test-deps install-packages list test check-release check-generated generate install uninstall bench clean fuzz fuzz-ci fuzz-build

all: build

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BUILD_DEPS)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BUILD_DEPS) $(TEST_DEPS)"

# Installs the Debian packages of PACKAGES that are missing.
install-packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

list: build
	$(DEBUG_BIN) list

# The tests are XCTest; without Swift Testing's empty run the last summary line is XCTest's count.
# The VM tests (Tests/sriovctlTests/VMTests.swift) boot a real kernel under QEMU; the test bed's
# prepare step installs QEMU and fetches the kernel. SRIOVCTL_SKIP_VM_TESTS=1 skips both.
# The persist reboot tests boot the release binary in a Debian guest (Tests/vm/debian-image.sh).
test: test-deps release deb
	@if [ "$${SRIOVCTL_SKIP_VM_TESTS:-0}" != 1 ]; then \
	  $(SUDO) Tests/vm/testbed.sh prepare && $(SUDO) Tests/vm/debian-image.sh >/dev/null; fi
	@$(SUDO) Tests/kubernetes/kubectl.sh >/dev/null
	@$(SUDO) Tests/ansible/run.sh prepare >/dev/null
	@$(SUDO) Tests/ansible/cloud-init-schema.sh >/dev/null
	$(SWIFT) test --disable-swift-testing
	$(MAKE) fuzz-ci
	$(MAKE) check-generated
	$(MAKE) check-release

# The release binary may need only glibc (with libstdc++/libgcc_s for the Swift runtime) and the
# three C libraries: no Swift runtime, no Foundation, no ICU on the target machine.
ALLOWED_NEEDED = libpci.so.3 libsystemd.so.0 libkmod.so.2 libnl-route-3.so.200 libnl-3.so.200 libc.so.6 libm.so.6 libstdc++.so.6 \
  libgcc_s.so.1 ld-linux-x86-64.so.2
check-release: release
	@needed=$$(readelf -d $(RELEASE_BIN) | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); \
	extra=""; for lib in $$needed; do \
	  case " $(ALLOWED_NEEDED) " in *" $$lib "*) ;; *) extra="$$extra $$lib" ;; esac; \
	done; \
	if [ -n "$$extra" ]; then echo "release binary needs more than glibc and the C libraries:$$extra"; exit 1; fi; \
	echo "release binary needs:" $$needed

# The man page and the completion scripts are committed (the man page with its version in the
# footer, tidied by man/tidy.awk so that mandoc -T lint finds nothing); fail when the CLI has moved on.
check-generated: build
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory generate GENERATED_DIR="$$tmp" >/dev/null && \
	stale=""; for f in man/sriovctl.8 completions/sriovctl.bash completions/sriovctl.zsh completions/sriovctl.fish; do \
	  cmp -s "$$tmp/$$f" "$$f" || stale="$$stale $$f"; \
	done; \
	if [ -n "$$stale" ]; then echo "stale generated files:$$stale (run 'make generate')"; exit 1; fi; \
	echo "generated files: up to date"

GENERATED_DIR ?= .
generate: build
	mkdir -p $(GENERATED_DIR)/man $(GENERATED_DIR)/completions
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration debug \
	  --date $(MAN_DATE) --section 8 --authors "The sriovctl authors"
	awk -v version=$(VERSION) -f man/tidy.awk .build/plugins/GenerateManual/outputs/sriovctl/sriovctl.8 \
	  >$(GENERATED_DIR)/man/sriovctl.8
	$(DEBUG_BIN) --generate-completion-script bash > $(GENERATED_DIR)/completions/sriovctl.bash
	$(DEBUG_BIN) --generate-completion-script zsh > $(GENERATED_DIR)/completions/sriovctl.zsh
	$(DEBUG_BIN) --generate-completion-script fish > $(GENERATED_DIR)/completions/sriovctl.fish

# An administration tool: the binary in sbin, the manual in section 8.
install: release
	install -D -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/sbin/sriovctl
	install -D -m 0644 man/sriovctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/sriovctl.8
	install -D -m 0644 completions/sriovctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sriovctl
	install -D -m 0644 completions/sriovctl.zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sriovctl
	install -D -m 0644 completions/sriovctl.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sriovctl.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/sriovctl $(DESTDIR)$(PREFIX)/share/man/man8/sriovctl.8 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sriovctl \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sriovctl \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sriovctl.fish

# The Debian package (packaging/make-deb.sh), then lintian on it: an error or a warning fails the
# build (the one overridden error is explained in debian/sriovctl.lintian-overrides and the README).
DEB = .build/deb/sriovctl_$(VERSION)_amd64.deb
deb: release check-version
	packaging/make-deb.sh $(RELEASE_BIN) .build/deb
	lintian --fail-on error,warning $(DEB)

# The release tarball for other distributions (packaging/make-dist.sh): binary, manual,
# completions, example, README and LICENSE, with its .sha256.
dist: release check-version
	packaging/make-dist.sh $(RELEASE_BIN) .build/dist

# The Ansible collection sriovctl.sriov: ansible-galaxy collection build (ansible-core from the
# test venv, Tests/ansible/run.sh), which also installs it where the Ansible tests run it from.
collection: check-version
	@$(MAKE) --no-print-directory install-packages PACKAGES="python3-venv"
	Tests/ansible/run.sh collection $(CURDIR)/.build/collection

# Every place that repeats the version agrees with Sources/SRIOVKit/Version.swift.
COLLECTION_GALAXY = contrib/ansible/ansible_collections/sriovctl/sriov/galaxy.yml
# dpkg-dev (dpkg-parsechangelog, dpkg-shlibdeps, dpkg-gencontrol, dpkg-deb) and lintian.
packaging-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="dpkg-dev lintian"

check-version: packaging-deps
	@bad=""; \
	[ "$$(dpkg-parsechangelog -S Version)" = "$(VERSION)" ] || bad="$$bad debian/changelog"; \
	grep -q '^\.Os sriovctl $(VERSION)$$' man/sriovctl.8 || bad="$$bad man/sriovctl.8"; \
	if [ -f $(COLLECTION_GALAXY) ]; then grep -q '^version: $(VERSION)$$' $(COLLECTION_GALAXY) || bad="$$bad $(COLLECTION_GALAXY)"; fi; \
	if [ -n "$$bad" ]; then echo "not version $(VERSION):$$bad (run 'make set-version VERSION=$(VERSION)')"; exit 1; fi; \
	echo "version $(VERSION) everywhere"

# make set-version VERSION=x.y.z: Version.swift, a new debian/changelog entry, galaxy.yml, the
# man page (regenerated, dated today), in one commit.
set-version:
	@[ "$(origin VERSION)" = "command line" ] || { echo "usage: make set-version VERSION=x.y.z"; exit 2; }
	@echo "$(VERSION)" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' || { echo "set-version: '$(VERSION)' is not x.y.z"; exit 2; }
	@git diff --quiet HEAD || { echo "set-version: commit or stash your changes first"; exit 1; }
	sed -i 's/^public let version = ".*"$$/public let version = "$(VERSION)"/' Sources/SRIOVKit/Version.swift
	sed -i 's/^MAN_DATE := .*/MAN_DATE := $(shell date -u +%F)/' Makefile
	if [ -f $(COLLECTION_GALAXY) ]; then sed -i 's/^version: .*/version: $(VERSION)/' $(COLLECTION_GALAXY); fi
	{ printf 'sriovctl (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n\n' "$(VERSION)" "$(VERSION)" \
	    "$$(dpkg-parsechangelog -S Maintainer)" "$$(date -uR)"; cat debian/changelog; } >debian/changelog.new
	mv debian/changelog.new debian/changelog
	$(MAKE) --no-print-directory generate
	$(MAKE) --no-print-directory check-version
	git commit -q -m "sriovctl $(VERSION)" -- Sources/SRIOVKit/Version.swift Makefile debian/changelog man completions \
	  $$( [ -f $(COLLECTION_GALAXY) ] && echo $(COLLECTION_GALAXY) )
	@echo "committed sriovctl $(VERSION)"

# libFuzzer targets for every parser of outside text and the renderers (Fuzz/, its own package so
# the main build needs neither the sanitizers nor Yams). SwiftPM's --sanitize fuzzer links
# libFuzzer's main; -Xswiftc -sanitize=fuzzer,address instruments the code for coverage;
# -enable-testing lets targets reach internal parsers. A crash exits non-zero and names the
# reproducer (Fuzz/run.sh).
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 12
FUZZ_FLAGS = --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing

fuzz-build: build
	@mkdir -p Fuzz/.build; cd Fuzz && $(SWIFT) build $(FUZZ_FLAGS) >.build/build.log 2>&1 \
	  || { grep -v 'Cannot export local symbol' .build/build.log; exit 1; }

fuzz: fuzz-build
	Fuzz/run.sh $(FUZZ_SECONDS)

fuzz-ci: fuzz-build
	Fuzz/run.sh $(FUZZ_CI_SECONDS)

bench: release
	Benchmarks/list.sh $(RELEASE_BIN)
	Benchmarks/check.sh $(RELEASE_BIN)
	Benchmarks/apply.sh $(RELEASE_BIN)

clean:
	rm -rf .build Fuzz/.build
