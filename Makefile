# pam_duo_go: build, install, test, package.
#
#   make build      the module, its Go core, login_duo_go and the mock server, into build/
#   make demo       a real PAM login through the built module against the mock Duo server
#   make test       lint + every test (run as root for the sshd, sudo and package tests)
#   make install    DESTDIR-aware install with the paths below
#   make deb rpm    packages under build/pkg/ (make deb ARCH=arm64, make rpm ARCH=arm64: cross builds)
#   make FIPS=1 build   the same, against Go's FIPS 140-3 validated module (FIPS_MODULE)
#   make test-fips  FIPS build, then the unit and libpam tests in FIPS 140-3 mode

# The version is written once, in the file VERSION; debian/changelog, the
# rpm spec and the man pages repeat it because their formats need it there
# (test/build checks that they all agree).
VERSION    ?= $(shell cat VERSION)
MULTIARCH  ?= $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PAMDIR     ?= /lib/$(MULTIARCH)/security
COREDIR    ?= /usr/lib/$(MULTIARCH)/pam_duo_go
SBINDIR    ?= /usr/sbin
MANDIR     ?= /usr/share/man
SYSCONFDIR ?= /etc
COREPATH   ?= $(COREDIR)/pam_duo_go_core.so
HELPERPATH ?= $(SBINDIR)/login_duo_go
BUILD      ?= build

# Go: the one on PATH, else the README's /usr/local/go (not on PATH on a
# fresh machine); recipes see /usr/local/go/bin on PATH as a last resort.
GO         ?= $(or $(shell command -v go 2>/dev/null),$(wildcard /usr/local/go/bin/go),go)
GOFMT      ?= $(or $(shell command -v gofmt 2>/dev/null),$(wildcard /usr/local/go/bin/gofmt),gofmt)
export PATH := $(PATH):/usr/local/go/bin
CC         ?= gcc
CFLAGS     ?= -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
MODULE_CFLAGS = -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
	-DPAM_DUO_GO_CORE_PATH='"$(COREPATH)"' -DPAM_DUO_GO_HELPER_PATH='"$(HELPERPATH)"'
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
GO_LDFLAGS  = -X github.com/pam-duo-go/pam_duo_go/duo.Version=$(VERSION) $(GO_EXTLDFLAGS)
# Packed relative relocations (DT_RELR: binutils >= 2.38, glibc >= 2.36)
# for the core and login_duo_go, which the C linker links: each has about
# 30,000 relative relocations, 0.7 MB of .rela.dyn that the dynamic loader
# reads at every load (in every login's process), against 11 kB of .relr.dyn
# (0.7 MB less peak RSS per login). Only when $(CC) links it without a
# warning; other toolchains get the usual table. RELR= turns it off. The
# probe runs once, when a Go build first needs it.
RELR_PROBE = $(shell t=$$(mktemp) && printf 'int x; int *p = &x;\n' | $(CC) -x c -shared -fPIC \
	-Wl,--fatal-warnings -Wl,-z,pack-relative-relocs -o $$t - >/dev/null 2>&1 && echo -Wl,-z,pack-relative-relocs; rm -f $$t)
RELR       ?= $(eval RELR := $(RELR_PROBE))$(RELR)
GO_EXTLDFLAGS = $(if $(RELR),-extldflags=$(RELR))

# FIPS=1 builds every Go artifact against a frozen, validated snapshot of
# the Go Cryptographic Module (GOROOT/lib/fips140; v1.0.0 is the one with
# a CMVP certificate), which also makes FIPS 140-3 mode the binaries'
# default (GODEBUG=fips140=on). The mode a build was made with is
# remembered in build/.gofips140-*: switching rebuilds.
FIPS        ?=
FIPS_MODULE ?= v1.0.0
GOFIPS140_SETTING = $(if $(filter 1 yes on true,$(FIPS)),$(FIPS_MODULE),off)
GOENV       = GOFIPS140=$(GOFIPS140_SETTING)
FIPS_STAMP  = $(BUILD)/.gofips140-$(GOFIPS140_SETTING)

TEST_TIMEOUT ?= 14m
# test/fresh builds a Debian root and runs the README's command in it:
# about 3 minutes with its cache warm, more than TEST_TIMEOUT cold.
FRESH_TIMEOUT ?= 40m

.PHONY: all build module core helper duotest install install-account clean lint test test-unit test-fips demo deb rpm lint-packages bench fuzz

all: build

build: module core helper duotest

module: $(BUILD)/pam_duo_go.so
core: $(BUILD)/pam_duo_go_core.so
helper: $(BUILD)/login_duo_go
duotest: $(BUILD)/duotest

# What the Go binaries are built from: tests are not (editing one must not
# rebuild the module's core); VERSION is (-ldflags).
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './build/*' -not -path './debian/*') go.mod go.sum VERSION

