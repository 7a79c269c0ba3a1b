#!/usr/bin/env bash
# gpu-check.sh OUTDIR - the GPU acceptance run of attnscope, for a bare machine with an NVIDIA
# GPU, the CUDA toolkit, CMake, a C++ compiler and Python with torch + transformers (no Qt, no
# package manager, no network). The plan for a time-limited lease: docs/gpu-lease.md.
# gpu-check.sh --preflight [OUTDIR] - only the checks of tools/gpu-preflight.sh (under 20 s).
#
#   0. the preflight (tools/gpu-preflight.sh); the run stops at once when it finds something
#      fatal (no GPU, a driver too old, no compiler), unless GPU_CHECK_FORCE=1;
#   1. configure and build the engine, attnscope-cli, the CUDA plugin and the cuda.* tests for
#      this GPU's architecture (with a GoogleTest stand-in when GoogleTest is not installed);
#      meanwhile tools/hf_compare.py builds a random Llama-3.1-8B-shaped model in transformers,
#      writes the same weights as a GGUF for attnscope and times transformers at 4K tokens;
#      the model is used only when `hf_compare.py check-gguf` finds it whole (else the project's
#      own generator writes one, with no transformers comparison);
#   2. ctest -R '^cuda\.': kernels against their CPU twins, the backend against the CPU backend
#      and the golden stories260K cases, with ATTNSCOPE_REQUIRE_GPU=1: a test that cannot run
#      fails with the reason, and the step fails if any test still reports a skip;
#   3. attnscope-cli analyze at 4K with transformers' ids (full attention), FP32 attention kernel,
#      compared with transformers' entropies and NLL (fails above 0.05 nats, or off CUDA);
#   4. the same analysis with the tensor-core attention (ATTNSCOPE_CUDA_ATTENTION=mma),
#      compared with the FP32 one (fails above 0.02 nats);
#   5. attnscope-cli bench --device cuda at 4K tokens, then a 128K-token context (64 chunks +
#      256 query tokens).
#
# Every step runs under `timeout` with what is left of the budget (default 470 s, to fit a
# 9-minute call) and logs to OUTDIR/<step>.log; OUTDIR/summary.json is rewritten after each step,
# so whatever finished is kept when a later step fails or runs out of time. A step that gets no
# time is recorded as skipped, which is a failure. Exit status: 0 only when every step passed.
#
# Environment: GPU_CHECK_BUDGET_S (470), JOBS (all cores), GPU_CHECK_BUILD (build/gpu-check),
# GPU_CHECK_SCRATCH (big files such as the 16 GB model; default BUILD/scratch), GPU_CHECK_BUNDLE
# (the bundle of tools/gpu-bundle.sh; default ./gpu-bundle, used first when its checksums hold),
# ATTNSCOPE_SHARED (a shared folder with models/ and reference/ when there is no bundle; default
# ./shared or ../shared), CUDA_ARCH (e.g. 90; default: the GPU's compute capability),
# GPU_CHECK_GTEST (auto|system|shim), GPU_CHECK_FORCE (1: run past fatal preflight problems),
# GPU_CHECK_RETURN (a folder that receives, after every step, summary.json, run.log,
# preflight.log and gpu-check.tar.gz with every log: four files, for a lease that returns few).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}

# ---- internal: the CUDA tests, failing when any test was skipped or not run
if [ "${1:-}" = --run-cuda-tests ]; then
  # -FA: without the test-scratch fixture, whose setup would empty the temporary folder of
  # tests that may be running beside this one (tools.gpu_scripts runs this step inside ctest).
  ctest --test-dir "$2" -R '^cuda\.(registry|kernels|backend|attention_mma)$' -FA test-scratch \
    --output-on-failure -V 2>&1 | tee "$2/cuda_tests.out"
  rc=${PIPESTATUS[0]}
  skipped=$(grep -cE '\[  SKIPPED \]|\*\*\*Skipped|Not Run' "$2/cuda_tests.out")
  if [ "$skipped" -gt 0 ]; then
    echo "FAIL: $skipped skipped or not-run test(s) on the GPU machine; a skip is no pass here:"
    grep -E '\[  SKIPPED \]|\*\*\*Skipped|Not Run|test skipped:' "$2/cuda_tests.out" | sort -u | head -n 20
    exit 1
  fi
  grep -q '100% tests passed' "$2/cuda_tests.out" || { echo "FAIL: ctest did not report every test passed"; exit 1; }
  exit "$rc"
