#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotent), builds attnscope and opens the explorer on the
# bundled demo context and model. Without a display it prints the CLI analysis instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)"
gui=$(find "$build" -type f -name attnscope -perm -u+x | head -n 1)
if [[ -n "$gui" && ( -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ) ]]; then
  exec "$gui" "$@"
fi
echo "demo: no display (or no GUI build); showing the CLI analysis of the demo context" >&2
exec "$build/app/attnscope-cli" analyze --model stories260K.gguf --context resources/demo_context.json --select 2 --out -
