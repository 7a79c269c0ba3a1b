#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotent), builds attnscope with every test, and runs them all,
# in three labelled stages:
#   1. tests:      Release build, every CTest test (with the .deb: lintian, AppStream, desktop
#                  file, the installed programs; tests/packaging);
#   2. sanitizers: the engine, the CLI and the emulated CUDA tests built with ASan + UBSan (the
#                  `sanitize` preset, GUI off) and run under them, stopping at the first report;
#   3. fuzzing:    every libFuzzer target (tests/fuzz) for 25 s, replaying its corpus first.
# Usage: scripts/test.sh [build-dir]   (default build/ci; stages 2 and 3 use build-dir-sanitize
# and build-dir-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
build=${1:-build/ci}
jobs=$(nproc)
export QT_QPA_PLATFORM=offscreen

# stage "NAME: what it does" starts a stage; stage_done reports its NAME and time.
stage() {
  printf '\n==== attnscope %s ====\n' "$1"
  stage_name=${1%%:*} stage_start=$SECONDS
}
stage_done() { printf '==== %s done in %d s ====\n' "$stage_name" $((SECONDS - stage_start)); }

stage "stage 1/3 tests: Release build, every test"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
stage_done

stage "stage 2/3 sanitizers: ASan + UBSan build, engine, CLI and emulated CUDA tests"
cmake --preset sanitize -B "$build-sanitize" -G Ninja -DATTNSCOPE_BUILD_TESTS=ON -DATTNSCOPE_BUILD_GUI=OFF
cmake --build "$build-sanitize" -j "$jobs"
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$build-sanitize" --output-on-failure -j "$jobs" -R '^(engine|cli|cuda)\.'
stage_done

stage "stage 3/3 fuzzing: every libFuzzer target for 25 s"
FUZZ_BUILD_DIR="$build-fuzz" FUZZ_JOBS="$jobs" bash tests/fuzz/run.sh 25
stage_done
