#!/usr/bin/env bash
# test_scratch.sh setup|check DIR [RUNTIME_DIR] — the temporary folder every test runs with
# (TMPDIR=DIR). `setup` empties it before the first test, and makes RUNTIME_DIR (Qt's
# XDG_RUNTIME_DIR, mode 0700); `check` runs after the last test and fails, naming them, when
# tests left files or folders behind.
set -u
mode=$1 dir=$2
case $mode in
  setup)
    rm -rf "$dir" && mkdir -p "$dir" || exit 1
    [[ -z ${3:-} ]] || mkdir -p -m 700 "$3" ;;
  check)
    mapfile -t left < <(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort)
    if [[ ${#left[@]} -gt 0 ]]; then
      echo "tests left ${#left[@]} entries in their temporary folder $dir:"
      printf '  %s\n' "${left[@]}"
      exit 1
    fi
    echo "test-scratch: nothing left behind" ;;
  *)
    echo "usage: test_scratch.sh setup|check DIR" >&2; exit 2 ;;
esac
