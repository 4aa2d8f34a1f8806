# deconflict — the two set-up commands of the README, and helpers.
#   make        install dependencies (apt-get) and build everything into build/
#   make demo   ... then run the main job on the real recorded traffic
#   make test   ... then run every test, once normally and once under ASan + UBSan
# Recorded data is read from ../shared/data (override with DATA=...).

DATA    ?= $(abspath ../shared/data)
JOBS    ?= 2
CMAKE_FLAGS = -DDC_DATA_DIR=$(DATA)

.PHONY: all deps build demo test test-asan bench format clean

all: deps build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j$(JOBS)

# The main job: tactical detection over the afternoon peak of the real Swiss traffic day.
demo: build
	@echo "== deconflict replay: Swiss upper airspace, 2018-08-01 12:00-16:00 UTC, 5 NM / 1000 ft, 120 s look-ahead =="
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

format:
	./scripts/check-format.sh --fix

clean:
	rm -rf build build-asan
