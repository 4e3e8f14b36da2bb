# Thin wrapper over CMake. make: build build/opendni. make run: the demo. make check: every test,
# normal build and ASan+UBSan build. make bench: the wrk benchmarks against an nginx baseline.
# make fuzz: libFuzzer on the network-facing parsers, a fixed number of executions each.
# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the systemd unit and its sysusers.d
# user, an example /etc/opendni/opendni.conf (never over an existing one), the docs.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

# Executions per fuzz target: over 10 million in all, within 15 minutes on the 2-core machine
# (measured in fuzz/README.md). Every target needs one (scripts/fuzz-run checks).
FUZZ_RUNS ?= form=200000 telnyx=300000 provider=1000000 query=1000000 classify=1000000 \
	admin_json=2000000 phone=2000000 visit_json=2000000 settings=2000000 group_by=3000000 \
	cursor=3000000 time=4000000

# Where make install puts things. The configuration file is /etc/opendni/opendni.conf whatever
# the PREFIX (the binary reads it from there); SYSCONFDIR moves only where the example goes.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR      ?= $(PREFIX)/share/doc/opendni

.PHONY: all build deps run check check-normal check-asan bench fuzz clean install

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target opendni

deps:
	@scripts/install-deps

# The demo's build is quiet: one line, and the compiler's output only when the build fails.
run: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@echo "make run: building $(BUILD)/opendni (quietly; errors are shown)"
	@log=$$(mktemp) && if cmake --build $(BUILD) -j $(JOBS) --target opendni opendni-test >"$$log" 2>&1; \
	then rm -f "$$log"; else cat "$$log" >&2; rm -f "$$log"; exit 1; fi
	@scripts/demo

check: deps check-normal check-asan

check-normal:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEVELOPER=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The sanitizer build uses clang, so every check builds the tree with both compilers.
check-asan:
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDEVELOPER=ON -DENABLE_ASAN=ON -DENABLE_UBSAN=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -LE 'browser|e2e-pg'

bench: deps build
	@bench/run

# libFuzzer on every target for its FUZZ_RUNS executions; new inputs go to build-fuzz/new/<target>.
# Fails on a crash, a broken invariant, a sanitizer report (ASan, UBSan) or a leak.
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DBUILD_FUZZERS=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	scripts/fuzz-run $(FUZZ_RUNS)

# Installs what `make` built ($(BUILD)/opendni; built first when missing). Without DESTDIR, as
# root on a systemd machine, it also creates the opendni user (systemd-sysusers) and gives the
# configuration file to its group; `systemctl enable --now opendni` is left to you.
install:
	@[ -x $(BUILD)/opendni ] || $(MAKE) build
	install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(BUILD)/opendni $(DESTDIR)$(BINDIR)/opendni
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' dist/opendni.service \
		> $(DESTDIR)$(UNITDIR)/opendni.service
	chmod 644 $(DESTDIR)$(UNITDIR)/opendni.service
	install -m 644 dist/opendni.sysusers $(DESTDIR)$(SYSUSERSDIR)/opendni.conf
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 dist/opendni.conf $(DESTDIR)$(DOCDIR)/examples/opendni.conf.example
	install -m 644 dist/nginx/opendni.conf $(DESTDIR)$(DOCDIR)/examples/nginx-opendni.conf
	install -m 644 dist/caddy/Caddyfile $(DESTDIR)$(DOCDIR)/examples/Caddyfile
	install -d -m 755 $(DESTDIR)$(SYSCONFDIR)/opendni
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/opendni/opendni.conf ]; then \
		echo "install: kept $(DESTDIR)$(SYSCONFDIR)/opendni/opendni.conf (the new example: $(DOCDIR)/examples/opendni.conf.example)"; \
	else \
		install -m 640 dist/opendni.conf $(DESTDIR)$(SYSCONFDIR)/opendni/opendni.conf && \
		echo "install: wrote $(DESTDIR)$(SYSCONFDIR)/opendni/opendni.conf: set public-url, then see docs/operations.md \"Installing\""; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/opendni.conf && \
		chgrp opendni $(SYSCONFDIR)/opendni/opendni.conf; \
	fi

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
