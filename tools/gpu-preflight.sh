#!/usr/bin/env bash
# gpu-preflight.sh [BUILD_DIR] - what tools/gpu-check.sh will meet on this machine, in well under
# 20 s, without building anything (run it as `tools/gpu-check.sh --preflight`):
#   the GPU and driver (nvidia-smi), cmake, nvcc and the host C++ compiler (versions, and a
#   C++20 and a CUDA C++20 compile of a few lines), Python with torch and transformers,
#   compute-sanitizer, the free disk where the build and the 16 GB model go, and the bundle of
#   models and golden cases (tools/gpu-bundle.sh).
# Each line is "ok", "note" or "BLOCKER" (the full run would fail). The last line counts the
# blockers; "fatal:" among them means the full run cannot even start (no GPU, no compiler...).
# Exit status: 0 when nothing blocks, 1 otherwise.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-${GPU_CHECK_BUILD:-$ROOT/build/gpu-check}}
if [ -d /usr/local/cuda/bin ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
PY=${PYTHON:-python3}
CXX_BIN=${CXX:-c++}
NEED_DISK_GIB=${GPU_CHECK_DISK_GIB:-24}  # the 16 GB model, the build and the logs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
blockers=()
fatal=0

ok() { printf '  ok       %s\n' "$*"; }
note() { printf '  note     %s\n' "$*"; }
blocker() {
  printf '  BLOCKER  %s\n' "$*"
  blockers+=("$*")
}
fatal() {
  blocker "fatal: $*"
  fatal=1
}
# version_ge A B: A >= B for dotted versions.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# Python imports take seconds: start them first, read them last.
("$PY" - > "$TMP/python" 2>&1 <<'PYEOF'
import importlib
for name in ("torch", "transformers"):
    try:
        m = importlib.import_module(name)
        extra = ""
        if name == "torch":
            extra = " (CUDA %s, GPU visible to torch: %s)" % (m.version.cuda, m.cuda.is_available())
        print("ok %s %s%s" % (name, m.__version__, extra))
        if name == "torch" and not m.cuda.is_available():
            print("missing torch on the GPU: torch %s sees no GPU (a CPU-only build, or the driver)" % m.__version__)
    except Exception as e:  # noqa: BLE001 - any import failure is the answer
        print("missing %s: %s" % (name, str(e).splitlines()[0] if str(e) else type(e).__name__))
PYEOF
) &
PY_PID=$!

echo "preflight of $(hostname 2>/dev/null || echo this machine), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc 2>/dev/null || echo '?') cores"

# ---- the GPU and its driver
driver=""
if ! command -v nvidia-smi > /dev/null; then
  fatal "no nvidia-smi: no NVIDIA driver on this machine"
elif ! timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,compute_cap \
  --format=csv,noheader > "$TMP/smi" 2>&1 || ! grep -q , "$TMP/smi"; then
  fatal "nvidia-smi finds no usable GPU: $(head -n 1 "$TMP/smi")"
else
  while IFS= read -r line; do ok "gpu: $line (name, driver, memory, used, compute capability)"; done < "$TMP/smi"
  driver=$(head -n 1 "$TMP/smi" | cut -d, -f2 | tr -d ' ')
  mem_mib=$(head -n 1 "$TMP/smi" | cut -d, -f3 | tr -dc '0-9')
  if [ -n "$mem_mib" ] && [ "$mem_mib" -lt 40000 ]; then
    note "gpu memory ${mem_mib} MiB: the 8B-shaped model (16 GB) and a 128K context may not fit"
  fi
fi

# ---- the CUDA toolkit
nvcc_version=""
if ! command -v nvcc > /dev/null; then
  fatal "no nvcc (CUDA toolkit) on PATH or in /usr/local/cuda/bin"
else
  nvcc_version=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n 1)
  ok "nvcc: $(nvcc --version | tail -n 1)"
  nvcc_major=${nvcc_version%%.*}
  need_driver=""
  if [ "${nvcc_major:-0}" -ge 13 ]; then need_driver=580; elif [ "${nvcc_major:-0}" -ge 12 ]; then need_driver=525; fi
  if [ -n "$driver" ] && [ -n "$need_driver" ]; then
    if [ "${driver%%.*}" -lt "$need_driver" ]; then
      fatal "driver $driver is too old for CUDA $nvcc_version (needs $need_driver or newer): every CUDA call fails"
    else
      ok "driver $driver runs CUDA $nvcc_version (needs $need_driver+)"
    fi
  fi
  cap=$(head -n 1 "$TMP/smi" 2> /dev/null | cut -d, -f5 | tr -d ' .')
  if [ -n "$cap" ] && ! nvcc --list-gpu-arch 2> /dev/null | grep -q "compute_$cap\$"; then
    fatal "nvcc $nvcc_version cannot build for this GPU (compute capability $cap)"
  fi
fi
if command -v compute-sanitizer > /dev/null; then
  ok "compute-sanitizer: $(compute-sanitizer --version 2> /dev/null | grep -i version | head -n 1)"
else
  note "no compute-sanitizer (optional: memcheck of the kernels)"
fi

