# Thin wrapper over CMake. make: build build/opendni. make run: the demo. make check: every test,
# normal build and ASan+UBSan build. make bench: the wrk benchmarks against an nginx baseline.
# make fuzz: libFuzzer on the network-facing parsers, a fixed number of executions each.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

# Executions per fuzz target: over 10 million in all, within 15 minutes on the 2-core machine
# (measured in fuzz/README.md). Every target needs one (scripts/fuzz-run checks).
FUZZ_RUNS ?= form=200000 telnyx=300000 provider=1000000 query=1000000 classify=1000000 \
	admin_json=2000000 phone=2000000 visit_json=2000000 settings=2000000 group_by=3000000 \
	cursor=3000000 time=4000000

.PHONY: all build deps run check check-normal check-asan bench fuzz clean

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