fi

if [ "${1:-}" = --preflight ]; then
  if [ -n "${2:-}" ]; then
    mkdir -p "$2" || exit 2
    "$ROOT/tools/gpu-preflight.sh" | tee "$2/preflight.log"
    exit "${PIPESTATUS[0]}"
  fi
  exec "$ROOT/tools/gpu-preflight.sh"
fi

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR | $0 --preflight [OUTDIR]" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
BUILD=${GPU_CHECK_BUILD:-$ROOT/build/gpu-check}
SCRATCH=${GPU_CHECK_SCRATCH:-$BUILD/scratch}
BUDGET=${GPU_CHECK_BUDGET_S:-470}
JOBS=${JOBS:-$(nproc 2> /dev/null || echo 4)}
RETURN=${GPU_CHECK_RETURN:-}
START=$(date +%s)
STEPS="$OUT/steps.tsv"
mkdir -p "$BUILD" "$SCRATCH"
# Nothing from an earlier run may stand in for this run's results.
for f in summary hf context_4k compare compare_attention bench_4k bench_128k; do rm -f "$OUT/$f.json" "$OUT/$f.json.part"; done
for f in environment preflight configure hf_prepare build make_model cuda_tests analyze_4k compare analyze_4k_mma \
  compare_attention bench_4k bench_128k; do rm -f "$OUT/$f.log"; done
