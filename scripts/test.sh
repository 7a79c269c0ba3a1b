#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotent), builds attnscope with every test, and runs them all.
# Usage: scripts/test.sh [build-dir]   (default build/ci)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
build=${1:-build/ci}
jobs=$(nproc)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"
export QT_QPA_PLATFORM=offscreen
ctest --test-dir "$build" --output-on-failure -j "$jobs"
