# deconflict — the two set-up commands of the README, and helpers.
#   make        install dependencies (apt-get) and build everything into build/
#   make demo   ... then run the main job on the real recorded traffic
#   make test   ... then run every test, once normally and once under ASan + UBSan
#   make bench  benchmark figures (make bench-postgis: strategic side by side with PostGIS;
#               make bench-backends: the service on SQLite, PostgreSQL and 3 nodes side by side)
# Recorded data is read from ../shared/data (override with DATA=...).

DATA    ?= $(abspath ../shared/data)
JOBS    ?= 2
CMAKE_FLAGS = -DDC_DATA_DIR=$(DATA)

.PHONY: all deps build install deb demo demo-replay test test-asan bench bench-postgis bench-backends bench-bluesky fuzz format clean
PREFIX  ?= /usr/local

all: deps build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j$(JOBS)

# The binaries, the web console, an example configuration, the man pages, bash completion and
# the systemd unit under PREFIX (bin/, share/, lib/systemd/system/); deconflictd finds the
# console at ../share/deconflict/console beside itself.
install: build
	cmake --install build --prefix $(PREFIX)

# The Debian package deconflict (debian/): dpkg-buildpackage in a copy of the tree, the .deb in
# build/deb/ (scripts/build-deb.sh; docs/deployment.md, "Debian package and systemd").
deb: build
	JOBS=$(JOBS) ./scripts/build-deb.sh build/deb

# The main job: deconflictd on its embedded store over HTTPS (a certificate made for the demo),
# two demo parties, the real Swiss traffic fed as live positions at SPEED x real time
# (scripts/demo.sh; SPEED, PORT, FROM, TO, KEEP=1 keeps the service up, TLS=0; Ctrl-C ends it
# cleanly).
demo: build
	DATA=$(DATA) ./scripts/demo.sh

# The tactical engine alone over the afternoon peak of the same day (the first demo).
demo-replay: build
	build/bin/deconflict replay $(DATA)/traffic/switzerland_2018-08-01.csv \
	    --from 2018-08-01T12:00:00Z --to 2018-08-01T16:00:00Z

test: build
	cd build && ctest --output-on-failure -j$(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDC_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)

bench: build
	build/bin/deconflict-bench tactical
	build/bin/deconflict-bench strategic

# The strategic bench side by side with PostGIS (installs it, runs a throw-away server).
bench-postgis: build
	DATA=$(DATA) JOBS=$(JOBS) ./scripts/bench-postgis.sh

# The service benchmark on each store side by side (a throw-away PostgreSQL server; ROUNDS=3).
bench-backends: build
	./scripts/bench-backends.sh

# Our tactical pass and BlueSky's own StateBased detection side by side on BlueSky-style dense
# scenarios (installs python3-numpy; BlueSky's code is run from ../shared/data/tools).
bench-bluesky: build
	DATA=$(DATA) ./scripts/bench-bluesky.sh

# libFuzzer on every driver in fuzz/ (clang, installed on demand), FUZZ_SECONDS each, starting
# from the committed corpus; new inputs go to build-fuzz/corpus/, not into the repository.
FUZZ_SECONDS ?= 120
FUZZ_TARGETS = operations trackcsv sbs beast audit_page positions messages agreements \
               operation_body history_query config replay_clock
fuzz:
	./scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDC_FUZZ=ON -DDC_CONSOLE=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
	    seed=fuzz/corpus/$$t; [ $$t = operations ] && seed=fuzz/corpus/volume4d; \
	    mkdir -p build-fuzz/corpus/$$t && \
	    build-fuzz/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	        build-fuzz/corpus/$$t $$seed || exit 1; \
	done

format:
	./scripts/check-format.sh --fix

clean:
	rm -rf build build-asan build-fuzz
