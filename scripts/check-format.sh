#!/bin/sh
# Fails when a tracked C/C++ source is not formatted as the repository's .clang-format says.
# Run by the CTest test `format.clang_format` (label `format`) and usable by hand:
#
#   scripts/check-format.sh            # check every tracked C/C++ file
#   scripts/check-format.sh --list     # only print the files that need formatting
#
# To fix a file: clang-format-19 -i <file>. CLANG_FORMAT overrides the binary.
#
# The checked files are what git tracks with a C or C++ extension. Not checked:
#   *.iig   DriverKit interface definitions: iig's own syntax on top of C++, which clang-format
#           does not know (it would rewrite the annotations); laid out by hand as Apple's are.
# Files excluded by path are listed in EXCLUDED below, each with its reason.
set -eu

CLANG_FORMAT=${CLANG_FORMAT:-clang-format-19}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# path<TAB>reason, one a line. Keep it short: only generated or third-party-shaped files.
EXCLUDED=''

list_only=0
if [ "${1:-}" = "--list" ]; then list_only=1; fi

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-format: not a git checkout, nothing to check" >&2
  exit 77  # CTest SKIP_RETURN_CODE
fi
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
  echo "check-format: $CLANG_FORMAT not found (set CLANG_FORMAT)" >&2
  exit 1
fi

files=$(mktemp)
git ls-files -- '*.c' '*.cc' '*.cpp' '*.cxx' '*.h' '*.hh' '*.hpp' '*.hxx' '*.m' '*.mm' |
  while IFS= read -r path; do
    [ -f "$path" ] || continue  # deleted in the working tree, not yet committed
    if [ -n "$EXCLUDED" ] &&
      printf '%s\n' "$EXCLUDED" | cut -f1 | grep -Fqx -- "$path"; then
      continue
    fi
    printf '%s\n' "$path"
  done >"$files"

# One clang-format run over all files (it reports each offending line as path:line:col).
report=$(mktemp)
trap 'rm -f "$files" "$report"' EXIT
status=0
tr '\n' '\0' <"$files" |
  xargs -0 "$CLANG_FORMAT" --dry-run -Werror --style=file >/dev/null 2>"$report" || status=$?
unformatted=$(sed -n 's/^\([^ :][^:]*\):[0-9][0-9]*:[0-9][0-9]*: .*/\1/p' "$report" | sort -u)

if [ "$list_only" = 1 ]; then
  [ -z "$unformatted" ] || printf '%s\n' "$unformatted"
  exit 0
fi
checked=$(wc -l <"$files" | tr -d ' ')
if [ -n "$unformatted" ]; then
  printf '%s\n' "$unformatted" | sed 's/^/not formatted: /'
  bad=$(printf '%s\n' "$unformatted" | wc -l | tr -d ' ')
  echo "check-format: $bad of $checked files need '$CLANG_FORMAT -i' (.clang-format)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  cat "$report" >&2
  echo "check-format: $CLANG_FORMAT failed" >&2
  exit 1
fi
echo "check-format: $checked files formatted"
