#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && ok || bad": ok only echoes
# gpu_scripts_test.sh SOURCE_DIR [BUILD_DIR] - the GPU acceptance scripts without a GPU:
#   - bash -n and (when installed) shellcheck on tools/*.sh;
#   - the preflight with stand-in nvidia-smi and cmake: fast (under 20 s), and it names as
#     blockers an old CMake, a driver too old for CUDA 13, a GPU nvidia-smi cannot reach, a
#     missing or damaged bundle;
#   - gpu-check.sh stops with a failure, not a green, when the preflight finds a fatal problem;
#   - gpu-bundle.sh: a verified bundle, the Gemma GGUF only within the size limit, no .part left;
#   - gpu-check's test step fails when a CUDA test skipped (when BUILD_DIR has the GPU tests).
set -u
src=$1
build=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() {
  fails=$((fails + 1))
  echo "FAIL $1"
}
has() { grep -qF -- "$2" "$tmp/out" && ok "$1" || bad "$1: output lacks '$2': $(tail -n 15 "$tmp/out")"; }
lacks() { grep -qF -- "$2" "$tmp/out" && bad "$1: output has '$2'" || ok "$1"; }

for f in "$src"/tools/*.sh; do
  bash -n "$f" && ok "bash -n $(basename "$f")" || bad "bash -n $(basename "$f")"
done
if command -v shellcheck > /dev/null; then
  shellcheck "$src"/tools/*.sh "$src"/tests/tools/*.sh "$src"/tests/cuda/*.sh > "$tmp/out" 2>&1 && ok "shellcheck" ||
    bad "shellcheck: $(head -n 20 "$tmp/out")"
else
  echo "skip shellcheck (not installed)"
fi

# Stand-ins: nvidia-smi answering like an H200 with driver $FAKE_DRIVER (or failing), cmake $FAKE_CMAKE.
mkdir -p "$tmp/bin" "$tmp/none"
cat > "$tmp/bin/nvidia-smi" << 'EOF'
#!/usr/bin/env bash
if [ "${FAKE_DRIVER:-}" = fail ]; then echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9; fi
echo "NVIDIA H200, ${FAKE_DRIVER:-580.65.06}, 143771 MiB, 0 MiB, 9.0"
EOF
cat > "$tmp/bin/cmake" << 'EOF'
#!/usr/bin/env bash
echo "cmake version ${FAKE_CMAKE:-3.28.3}"
EOF
chmod +x "$tmp/bin/nvidia-smi" "$tmp/bin/cmake"

# preflight NAME ENV...: runs the preflight with the stand-ins first on PATH, output in $tmp/out.
preflight() {
  local name=$1 t0 t
  shift
  t0=$(date +%s)
  env PATH="$tmp/bin:$PATH" GPU_CHECK_BUILD="$tmp/build" ATTNSCOPE_SHARED="$tmp/none" "$@" \
    bash "$src/tools/gpu-check.sh" --preflight > "$tmp/out" 2>&1
  echo "$?" > "$tmp/rc"
  t=$(($(date +%s) - t0))
  [ "$t" -lt 20 ] && ok "$name: preflight in ${t}s" || bad "$name: preflight took ${t}s (20 s allowed)"
}

preflight "old cmake, no bundle" FAKE_CMAKE=3.16.3 GPU_CHECK_BUNDLE="$tmp/none"
[ "$(cat "$tmp/rc")" -ne 0 ] && ok "a blocker fails the preflight" || bad "the preflight passed with blockers"
has "old cmake" "BLOCKER  fatal: cmake 3.16.3 is older than the 3.22"
has "the GPU is listed" "ok       gpu: NVIDIA H200, 580.65.06"
has "no bundle" "BLOCKER  no bundle"
lacks "driver 580 is new enough" "too old for CUDA"
has "the blockers counted" "blocking problem(s)"

mkdir -p "$tmp/damaged/models"
echo "model" > "$tmp/damaged/models/stories260K.gguf"
echo "0000000000000000000000000000000000000000000000000000000000000000  models/stories260K.gguf" > "$tmp/damaged/MANIFEST.sha256"
preflight "old driver, damaged bundle" FAKE_DRIVER=570.86.10 GPU_CHECK_BUNDLE="$tmp/damaged"
has "damaged bundle" "is damaged or incomplete"
if nvcc --version 2> /dev/null | grep -q 'release 1[3-9]' || /usr/local/cuda/bin/nvcc --version 2> /dev/null | grep -q 'release 1[3-9]'; then
  has "driver too old for CUDA 13" "BLOCKER  fatal: driver 570.86.10 is too old for CUDA 13"
else
  echo "skip the driver check (no CUDA 13 nvcc here)"
fi

preflight "unreachable GPU" FAKE_DRIVER=fail GPU_CHECK_BUNDLE="$tmp/none"
has "nvidia-smi failing is fatal" "BLOCKER  fatal: nvidia-smi finds no usable GPU: NVIDIA-SMI has failed"

# The full run stops at a fatal preflight problem, with a failure and a summary that says so.
env PATH="$tmp/bin:$PATH" FAKE_DRIVER=fail GPU_CHECK_BUILD="$tmp/build" GPU_CHECK_BUNDLE="$tmp/none" \
  ATTNSCOPE_SHARED="$tmp/none" GPU_CHECK_BUDGET_S=60 GPU_CHECK_RETURN="$tmp/return" \
  bash "$src/tools/gpu-check.sh" "$tmp/run" > "$tmp/out" 2>&1
rc=$?
[ $rc -ne 0 ] && ok "gpu-check fails (exit $rc)" || bad "gpu-check exited 0 without a GPU"
has "gpu-check says why it stopped" "stopped: the preflight found what makes the run impossible"
python3 - "$tmp/run/summary.json" > "$tmp/out" 2>&1 << 'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print("all_ok", s["all_ok"])
print("blockers", " | ".join(s.get("preflight_blockers", [])))
EOF
has "summary: not ok" "all_ok False"
has "summary: the blocker" "fatal: nvidia-smi finds no usable GPU"
[ -f "$tmp/return/summary.json" ] && [ -f "$tmp/return/gpu-check.tar.gz" ] && ok "the return folder is filled" ||
  bad "the return folder lacks summary.json or gpu-check.tar.gz: $(ls "$tmp/return" 2>&1)"

# The bundle, from a stand-in shared folder.
mkdir -p "$tmp/shared/models" "$tmp/shared/reference/stories260K"
echo "gguf" > "$tmp/shared/models/stories260K.gguf"
echo "{}" > "$tmp/shared/reference/stories260K/case.json"
head -c 1048576 /dev/zero > "$tmp/gemma.gguf"
ATTNSCOPE_SHARED="$tmp/shared" ATTNSCOPE_GEMMA_GGUF="$tmp/gemma.gguf" GPU_BUNDLE_LIMIT_MIB=200 \
  bash "$src/tools/gpu-bundle.sh" "$tmp/bundle" > "$tmp/out" 2>&1
has "bundle: Gemma within the limit" "Gemma 3 270M: included"
(cd "$tmp/bundle" && sha256sum --quiet -c MANIFEST.sha256) && ok "bundle: checksums hold" || bad "bundle: checksums"
[ -f "$tmp/bundle/models/gemma-3-270m-q4_k_m.gguf" ] && [ -f "$tmp/bundle/reference/stories260K/case.json" ] &&
  [ ! -e "$tmp/bundle.part" ] && ok "bundle: the files, no .part" || bad "bundle: files: $(find "$tmp/bundle"*)"
ATTNSCOPE_SHARED="$tmp/shared" ATTNSCOPE_GEMMA_GGUF="$tmp/gemma.gguf" GPU_BUNDLE_LIMIT_MIB=1 \
  bash "$src/tools/gpu-bundle.sh" "$tmp/bundle" > "$tmp/out" 2>&1
has "bundle: Gemma over the limit is left out" "Gemma 3 270M: left out"
[ ! -e "$tmp/bundle/models/gemma-3-270m-q4_k_m.gguf" ] && ok "bundle: rebuilt without Gemma" || bad "bundle: Gemma still there"
preflight "a good bundle" GPU_CHECK_BUNDLE="$tmp/bundle"
has "preflight: the bundle verified" "files verified"

# The test step of gpu-check fails when a CUDA test skipped (here: no GPU, ATTNSCOPE_REQUIRE_GPU unset).
if [ -n "$build" ] && [ -x "$build/tests/cuda/test_cuda_backend" ]; then
  env -u ATTNSCOPE_REQUIRE_GPU bash "$src/tools/gpu-check.sh" --run-cuda-tests "$build" > "$tmp/out" 2>&1
  rc=$?
  [ $rc -ne 0 ] && ok "the test step fails on skipped tests (exit $rc)" || bad "the test step passed with skipped tests"
  has "the test step names the skips" "skipped or not-run test(s) on the GPU machine"
else
  echo "skip the test-step check (the CUDA plugin tests are not built)"
fi

echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
