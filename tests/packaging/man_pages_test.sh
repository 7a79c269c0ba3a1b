#!/usr/bin/env bash
# man_pages_test.sh SOURCE_DIR CLI [GUI] — the man pages and the parsers name the same options:
# every option attnscope-cli knows (its --list-options table) is in attnscope-cli.1, with a
# section for every command, and every option the man page names is known; likewise for the
# desktop program's options (attnscope --help) and attnscope.1.
set -u
src=$1 cli=$2 gui=${3:-}
fails=0
bad() { fails=$((fails + 1)); echo "FAIL $1"; }

# A man page's text without its comments; roff's "\-" is a hyphen.
page_text() { grep -v '^\.\\"' "$1" | sed 's/\\-/-/g'; }

# check PAGE KNOWN...: both directions.
check() {
  local page=$1; shift
  local -a known=("$@")
  local text; text=$(page_text "$page")
  for o in "${known[@]}"; do
    grep -qE -- "${o}([^a-z0-9-]|\$)" <<<"$text" || bad "$(basename "$page") does not name $o"
  done
  while read -r o; do
    printf '%s\n' "${known[@]}" | grep -qx -- "$o" || bad "$(basename "$page") names $o, which the program does not know"
  done < <(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$text" | sort -u)
}

table=$("$cli" --list-options) || { echo "FAIL $cli --list-options"; exit 1; }
[[ -n $table ]] || { echo "FAIL empty --list-options"; exit 1; }
cli_page=$src/packaging/man/attnscope-cli.1
mapfile -t cli_known < <({ awk '$1 == "option" { print $3 }' <<<"$table"; echo --version; } | sort -u)
check "$cli_page" "${cli_known[@]}"
# Each command's options are named in its own section (.SS COMMAND) or among the options every
# command shares (.SH OPTIONS).
section() {  # section HEADING-REGEX: the lines from the matching heading to the next one
  page_text "$cli_page" | awk -v re="$1" '/^\.S[SH] / { on = ($0 ~ re) } on'
}
common=$(section '^\.SH OPTIONS')
for c in $(awk '$1 == "command" { print $2 }' <<<"$table"); do
  own=$(section "^\\.SS \"?$c( |\"|\$)")
  [[ -n $own ]] || { bad "attnscope-cli.1 has no section for the command $c"; continue; }
  for o in $(awk -v c="$c" '$1 == "option" && $2 == c { print $3 }' <<<"$table"); do
    grep -qE -- "${o}([^a-z0-9-]|\$)" <<<"$own$common" || bad "attnscope-cli.1 does not name $o under $c"
  done
done
for section in "EXIT STATUS" ENVIRONMENT EXAMPLES; do
  grep -q "^\.SH \"\?$section" "$cli_page" || bad "attnscope-cli.1 has no $section section"
done

if [[ -n $gui ]]; then
  help=$(QT_QPA_PLATFORM=offscreen "$gui" --help 2>/dev/null) || bad "attnscope --help failed"
  mapfile -t gui_known < <(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
  [[ ${#gui_known[@]} -gt 5 ]] || bad "attnscope --help lists ${#gui_known[@]} options"
  check "$src/packaging/man/attnscope.1" "${gui_known[@]}"
fi

echo "man pages: ${#cli_known[@]} attnscope-cli options${gui:+, ${#gui_known[@]} attnscope options}; $fails failures"
[[ $fails -eq 0 ]]
