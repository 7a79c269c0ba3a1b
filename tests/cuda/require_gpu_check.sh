#!/usr/bin/env bash
# require_gpu_check.sh BACKEND_EMULATED [BACKEND KERNELS] - ATTNSCOPE_REQUIRE_GPU=1 turns a CUDA
# test skip into a failure that names the reason (tests/cuda/require_gpu.h), on any machine:
#   - the emulated backend test without the golden model, or without the golden cases;
#   - when the plugin was built: the backend and kernel tests with every GPU hidden
#     (CUDA_VISIBLE_DEVICES=-1), as on a machine without a GPU or with a driver too old.
# Without the variable the same runs skip and pass. Exit status: 0 when every check held.
set -u
emulated=$1
backend=${2:-}
kernels=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/empty"
fails=0

# expect NAME WANT_EXIT(zero|nonzero) NEEDLE -- ENV... CMD...: runs CMD under `env -u
# ATTNSCOPE_REQUIRE_GPU ENV...`, checks the exit status and that the output holds NEEDLE.
expect() {
  local name=$1 want=$2 needle=$3
  shift 4
  env -u ATTNSCOPE_REQUIRE_GPU "$@" > "$tmp/out" 2>&1
  local rc=$? okExit=1
  if [ "$want" = zero ] && [ $rc -ne 0 ]; then okExit=0; fi
  if [ "$want" = nonzero ] && [ $rc -eq 0 ]; then okExit=0; fi
  if [ $okExit -eq 1 ] && grep -qF -- "$needle" "$tmp/out"; then
    echo "ok   $name"
  else
    fails=$((fails + 1))
    echo "FAIL $name: exit $rc (wanted $want), looked for '$needle' in:"
    tail -n 20 "$tmp/out" | sed 's/^/     | /'
  fi
}

golden=--gtest_filter=CudaBackend.StoriesGoldenCasesInParityMode
expect "no golden model: skipped by default" zero "SKIPPED" -- \
  ATTNSCOPE_MODELS="$tmp/empty" "$emulated" "$golden"
expect "no golden model: a failure with the reason under ATTNSCOPE_REQUIRE_GPU=1" nonzero \
  "forbids a skip: stories260K.gguf not found" -- \
  ATTNSCOPE_REQUIRE_GPU=1 ATTNSCOPE_MODELS="$tmp/empty" "$emulated" "$golden"
expect "no golden cases: a failure under ATTNSCOPE_REQUIRE_GPU=1" nonzero "forbids a skip:" -- \
  ATTNSCOPE_REQUIRE_GPU=1 ATTNSCOPE_REFERENCE="$tmp/empty" "$emulated" "$golden"
expect "ATTNSCOPE_REQUIRE_GPU=0 keeps the skip" zero "SKIPPED" -- \
  ATTNSCOPE_REQUIRE_GPU=0 ATTNSCOPE_MODELS="$tmp/empty" "$emulated" "$golden"

if [ -n "$backend" ]; then
  quick=--gtest_filter=CudaBackend.ErrorsAreValues
  expect "plugin test, no visible GPU: skipped by default" zero "SKIPPED" -- \
    CUDA_VISIBLE_DEVICES=-1 "$backend" "$quick"
  expect "plugin test, no visible GPU: a failure with the reason under ATTNSCOPE_REQUIRE_GPU=1" nonzero \
    "forbids a skip: CUDA backend unavailable:" -- \
    ATTNSCOPE_REQUIRE_GPU=1 CUDA_VISIBLE_DEVICES=-1 "$backend" "$quick"
fi
if [ -n "$kernels" ]; then
  expect "kernel tests, no visible GPU: skipped by default" zero "SKIPPED" -- \
    CUDA_VISIBLE_DEVICES=-1 "$kernels"
  expect "kernel tests, no visible GPU: a failure with the reason under ATTNSCOPE_REQUIRE_GPU=1" nonzero \
    "forbids a skip: no" -- \
    ATTNSCOPE_REQUIRE_GPU=1 CUDA_VISIBLE_DEVICES=-1 "$kernels"
fi

echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
