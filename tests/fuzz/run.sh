#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build/fuzz) and runs each for SECONDS,
# starting from its seed corpus in tests/fuzz/corpus/<name>/ (which it replays first: crashers
# found earlier live there as regression inputs). Prints the executions and findings per target;
# exits non-zero when any target finds a crash, a leak, undefined behaviour or a hang. Crash
# inputs are kept under build/fuzz/findings/<target>/, new coverage under build/fuzz/corpus/.
# Usage: tests/fuzz/run.sh SECONDS [TARGET...]   (FUZZ_JOBS=N runs N targets at a time)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
build=${FUZZ_BUILD_DIR:-build/fuzz}
jobs=${FUZZ_JOBS:-1}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(gguf hf_model context_json session sentencepiece bpe)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNSCOPE_FUZZ=ON \
  -DATTNSCOPE_BUILD_TESTS=OFF -DATTNSCOPE_BUILD_GUI=OFF -DATTNSCOPE_CUDA=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --target $(printf 'fuzz_%s ' "${targets[@]}")

export ATTNSCOPE_MODELS=${ATTNSCOPE_MODELS:-$root/../shared/models}
export ATTNSCOPE_TEST_DATA=$root/tests/data
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# One target: fuzz for $seconds, then one line of results. The log is kept beside the findings.
run_target() {
  local name=$1 exe="$build/tests/fuzz/fuzz_$1" work="$build/corpus/$1" findings="$build/findings/$1"
  mkdir -p "$work" "$findings"
  find "$findings" -maxdepth 1 -type f -delete  # findings of this run only
  local log="$findings/fuzz.log" status=0 dict=()
  [[ -f tests/fuzz/dict/$1.dict ]] && dict=(-dict="tests/fuzz/dict/$1.dict")
  "$exe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$findings/" "$work" "tests/fuzz/corpus/$1" >"$log" 2>&1 || status=$?
  local execs crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  crashes=$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  printf 'fuzz %-14s %10s executions in %ss, %s findings%s\n' "$name" "${execs:-?}" "$seconds" "$crashes" \
    "$([[ $status -ne 0 ]] && echo " (exit $status; see $log)")"
  [[ $status -eq 0 && $crashes -eq 0 ]]
}

failed=0
pids=()
for t in "${targets[@]}"; do
  run_target "$t" &
  pids+=($!)
  if [[ ${#pids[@]} -ge $jobs ]]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[[ $failed -eq 0 ]] && echo "fuzz: no findings" || echo "fuzz: FINDINGS (inputs under $build/findings/)" >&2
exit $failed