rm -f "$SCRATCH"/analyze_4k*.json "$BUILD/cuda_tests.out"
: > "$STEPS"
: > "$OUT/run.log"
if [ -d /usr/local/cuda/bin ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
CLI="$BUILD/app/attnscope-cli"
MODEL="$SCRATCH/random-llama-8b-shape.gguf"
export ATTNSCOPE_BACKEND_DIR="$BUILD/lib/attnscope"
export ATTNSCOPE_REQUIRE_GPU=1  # no CUDA test may skip here (tests/cuda/require_gpu.h)

# The models and golden files: the bundle first (when its checksums hold), else a shared folder.
BUNDLE=${GPU_CHECK_BUNDLE:-$ROOT/gpu-bundle}
SHARED=""
unset GPU_CHECK_BUNDLE_SUM GPU_CHECK_BUNDLE_RC
if [ -f "$BUNDLE/MANIFEST.sha256" ]; then
  # The preflight reads this verdict instead of hashing the bundle a second time.
  export GPU_CHECK_BUNDLE_SUM="$OUT/bundle_sum.log" GPU_CHECK_BUNDLE_RC=0
  (cd "$BUNDLE" && sha256sum --quiet -c MANIFEST.sha256 > "$GPU_CHECK_BUNDLE_SUM" 2>&1) || GPU_CHECK_BUNDLE_RC=1
fi
if [ "${GPU_CHECK_BUNDLE_RC:-1}" = 0 ]; then
  SHARED=$(cd "$BUNDLE" && pwd)
else
  for d in ${ATTNSCOPE_SHARED:-} "$ROOT/shared" "$ROOT/../shared"; do
    if [ -f "$d/models/stories260K.gguf" ]; then SHARED=$(cd "$d" && pwd); break; fi
  done
fi
if [ -n "$SHARED" ]; then
  export ATTNSCOPE_SHARED="$SHARED" ATTNSCOPE_MODELS="$SHARED/models" ATTNSCOPE_REFERENCE="$SHARED/reference"
fi

left() { echo $((BUDGET - ($(date +%s) - START))); }

# summary.json from steps.tsv and the step outputs; only this (foreground) process writes it.
summary() {
  "$PY" "$ROOT/tools/gpu_check_summary.py" "$OUT" "$BUDGET" "$(($(date +%s) - START))" || true
  if [ -n "$RETURN" ]; then
    mkdir -p "$RETURN"
    for f in summary.json run.log preflight.log; do
      if [ -f "$OUT/$f" ]; then cp "$OUT/$f" "$RETURN/$f.tmp-$$" && mv "$RETURN/$f.tmp-$$" "$RETURN/$f"; fi
    done
    tar -C "$OUT" -czf "$RETURN/gpu-check.tar.gz.tmp-$$" . 2> /dev/null && mv "$RETURN/gpu-check.tar.gz.tmp-$$" "$RETURN/gpu-check.tar.gz"
  fi
}

record() { # record NAME STATUS SECONDS LIMIT
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$STEPS"
}

# run_step NAME LIMIT_S COMMAND...: under timeout (capped by the time left), output in
# OUT/NAME.log, one row in steps.tsv. GPU_CHECK_BACKGROUND=1: no summary (the foreground writes it).
run_step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -le 5 ]; then
    record "$name" "skipped: no time left" 0 0
    echo "== $name skipped: no time left" | tee -a "$OUT/run.log"
    [ "${GPU_CHECK_BACKGROUND:-0}" = 1 ] || summary
    return 1
  fi
  if [ "$limit" -gt "$l" ]; then limit=$l; fi
  local t0 rc t status
  t0=$(date +%s)
  echo "== $name (limit ${limit}s, ${l}s left)" | tee -a "$OUT/run.log"
  timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  t=$(($(date +%s) - t0))
  status=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout; elif [ $rc -ne 0 ]; then status="failed (exit $rc)"; fi
  record "$name" "$status" "$t" "$limit"
  {
    echo "   $status after ${t}s"
    tail -n 5 "$OUT/$name.log" | sed 's/^/   | /'
  } | tee -a "$OUT/run.log"
  [ "${GPU_CHECK_BACKGROUND:-0}" = 1 ] || summary
  return $rc
}

# ---- 0. the preflight
run_step preflight 30 "$ROOT/tools/gpu-preflight.sh" "$BUILD"
cp "$OUT/preflight.log" "$OUT/environment.log"
echo "shared: ${SHARED:-not found}" >> "$OUT/environment.log"
if grep -q 'BLOCKER  fatal:' "$OUT/preflight.log" && [ "${GPU_CHECK_FORCE:-0}" != 1 ]; then
  record stop "stopped: the preflight found a fatal problem (GPU_CHECK_FORCE=1 runs anyway)" 0 0
  summary
  echo "== stopped: the preflight found what makes the run impossible:" | tee -a "$OUT/run.log"
  grep 'BLOCKER  fatal:' "$OUT/preflight.log" | tee -a "$OUT/run.log"
  exit 1
fi

ARCH=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -n 1 | tr -d '. ')}
[ -n "$ARCH" ] || ARCH=native
GTEST_ARGS=()
case "${GPU_CHECK_GTEST:-auto}" in
  shim) GTEST_ARGS=(-DGTest_DIR="$ROOT/tests/cuda/minitest") ;;
  system) ;;
  *)
    if [ ! -f /usr/include/gtest/gtest.h ] && [ ! -f /usr/local/include/gtest/gtest.h ] && [ -z "${GTEST_ROOT:-}" ]; then
      GTEST_ARGS=(-DGTest_DIR="$ROOT/tests/cuda/minitest")
    fi
    ;;
esac

# ---- 1. build, with the transformers side running meanwhile (it writes MODEL.part, then MODEL)
run_step configure 60 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_GUI=OFF \
  -DATTNSCOPE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" "${GTEST_ARGS[@]}"

