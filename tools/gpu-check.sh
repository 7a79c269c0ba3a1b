#!/usr/bin/env bash
# gpu-check.sh OUTDIR - the GPU acceptance run of attnscope, for a bare machine with an NVIDIA
# GPU, the CUDA toolkit, CMake, a C++ compiler and Python with torch + transformers (no Qt, no
# package manager, no network).
#
#   1. configure and build the engine, attnscope-cli, the CUDA plugin and the cuda.* tests for
#      this GPU's architecture (with a GoogleTest stand-in when GoogleTest is not installed);
#      meanwhile tools/hf_compare.py builds a random Llama-3.1-8B-shaped model in transformers,
#      writes the same weights as a GGUF for attnscope and times transformers at 4K tokens:
#      eager attention with output_attentions=True plus the entropy, and SDPA without;
#   2. ctest -R '^cuda\.': kernels against their CPU twins, the backend against the CPU backend
#      and the golden stories260K cases;
#   3. attnscope-cli bench --device cuda on that model at 4K tokens;
#   4. attnscope-cli analyze at 4K with the same ids (full attention), compared with
#      transformers' entropies and NLL, timings side by side;
#   5. a 128K-token context (64 chunks + 256 query tokens) bench.
#
# Every step runs under `timeout` with what is left of the budget (default 470 s) and logs to
# OUTDIR/<step>.log; OUTDIR/summary.json is rewritten after each step, so whatever finished is
# kept when a later step fails or runs out of time. Exit status: 0 when every step passed.
#
# Environment: GPU_CHECK_BUDGET_S (470), JOBS (all cores), GPU_CHECK_BUILD (build/gpu-check),
# GPU_CHECK_SCRATCH (big files such as the 16 GB model; default BUILD/scratch), ATTNSCOPE_SHARED
# (the shared folder with models/ and reference/; default ./shared or ../shared), CUDA_ARCH
# (e.g. 90; default: the GPU's compute capability), GPU_CHECK_GTEST (auto|system|shim).
set -u

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GPU_CHECK_BUILD:-$ROOT/build/gpu-check}
SCRATCH=${GPU_CHECK_SCRATCH:-$BUILD/scratch}
BUDGET=${GPU_CHECK_BUDGET_S:-470}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
START=$(date +%s)
STEPS="$OUT/steps.tsv"
mkdir -p "$BUILD" "$SCRATCH"
: > "$STEPS"
: > "$OUT/run.log"
if [ -d /usr/local/cuda/bin ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
PY=${PYTHON:-python3}
CLI="$BUILD/app/attnscope-cli"
MODEL="$SCRATCH/random-llama-8b-shape.gguf"
export ATTNSCOPE_BACKEND_DIR="$BUILD/lib/attnscope"

# The shared models and golden files, when this machine has them.
SHARED=${ATTNSCOPE_SHARED:-}
if [ -z "$SHARED" ]; then
  for d in "$ROOT/shared" "$ROOT/../shared"; do
    if [ -d "$d/models" ]; then SHARED=$(cd "$d" && pwd); break; fi
  done
fi
if [ -n "$SHARED" ]; then
  export ATTNSCOPE_SHARED="$SHARED" ATTNSCOPE_MODELS="$SHARED/models" ATTNSCOPE_REFERENCE="$SHARED/reference"
fi

left() { echo $((BUDGET - ($(date +%s) - START))); }

summary() {
  "$PY" - "$OUT" "$BUDGET" "$(($(date +%s) - START))" <<'PYEOF' || true
import json, os, re, sys
out, budget, elapsed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name):
    p = os.path.join(out, name)
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
steps = []
with open(os.path.join(out, "steps.tsv")) as f:
    for line in f:
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            steps.append({"step": parts[0], "status": parts[1], "seconds": int(parts[2]),
                          "limit_s": int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None})
s = {"elapsed_s": elapsed, "budget_s": budget, "steps": steps,
     "all_ok": bool(steps) and all(x["status"] == "ok" for x in steps)}
env = os.path.join(out, "environment.log")
if os.path.exists(env):
    s["environment"] = open(env).read().splitlines()[:40]
ct = os.path.join(out, "cuda_tests.log")
if os.path.exists(ct):
    text = open(ct).read()
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    s["cuda_tests"] = {
        "summary": m.group(0) if m else None,
        "results": re.findall(r"Test +#\d+: (\S+) \.+\** *(\w+)", text),
        "skipped": sorted(set(re.findall(r"\[  SKIPPED \] (\S+)", text))),
        "skip_reasons": sorted(set(re.findall(r"(CUDA (?:backend )?test skipped: [^\n]*)", text)))[:5],
    }
for key, name in (("bench_4k", "bench_4k.json"), ("bench_128k", "bench_128k.json"),
                  ("transformers", "hf.json"), ("comparison", "compare.json")):
    v = load(name)
    if v is not None:
        if key == "transformers":
            v = {k: v.get(k) for k in ("gpu", "torch", "transformers", "tokens", "eager_forward_entropy_s",
                                       "sdpa_forward_s", "eager_peak_gib", "gguf_write_s", "sdpa_attention_class")}
        s[key] = v
with open(os.path.join(out, "summary.json.tmp"), "w") as f:
    json.dump(s, f, indent=1)
os.replace(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))
PYEOF
}

