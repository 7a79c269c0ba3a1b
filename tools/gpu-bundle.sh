#!/usr/bin/env bash
# gpu-bundle.sh [DIR] - gathers what tools/gpu-check.sh needs on a GPU machine that has only this
# checkout: the shared folder beside the checkout (../shared) does not come along, so without a
# bundle the golden stories260K tests cannot run there (and fail, under ATTNSCOPE_REQUIRE_GPU=1).
#
# DIR (default: gpu-bundle in the checkout's root; git-ignored, so it is never committed; a copy
# of the checkout for the GPU machine must take it along explicitly, see docs/gpu-lease.md) gets:
#   models/     stories260K.gguf and .bin, the tok512 tokenizer, and the Gemma 3 270M GGUF when
#               it is present and fits the size limit;
#   reference/  the golden reference cases (reference/stories260K/*.json);
#   MANIFEST.sha256  every file's checksum (gpu-check verifies it: a half-copied bundle is
#               refused), and bundle.json (what is in it, what was left out and why).
# The test fixtures in tests/data are part of the checkout and travel with it.
#
# The folder is assembled as DIR.part and renamed to DIR when complete.
# Environment: ATTNSCOPE_SHARED (default ../shared, else ./shared), ATTNSCOPE_GEMMA_GGUF (default
# .venv/models/gemma-3-270m-q4_k_m.gguf), GPU_BUNDLE_LIMIT_MIB (60: a copy of the checkout for a
# GPU machine is limited to 64 MiB, the checkout's tracked files included).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/gpu-bundle}
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
LIMIT_MIB=${GPU_BUNDLE_LIMIT_MIB:-60}

die() {
  echo "gpu-bundle: $*" >&2
  exit 2
}

SHARED=${ATTNSCOPE_SHARED:-}
if [ -z "$SHARED" ]; then
  for d in "$ROOT/../shared" "$ROOT/shared"; do
    if [ -f "$d/models/stories260K.gguf" ]; then SHARED=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "$SHARED" ] || die "no shared folder with models/stories260K.gguf (set ATTNSCOPE_SHARED)"
[ -d "$SHARED/reference/stories260K" ] || die "$SHARED/reference/stories260K: no golden reference cases"
case "$DIR/" in "$ROOT"/*) ;; *) echo "gpu-bundle: note: $DIR is outside the checkout, so it will not travel with it" >&2 ;; esac

PART="$DIR.part"
rm -rf "$PART"
mkdir -p "$PART/models" "$PART/reference" || die "$PART: cannot create"
for f in stories260K.gguf stories260K.bin tok512.model tok512.bin; do
  if [ -f "$SHARED/models/$f" ]; then
    cp "$SHARED/models/$f" "$PART/models/" || die "$SHARED/models/$f: copy failed"
  elif [ "$f" = stories260K.gguf ]; then
    die "$SHARED/models/$f: missing"
  fi
done
cp -r "$SHARED/reference/stories260K" "$PART/reference/" || die "$SHARED/reference/stories260K: copy failed"
[ -f "$SHARED/reference/README.md" ] && cp "$SHARED/reference/README.md" "$PART/reference/"

# The Gemma 3 270M GGUF only when the checkout, the bundle and the model stay within the limit.
mib() { echo $((($1 + 1048575) / 1048576)); }
tracked=$(cd "$ROOT" && git ls-files -z 2>/dev/null | du -cb --files0-from=- 2>/dev/null | tail -n 1 | cut -f1)
tracked=${tracked:-0}
bundled=$(du -sb "$PART" | cut -f1)
GEMMA=${ATTNSCOPE_GEMMA_GGUF:-$ROOT/.venv/models/gemma-3-270m-q4_k_m.gguf}
gemma_note="not found ($GEMMA)"
if [ -f "$GEMMA" ]; then
  gemma=$(stat -L -c %s "$GEMMA")
  total=$((tracked + bundled + gemma))
  if [ "$(mib "$total")" -le "$LIMIT_MIB" ]; then
    cp -L "$GEMMA" "$PART/models/gemma-3-270m-q4_k_m.gguf" || die "$GEMMA: copy failed"
    gemma_note="included"
  else
    gemma_note="left out: $(mib "$gemma") MiB, the checkout and bundle would be $(mib "$total") MiB > $LIMIT_MIB MiB"
  fi
fi

if ! (cd "$PART" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | xargs -d '\n' sha256sum) > "$DIR.sha256"; then
  die "checksums failed"
fi
mv "$DIR.sha256" "$PART/MANIFEST.sha256" || die "checksums failed"
python3 - "$PART" "$SHARED" "$gemma_note" "$tracked" <<'PYEOF' || die "bundle.json failed"
import json, os, sys, time
part, shared, gemma, tracked = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
files = {}
for line in open(os.path.join(part, "MANIFEST.sha256")):
    digest, name = line.rstrip("\n").split("  ", 1)
    files[name] = os.path.getsize(os.path.join(part, name))
json.dump({"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "from": os.path.basename(shared),
           "files": files, "bytes": sum(files.values()), "checkout_tracked_bytes": tracked,
           "gemma_3_270m": gemma, "fixtures": "tests/data travels with the checkout"},
          open(os.path.join(part, "bundle.json"), "w"), indent=1)
PYEOF

rm -rf "$DIR"
mv "$PART" "$DIR" || die "$DIR: rename failed"
echo "gpu-bundle: $DIR ($(du -sh "$DIR" | cut -f1), $(wc -l < "$DIR/MANIFEST.sha256") files); Gemma 3 270M: $gemma_note"