GPU_CHECK_BACKGROUND=1 run_step hf_prepare 240 "$PY" "$ROOT/tools/hf_compare.py" prepare --gguf "$MODEL" \
  --context "$OUT/context_4k.json" --out "$OUT/hf.json" --tokens 4096 --queries 64 &
HF_PID=$!

run_step build 270 nice -n 10 cmake --build "$BUILD" -j "$JOBS" --target attnscope-cli attnscope_cuda \
  test_cuda_registry test_cuda_kernels test_cuda_backend test_cuda_attention_mma make_random_gguf
wait "$HF_PID"
summary

if ! "$PY" "$ROOT/tools/hf_compare.py" check-gguf "$MODEL" >> "$OUT/run.log" 2>&1; then
  # transformers was not usable or was cut short: the same shape from the project's own
  # generator (no transformers comparison then, so the run is not green).
  rm -f "$MODEL" "$MODEL.part"
  # shellcheck disable=SC2016 # the arguments expand in the inner shell
  run_step make_model 120 bash -c '"$1" "$2.part" --dim 4096 --layers 32 --heads 32 --kv-heads 8 --ffn 14336 \
    --vocab 128256 --dtype bf16 --untied && "$3" "$4" check-gguf "$2.part" && mv "$2.part" "$2"' \
    make_model "$BUILD/tests/make_random_gguf" "$MODEL" "$PY" "$ROOT/tools/hf_compare.py"
fi

# ---- 2. the CUDA tests (no skips)
run_step cuda_tests 90 bash "$ROOT/tools/gpu-check.sh" --run-cuda-tests "$BUILD"

# ---- 3-5. attnscope on the transformers model
if [ -f "$MODEL" ]; then
  if [ ! -f "$OUT/hf.json" ]; then
    # No transformers run: its comparison fails below, the two attention kernels are still compared.
    "$PY" "$ROOT/tools/hf_compare.py" context --out "$OUT/context_4k.json" --tokens 4096 --queries 64 >> "$OUT/run.log" 2>&1
  fi
  run_step analyze_4k 60 "$CLI" analyze --model "$MODEL" --device cuda --context "$OUT/context_4k.json" \
    --mode full --out "$SCRATCH/analyze_4k.json"
  if [ -f "$OUT/hf.json" ]; then
    run_step compare 20 "$PY" "$ROOT/tools/hf_compare.py" compare --hf "$OUT/hf.json" \
      --analyze "$SCRATCH/analyze_4k.json" --out "$OUT/compare.json"
  else
    record compare "skipped: no transformers result (hf_prepare failed)" 0 0
  fi
  ATTNSCOPE_CUDA_ATTENTION=mma run_step analyze_4k_mma 60 "$CLI" analyze --model "$MODEL" --device cuda \
    --context "$OUT/context_4k.json" --mode full --out "$SCRATCH/analyze_4k_mma.json"
  run_step compare_attention 20 "$PY" "$ROOT/tools/hf_compare.py" compare-attention \
    --reference "$SCRATCH/analyze_4k.json" --candidate "$SCRATCH/analyze_4k_mma.json" --out "$OUT/compare_attention.json"
  run_step bench_4k 60 "$CLI" bench --model "$MODEL" --device cuda --tokens 4096 --chunks 1 --queries 64 \
    --repeat 3 --out "$OUT/bench_4k.json"
  run_step bench_128k 120 "$CLI" bench --model "$MODEL" --device cuda --tokens 131072 --chunks 64 --queries 256 \
    --repeat 1 --out "$OUT/bench_128k.json"
else
  record attnscope_runs "skipped: no whole model file" 0 0
fi

summary
echo "== done in $(($(date +%s) - START))s; summary: $OUT/summary.json" | tee -a "$OUT/run.log"
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s.get("all_ok") else 1)' "$OUT/summary.json"