# run_step NAME LIMIT_S COMMAND...: under timeout (capped by the time left), output in
# OUT/NAME.log, one row in steps.tsv.
run_step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -le 5 ]; then
    printf '%s\tskipped: no time left\t0\t0\n' "$name" >> "$STEPS"
    echo "== $name skipped: no time left" | tee -a "$OUT/run.log"
    summary
    return 1
  fi
  if [ "$limit" -gt "$l" ]; then limit=$l; fi
  local t0 rc t status
  t0=$(date +%s)
  echo "== $name (limit ${limit}s, $(left)s left)" | tee -a "$OUT/run.log"
  timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  t=$(($(date +%s) - t0))
  status=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout; elif [ $rc -ne 0 ]; then status="failed (exit $rc)"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$t" "$limit" >> "$STEPS"
  echo "   $status after ${t}s" | tee -a "$OUT/run.log"
  tail -n 5 "$OUT/$name.log" | sed 's/^/   | /' >> "$OUT/run.log"
  summary
  return $rc
}

# ---- 0. what this machine is
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  nvcc --version 2>&1 | tail -n 1 | sed 's/^/nvcc: /'
  cmake --version 2>&1 | head -n 1 | sed 's/^/cmake: /'
  c++ --version 2>&1 | head -n 1 | sed 's/^/c++: /'
  "$PY" -c 'import torch, transformers; print("torch:", torch.__version__, "cuda", torch.version.cuda); print("transformers:", transformers.__version__)' 2>&1
  echo "cores: $JOBS"
  echo "shared: ${SHARED:-not found}"
} > "$OUT/environment.log" 2>&1
cat "$OUT/environment.log" >> "$OUT/run.log"

ARCH=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '. ')}
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

# ---- 1. build, with the transformers side running meanwhile
run_step configure 120 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_BUILD_GUI=OFF \
  -DATTNSCOPE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" "${GTEST_ARGS[@]}"

run_step hf_prepare 260 "$PY" "$ROOT/tools/hf_compare.py" prepare --gguf "$MODEL" \
  --context "$OUT/context_4k.json" --out "$OUT/hf.json" --tokens 4096 --queries 64 &
HF_PID=$!

run_step build 300 nice -n 10 cmake --build "$BUILD" -j "$JOBS" --target attnscope-cli attnscope_cuda \
  test_cuda_registry test_cuda_kernels test_cuda_backend make_random_gguf
wait "$HF_PID"
if [ ! -f "$MODEL" ]; then
  # transformers was not usable: the same shape from the project's own generator (no comparison).
  run_step make_model 150 "$BUILD/tests/make_random_gguf" "$MODEL" --dim 4096 --layers 32 --heads 32 --kv-heads 8 \
    --ffn 14336 --vocab 128256 --dtype bf16 --untied
fi

# ---- 2. the CUDA tests
run_step cuda_tests 150 ctest --test-dir "$BUILD" -R '^cuda\.(registry|kernels|backend)$' --output-on-failure -V

# ---- 3-4. attnscope on the transformers model, side by side
if [ -f "$MODEL" ]; then
  run_step bench_4k 90 "$CLI" bench --model "$MODEL" --device cuda --tokens 4096 --chunks 1 --queries 64 \
    --repeat 3 --out "$OUT/bench_4k.json"
  run_step analyze_4k 75 "$CLI" analyze --model "$MODEL" --device cuda --context "$OUT/context_4k.json" \
    --mode full --out "$SCRATCH/analyze_4k.json"
  run_step compare 30 "$PY" "$ROOT/tools/hf_compare.py" compare --hf "$OUT/hf.json" --analyze "$SCRATCH/analyze_4k.json" \
    --bench "$OUT/bench_4k.json" --out "$OUT/compare.json"
  # ---- 5. a 128K-token context
  run_step bench_128k 150 "$CLI" bench --model "$MODEL" --device cuda --tokens 131072 --chunks 64 --queries 256 \
    --repeat 1 --out "$OUT/bench_128k.json"
else
  printf 'attnscope_runs\tskipped: no model file\t0\t0\n' >> "$STEPS"
fi

summary
echo "== done in $(($(date +%s) - START))s; summary: $OUT/summary.json" | tee -a "$OUT/run.log"
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s.get("all_ok") else 1)' "$OUT/summary.json"
