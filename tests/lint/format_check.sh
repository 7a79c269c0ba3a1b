#!/usr/bin/env bash
# format_check.sh SOURCE_DIR — fails when a product file (engine/, app/, widgets/) is not
# formatted as .clang-format says. The style is clang-format 14's (Debian 12); another major
# version formats some constructs differently, so the check is skipped (exit 77) rather than
# failed there. Fix with: clang-format -i $(git ls-files 'engine/*' 'app/*' 'widgets/*' | grep -E '\.(cpp|h|cu)$')
set -u
src=$1
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $cf ]]; then
  echo "format-check: clang-format not found (scripts/setup-debian.sh installs it)"; exit 77
fi
major=$("$cf" --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [[ $major != 14 ]]; then
  echo "format-check: $cf is version $major; the style is checked with clang-format 14"; exit 77
fi
cd "$src"
mapfile -t files < <(find engine app widgets -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' \) | sort)
bad=()
for f in "${files[@]}"; do
  "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "format-check: ${#bad[@]} of ${#files[@]} files are not formatted:"
  printf '  %s\n' "${bad[@]}"
  echo "fix with: clang-format -i ${bad[*]}"
  exit 1
fi
echo "format-check: ${#files[@]} files formatted"
