#!/usr/bin/env bash
# deb_test.sh SOURCE_DIR BUILD_DIR CPACK — builds the .deb from the (already built) BUILD_DIR,
# holds it to lintian (no error, no warning; overrides only in packaging/ with a reason),
# validates its AppStream metadata and desktop file, unpacks it into a fresh root and runs the
# installed programs from there: `attnscope-cli info` on the bundled model, --version, and
# --help of every command.
set -u
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd) cpack=$3
for tool in lintian appstreamcli desktop-file-validate dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "deb: $tool not found (scripts/setup-debian.sh installs it)"; exit 77; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# lintian leaves a database file in TMPDIR; everything this test runs keeps its files in $tmp.
export TMPDIR=$tmp
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   $1"; }
bad() { fails=$((fails + 1)); echo "FAIL $1"; }

start=$SECONDS
if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"; echo "FAIL cpack"; exit 1
fi
deb=$(ls "$tmp"/out/*.deb)
ok "cpack built $(basename "$deb") in $((SECONDS - start)) s"

# lintian: every error or warning fails; "running with root privileges" is lintian's own notice.
lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1; rc=$?
grep -v "running with root privileges" "$tmp/lintian.log" | grep -E '^[EW]:' >"$tmp/tags"
if [[ $rc -eq 0 && ! -s $tmp/tags ]]; then ok "lintian: 0 errors, 0 warnings"
else bad "lintian (exit $rc):"; cat "$tmp/lintian.log"; fi

root=$tmp/root
dpkg-deb -x "$deb" "$root" && ok "dpkg-deb -x" || bad "dpkg-deb -x"
usr=$root/usr
for f in share/doc/attnscope/copyright share/doc/attnscope/changelog.gz share/man/man1/attnscope-cli.1.gz \
         share/bash-completion/completions/attnscope-cli share/attnscope/models/stories260K.gguf; do
  [[ -f $usr/$f ]] && ok "installs $f" || bad "the package lacks $f"
done
if compgen -G "$usr/lib/*/attnscope/libattnscope_cuda.so" >/dev/null; then
  plugin=$(compgen -G "$usr/lib/*/attnscope/libattnscope_cuda.so")
  readelf -d "$plugin" | grep -qE 'RPATH|RUNPATH' && bad "the CUDA plugin has a RUNPATH" || ok "the CUDA plugin has no RUNPATH"
fi
for xml in "$usr"/share/metainfo/*.xml; do
  [[ -f $xml ]] || continue
  appstreamcli validate --no-net "$xml" >"$tmp/as.log" 2>&1 && ok "appstreamcli validate" || { bad "appstreamcli validate"; cat "$tmp/as.log"; }
done
for desktop in "$usr"/share/applications/*.desktop; do
  [[ -f $desktop ]] || continue
  out=$(desktop-file-validate "$desktop" 2>&1)
  [[ $? -eq 0 && -z $out ]] && ok "desktop-file-validate: no error, warning or hint" || bad "desktop-file-validate: $out"
done

# The installed CLI, from the unpacked root: the bundled model by its bare name (found in
# ../share/attnscope/models), its version, every command's help.
cli=$usr/bin/attnscope-cli
cd "$usr/bin" || exit 1
if env -u ATTNSCOPE_MODELS "$cli" info stories260K.gguf >"$tmp/info.json" 2>"$tmp/err"; then
  python3 - "$tmp/info.json" "$usr/share/attnscope/models/stories260K.gguf" <<'PY' && ok "info on the bundled model" || bad "info output"
import json, os, sys
info = json.load(open(sys.argv[1]))
assert os.path.realpath(info["path"]) == os.path.realpath(sys.argv[2]), info["path"]
assert info["layers"] == 5, info["layers"]
PY
else
  bad "info stories260K.gguf: $(cat "$tmp/err")"
fi
"$cli" --version | grep -qx "attnscope-cli [0-9.]*" && ok "--version" || bad "--version"
for c in $("$cli" --list-options | awk '$1 == "command" { print $2 }'); do
  "$cli" "$c" --help >"$tmp/help" 2>"$tmp/err" && grep -q "^usage: attnscope-cli $c" "$tmp/help" && [[ ! -s $tmp/err ]] &&
    ok "$c --help" || bad "$c --help: $(cat "$tmp/err")"
done
# The packaged CUDA plugin is found in the installed plugin folder and loads (libcublas by its
# soname): asked for by name it runs, or fails for want of a GPU or driver, never for want of a
# file.
if [[ -n ${plugin-} ]]; then
  if "$cli" bench --model stories260K.gguf --device cuda --tokens 32 --chunks 2 --queries 8 --repeat 1 \
      >/dev/null 2>"$tmp/err"; then
    ok "the installed CUDA plugin runs"
  elif grep -qE "not found|cannot open shared object|looked in" "$tmp/err"; then
    bad "the installed CUDA plugin does not load: $(cat "$tmp/err")"
  else
    ok "the installed CUDA plugin loads (no GPU here: $(cat "$tmp/err"))"
  fi
fi
if [[ -x $usr/bin/attnscope ]]; then
  QT_QPA_PLATFORM=offscreen "$usr/bin/attnscope" --version 2>/dev/null | grep -q "attnscope" && ok "attnscope --version" ||
    bad "attnscope --version"
fi

echo "deb: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
