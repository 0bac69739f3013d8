# What every CLI test script shares (sourced, not run):
#
#   source "$(dirname "$0")/lib.sh" "$@"      # $1: path/to/fpgadext
#   fpga_options=(--card-size 256M)          # what `fpga` adds before the command
#
# It sets `cli`, a private `tmp` directory (removed at exit) with the emulated card's file in it,
# and the helpers below; the script ends with `finish NAME`.
set -uo pipefail

cli=${1:?usage: $(basename "$0") path/to/fpgadext}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FPGADEXT_CARD_FILE=$tmp/card.bin
py=${PYTHON:-python3}
failures=0
fpga_options=()

fpga() { "$cli" "${fpga_options[@]}" "$@"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION -- COMMAND...: runs the command (stdout to $tmp/out, stderr to
# $tmp/err; at most 60 s, so a hang fails instead of holding the test) and checks its exit code.
# COMMAND may be `fpga …`.
expect_exit() {
  local want=$1 what=$2
  shift 3
  [ "$1" = fpga ] && { shift; set -- "$cli" "${fpga_options[@]}" "$@"; }
  timeout -k 5 60 "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $want"
    sed 's/^/    stdout: /' "$tmp/out" | head -5
    sed 's/^/    stderr: /' "$tmp/err" | head -5
  fi
}

# json_check DESCRIPTION PYTHON-EXPRESSION: the last command's stdout is one line holding one
# JSON object `j` for which the expression holds.
json_check() {
  if "$py" -c '
import json, sys
text = open(sys.argv[1]).read()
j = json.loads(text)
assert text.count("\n") == 1 and text.endswith("\n"), "not one line"
assert eval(sys.argv[2]), "condition false: " + sys.argv[2] + " on " + text[:300]
' "$tmp/out" "$2" 2>"$tmp/jsonerr"; then pass "$1"; else
    fail "$1: $(tail -1 "$tmp/jsonerr")"
  fi
}

# finish NAME: the summary line and the exit code (1 when anything failed).
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures failure(s)"
    exit 1
  fi
  echo "$1: all passed"
  exit 0
}
