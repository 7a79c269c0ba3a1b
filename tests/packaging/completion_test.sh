#!/usr/bin/env bash
# completion_test.sh SOURCE_DIR CLI — the bash completion of attnscope-cli, called as bash calls
# it (COMP_WORDS, COMP_CWORD), offers the commands, a command's options, the choices of an
# option's value, model names from the models folder, and context files.
set -u
src=$(cd "$1" && pwd) cli=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { fails=$((fails + 1)); echo "FAIL $1"; }

# The program by its name, as a user types it.
mkdir -p "$tmp/bin" "$tmp/models/tiny-hf" "$tmp/work/sub"
ln -s "$cli" "$tmp/bin/attnscope-cli"
export PATH=$tmp/bin:$PATH ATTNSCOPE_MODELS=$tmp/models
touch "$tmp/models/stories260K.gguf" "$tmp/models/tok512.model" "$tmp/models/notes.txt"
touch "$tmp/work/context.json" "$tmp/work/story.txt"
cd "$tmp/work"
# shellcheck source=/dev/null
source "$src/packaging/bash-completion/attnscope-cli" || exit 1

# expect LINE WORD...: completing LINE (the last word is the one being completed; a trailing
# space starts a new word) offers exactly WORD... (in any order).
expect() {
  local line=$1; shift
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _attnscope_cli
  local got want
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ')
  want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
  [[ $got == "$want" ]] && ok || bad "'$line': got [$got], expected [$want]"
}

commands=$(attnscope-cli --list-options | awk '$1 == "command" { print $2 }')
# shellcheck disable=SC2086
expect "attnscope-cli " $commands --help --version
expect "attnscope-cli an" analyze
expect "attnscope-cli analyze --se" --select --select-score-top --select-aggregate
expect "attnscope-cli analyze --mode " full parallel
expect "attnscope-cli analyze --mode = p" parallel
expect "attnscope-cli analyze --method s" sink selective
expect "attnscope-cli analyze --positions " stretch restart sequential
expect "attnscope-cli analyze --select-score-top " mean
expect "attnscope-cli sweep --bos " none shared
expect "attnscope-cli bench --device " auto cpu cuda
expect "attnscope-cli analyze --model st" stories260K.gguf
expect "attnscope-cli info " stories260K.gguf tok512.model tiny-hf/ sub
expect "attnscope-cli analyze --model stories260K.gguf --context " context.json sub
expect "attnscope-cli sweep --text s" story.txt sub
expect "attnscope-cli analyze --select " ""
expect "attnscope-cli bench --t" --threads --tokens
# Every option of every command is offered after "--".
while read -r _ c _; do
  # shellcheck disable=SC2046
  expect "attnscope-cli $c --" $(attnscope-cli --list-options | awk -v c="$c" '$1 == "option" && $2 == c { print $3 }')
done < <(attnscope-cli --list-options | awk '$1 == "command"')

echo "completion: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