$(FIPS_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.gofips140-*
	@touch $@

$(BUILD)/pam_duo_go.so: pam_module/pam_duo_go.c $(wildcard pam_module/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(MODULE_CFLAGS) -shared -o $@ pam_module/pam_duo_go.c $(LDFLAGS) -ldl -lpam

# The core's cgo code includes pam_module/*.h from outside its package
# directory, which Go's build cache does not track: a digest of them in
# CGO_CFLAGS makes a changed header rebuild the core.
CORE_HEADERS_SUM = $(shell cat pam_module/*.h | sha256sum | cut -c1-16)

$(BUILD)/pam_duo_go_core.so: $(GO_SOURCES) $(wildcard pam_module/*.h) $(FIPS_STAMP)
	@mkdir -p $(BUILD)
	CGO_CFLAGS="$${CGO_CFLAGS:--O2 -g} -DPAM_DUO_GO_HEADERS_SUM=$(CORE_HEADERS_SUM)" \
		$(GOENV) $(GO) build -buildmode=c-shared -ldflags '$(GO_LDFLAGS)' -o $@ ./pam_module/core
	@rm -f $(BUILD)/pam_duo_go_core.h

# login_duo_go is setuid root when installed: build it as a PIE.
$(BUILD)/login_duo_go: $(GO_SOURCES) $(FIPS_STAMP)
	@mkdir -p $(BUILD)
	$(GOENV) $(GO) build -buildmode=pie -ldflags '$(GO_LDFLAGS) -X main.version=$(VERSION)' -o $@ ./helper

$(BUILD)/duotest: $(GO_SOURCES) $(FIPS_STAMP)
	@mkdir -p $(BUILD)
	$(GOENV) $(GO) build -o $@ ./duo/duotest/cmd/duotest

install: build
	install -D -m 0644 $(BUILD)/pam_duo_go.so $(DESTDIR)$(PAMDIR)/pam_duo_go.so
	install -D -m 0644 $(BUILD)/pam_duo_go_core.so $(DESTDIR)$(COREDIR)/pam_duo_go_core.so
	install -D -m 4755 $(BUILD)/login_duo_go $(DESTDIR)$(SBINDIR)/login_duo_go
	install -D -m 0644 pam_module/pam_duo_go.8 $(DESTDIR)$(MANDIR)/man8/pam_duo_go.8
	install -D -m 0644 helper/login_duo_go.8 $(DESTDIR)$(MANDIR)/man8/login_duo_go.8
	install -D -m 0644 conf/pam_duo_go.conf.5 $(DESTDIR)$(MANDIR)/man5/pam_duo_go.conf.5
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/duo
	@# Placeholder configs hold the secret key: root only, and never
	@# overwrite an existing file (it holds the administrator's keys).
	for f in pam_duo.conf login_duo.conf; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/duo/$$f ] || \
		install -m 0600 debian/$$f $(DESTDIR)$(SYSCONFDIR)/duo/$$f; \
	done
	@# Installing into the running system: the account login_duo_go's
	@# network child runs as. Packages create it in their own scripts.
	@if [ -z "$(DESTDIR)" ]; then $(MAKE) --no-print-directory install-account; fi

# The system account _pam_duo_go (own group, no home, no login shell),
# created only when missing: a second run changes nothing. Never removed.
DUO_ACCOUNT ?= _pam_duo_go
install-account:
	@if getent passwd $(DUO_ACCOUNT) >/dev/null; then \
		echo "install: system account $(DUO_ACCOUNT) exists"; \
	else \
		nologin=/bin/false; \
		for p in /usr/sbin/nologin /sbin/nologin; do [ -x $$p ] && { nologin=$$p; break; }; done; \
		getent group $(DUO_ACCOUNT) >/dev/null || groupadd --system $(DUO_ACCOUNT) || exit 1; \
		useradd --system --gid $(DUO_ACCOUNT) --no-create-home --home-dir /nonexistent \
			--shell $$nologin --comment "pam_duo_go Duo client" $(DUO_ACCOUNT) || exit 1; \
		echo "install: created system account $(DUO_ACCOUNT)"; \
	fi

clean:
	rm -rf $(BUILD)

# gofmt must run: a missing gofmt is an error, not an empty list.
lint:
	@command -v $(GOFMT) >/dev/null || { echo "lint: $(GOFMT) not found (it comes with Go)"; exit 1; }
	@out=$$($(GOFMT) -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')) || exit 1; \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v $(STATICCHECK) >/dev/null || { echo "lint: $(STATICCHECK) not found; bash .ci/deps installs it"; exit 1; }
	$(STATICCHECK) ./...

# Unit tests run with the race detector; the end-to-end suites (test/...)
# drive separate processes (sshd, sudo, libpam clients) where -race adds
# nothing but time.
test: lint build
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v '/test/')
	e2e=$$($(GO) list ./... | grep '/test/' | grep -v -e '/test/fresh$$' -e '/test/ansible$$' || true); \
		if [ -n "$$e2e" ]; then $(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) $$e2e; fi
	$(GO) test -count=1 -timeout $(FRESH_TIMEOUT) ./test/fresh/
	@# test/ansible uses the root test/fresh caches.
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./test/ansible/
	GO=$(GO) bash test/fuzz.sh
	$(MAKE) --no-print-directory test-fips

# The FIPS 140-3 run: a FIPS=1 build (test/pam's libpam tests run make
# build again, and inherit FIPS=1), then the unit tests of the packages
# that do the cryptography and the libpam tests, compiled against the
# same module and run with GODEBUG=fips140=on. No -race: the race run
# above covers the same code. It leaves a FIPS build in build/ (the next
# plain make build rebuilds).
FIPS_TEST_PKGS ?= ./duo/... ./conf/... ./login/... ./internal/... ./test/pam/
test-fips:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory FIPS=1 build && \
	FIPS=1 GOFIPS140=$(FIPS_MODULE) GODEBUG=fips140=on \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(FIPS_TEST_PKGS) && \
	echo "test-fips: passed in $$(( $$(date +%s) - start )) s"

# Each fuzzer for FUZZTIME of wall time (make fuzz FUZZTIME=10m for a long
# run); `make test` runs them for a fixed count of executions instead.
FUZZTIME ?= 1m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash test/fuzz.sh

demo: build
	bash test/demo.sh

# Benchmarks: builds, then prints one table of measured figures on stdout
# (bench/run.sh, which runs `make build` itself with its output on stderr;
# sizes via BENCH_N, BENCH_SSHD_N, BENCH_BURST, BENCH_SOAK, BENCH_WORKERS,
# BENCH_SIDE_N, BENCH_SIDE_BURST; BENCH_PARTS=side runs only the side by
# side with duo_unix 2.2.3).
bench:
	@GO=$(GO) bash bench/run.sh

# Packages are built from a copy of the tree so dpkg-buildpackage's clean
# step never wipes the developer's build/ directory.
PKGDIR      ?= $(BUILD)/pkg
PKGVERSION  ?= $(VERSION)
GO_ENV_GOCACHE = $$(PATH="$$PATH:/usr/local/go/bin" $(GO) env GOCACHE 2>/dev/null)
# rpmbuild on Debian: the rpm database is empty, so BuildRequires can never
# be satisfied from it (rpm/README.md).
RPMBUILD_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps)

deb:
	rm -rf $(PKGDIR)/deb && mkdir -p $(PKGDIR)/deb/src
	tar --exclude=./.git --exclude=./build -cf - . | tar -C $(PKGDIR)/deb/src -xf -
	cd $(PKGDIR)/deb/src && GOCACHE="$(GO_ENV_GOCACHE)" dpkg-buildpackage -us -uc -b $(if $(ARCH),--host-arch $(ARCH))
	rm -rf $(PKGDIR)/deb/src
	@ls -l $(PKGDIR)/deb/*.deb

# make rpm ARCH=arm64: rpmbuild --target aarch64, which the spec turns into
# GOARCH=arm64 and cgo through aarch64-linux-gnu-gcc (Debian's
# crossbuild-essential-arm64, with libpam0g-dev:arm64).
RPMARCH_amd64   := x86_64
RPMARCH_arm64   := aarch64
RPMARCH_ppc64el := ppc64le
RPMARCH_s390x   := s390x
RPMARCH_riscv64 := riscv64
RPMBUILD_TARGET  = $(if $(ARCH),--target $(or $(RPMARCH_$(ARCH)),$(error make rpm: no rpm architecture known for ARCH=$(ARCH))))

rpm:
	rm -rf $(PKGDIR)/rpm && mkdir -p $(PKGDIR)/rpm/SOURCES
	tar --exclude=./.git --exclude=./build \
		--transform 's,^\.,pam_duo_go-$(PKGVERSION),' \
		-czf $(PKGDIR)/rpm/SOURCES/pam_duo_go-$(PKGVERSION).tar.gz .
	GOCACHE="$(GO_ENV_GOCACHE)" rpmbuild -bb $(RPMBUILD_FLAGS) $(RPMBUILD_TARGET) \
		--define "_topdir $(abspath $(PKGDIR))/rpm" rpm/pam_duo_go.spec
	@ls -l $(PKGDIR)/rpm/RPMS/*/*.rpm

lint-packages:
	lintian --fail-on error --info $(PKGDIR)/deb/*.changes
	rpmlint -r rpm/pam_duo_go.rpmlintrc rpm/pam_duo_go.spec $(PKGDIR)/rpm/RPMS/*/*.rpm