# ---- CMake and the build tool
need_cmake=$(sed -n 's/^cmake_minimum_required(VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
if ! command -v cmake > /dev/null; then
  fatal "no cmake"
else
  have_cmake=$(cmake --version | head -n 1 | awk '{print $3}')
  if version_ge "$have_cmake" "$need_cmake"; then
    ok "cmake $have_cmake (the project needs $need_cmake+)"
  else
    fatal "cmake $have_cmake is older than the $need_cmake the project needs"
  fi
fi
if command -v ninja > /dev/null || command -v make > /dev/null; then
  ok "build tool: $(command -v ninja || command -v make)"
else
  fatal "neither make nor ninja for CMake's generator"
fi

# ---- the host compiler: C++20 as the engine uses it, and as nvcc's host compiler
printf '#include <concepts>\n#include <span>\n#include <stop_token>\nint main() { std::stop_source s; return s.stop_requested(); }\n' > "$TMP/t.cpp"
if ! command -v "$CXX_BIN" > /dev/null; then
  fatal "no C++ compiler ($CXX_BIN; set CXX)"
elif ! timeout 20 "$CXX_BIN" -std=c++20 -o "$TMP/t" "$TMP/t.cpp" > "$TMP/cxx" 2>&1; then
  fatal "$CXX_BIN cannot compile C++20 (<stop_token>, <span>): $(head -n 1 "$TMP/cxx")"
else
  ok "host compiler: $("$CXX_BIN" --version | head -n 1) (C++20 compiles)"
  if command -v nvcc > /dev/null; then
    printf '__global__ void k(int* p) { p[threadIdx.x] = 1; }\nint main() { return 0; }\n' > "$TMP/t.cu"
    if timeout 20 nvcc -std=c++20 -ccbin "$(command -v "$CXX_BIN")" -c -o "$TMP/t.o" "$TMP/t.cu" > "$TMP/nvcc" 2>&1; then
      ok "nvcc compiles CUDA C++20 with $CXX_BIN as host compiler"
    else
      fatal "nvcc -std=c++20 with host compiler $CXX_BIN fails: $(grep -m 1 -i error "$TMP/nvcc" || head -n 1 "$TMP/nvcc")"
    fi
  fi
fi
if [ -f /usr/include/gtest/gtest.h ] || [ -f /usr/local/include/gtest/gtest.h ]; then
  ok "GoogleTest installed"
else
  note "no GoogleTest: the tests build against tests/cuda/minitest"
fi

# ---- disk
mkdir -p "$BUILD" 2> /dev/null
disk_dir=$BUILD
[ -d "$disk_dir" ] || disk_dir=$ROOT
free_gib=$(df -Pk "$disk_dir" | awk 'NR == 2 {print int($4 / 1048576)}')
if [ "${free_gib:-0}" -ge "$NEED_DISK_GIB" ]; then
  ok "free disk at $disk_dir: $free_gib GiB"
else
  blocker "free disk at $disk_dir: ${free_gib:-?} GiB, the 16 GB model and the build need $NEED_DISK_GIB GiB"
fi

# ---- models and golden cases
BUNDLE=${GPU_CHECK_BUNDLE:-$ROOT/gpu-bundle}
# bundle_verified: the verdict gpu-check.sh already reached on this bundle, else a fresh hash.
bundle_verified() {
  if [ -n "${GPU_CHECK_BUNDLE_RC:-}" ] && [ -f "${GPU_CHECK_BUNDLE_SUM:-}" ]; then
    cp "$GPU_CHECK_BUNDLE_SUM" "$TMP/sum"
    return "$GPU_CHECK_BUNDLE_RC"
  fi
  (cd "$BUNDLE" && sha256sum --quiet -c MANIFEST.sha256 > "$TMP/sum" 2>&1)
}
if [ -f "$BUNDLE/MANIFEST.sha256" ]; then
  if bundle_verified; then
    ok "bundle $BUNDLE: $(wc -l < "$BUNDLE/MANIFEST.sha256") files verified; $(grep -o '"gemma_3_270m": "[^"]*"' "$BUNDLE/bundle.json" 2> /dev/null)"
  else
    blocker "bundle $BUNDLE is damaged or incomplete: $(head -n 1 "$TMP/sum")"
  fi
elif [ -f "${ATTNSCOPE_SHARED:-$ROOT/../shared}/models/stories260K.gguf" ]; then
  ok "no bundle, but a shared folder: ${ATTNSCOPE_SHARED:-$ROOT/../shared}"
else
  blocker "no bundle ($BUNDLE) and no shared folder: the golden stories260K tests fail; run tools/gpu-bundle.sh and take gpu-bundle/ along"
fi

# ---- Python
if ! command -v "$PY" > /dev/null; then
  fatal "no $PY (gpu-check's summary and comparisons are Python)"
else
  ok "python: $("$PY" --version 2>&1)"
  if ! timeout 15 tail --pid="$PY_PID" -f /dev/null; then
    kill "$PY_PID" 2> /dev/null
    blocker "importing torch and transformers took over 15 s"
  fi
  while IFS= read -r line; do
    case "$line" in
      ok\ *) ok "${line#ok }" ;;
      missing\ *) blocker "python ${line#missing }: no transformers comparison, so no green run" ;;
    esac
  done < "$TMP/python"
fi

if [ ${#blockers[@]} -eq 0 ]; then
  echo "preflight: ready, nothing blocks the full run"
  exit 0
fi
echo "preflight: ${#blockers[@]} blocking problem(s)$([ $fatal -eq 1 ] && echo ', the full run cannot start'):"
for b in "${blockers[@]}"; do echo "  - $b"; done
exit 1
