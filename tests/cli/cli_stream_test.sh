#!/usr/bin/env bash
# `fpgadext stream send/receive` and the stream rows of `info` (docs/streams.md), on the
# emulated xdma-stream board (channels 0-1 memory-mapped, 2 AXI-Stream).
#
#   tests/cli/cli_stream_test.sh path/to/fpgadext
set -uo pipefail

cli=${1:?usage: cli_stream_test.sh path/to/fpgadext}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FPGADEXT_CARD_FILE=$tmp/card.bin
py=${PYTHON:-python3}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
fpga() { "$cli" --card-size 64M --board xdma-stream "$@"; }

# expect_exit CODE DESCRIPTION -- COMMAND...
expect_exit() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $want"
    sed 's/^/    stdout: /' "$tmp/out" | head -5
    sed 's/^/    stderr: /' "$tmp/err" | head -5
  fi
}
# json_check DESCRIPTION EXPRESSION: the last stdout is one JSON object j for which it holds.
json_check() {
  if "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert eval(sys.argv[2]), open(sys.argv[1]).read()' \
    "$tmp/out" "$2" 2>"$tmp/why"; then pass "$1"; else fail "$1: $(tail -1 "$tmp/why")"; fi
}

expect_exit 0 "info on a stream board" -- fpga --json info
json_check "info lists stream channel 2 both ways" \
  'j["h2c_stream_channels"] == 4 and j["c2h_stream_channels"] == 4 and j["h2c_channels"] == 2'
expect_exit 0 "info text" -- fpga info
grep -q "stream       C2H channel 2 (AXI-Stream)" "$tmp/out" && pass "info text has the stream rows" ||
  fail "info text lacks the stream rows"

# The generator's packets, every byte and every boundary (models::StreamPatternByte).
expect_exit 0 "receive three generated packets" -- \
  fpga --json stream receive --out "$tmp/rx.bin" --packets 3 --generate 100,5000,70000 --slot-size 4096
json_check "receive reports 3 packets" 'j["packets"] == 3 and j["bytes"] == 75100 and j["errors"] == 0'
if "$py" - "$tmp/rx.bin" <<'PY'; then pass "received bytes are the generator's"; else fail "received bytes differ"; fi
import sys
data = open(sys.argv[1], "rb").read()
pos = 0
for n, size in enumerate([100, 5000, 70000]):
    for k in range(size):
        assert data[pos + k] == (n * 0x9D + k + (k >> 8) * 0x3B) & 0xFF, (n, k)
    pos += size
assert pos == len(data), len(data)
PY

head -c 100000 /dev/urandom >"$tmp/tx.bin"
expect_exit 0 "send a file as packets" -- fpga --json stream send --file "$tmp/tx.bin" --packet-size 30000
json_check "send reports 4 packets" 'j["packets"] == 4 and j["bytes"] == 100000 and j["channel"] == 2'

: >"$tmp/empty.bin"
expect_exit 1 "an empty file is no packet" -- fpga stream send --file "$tmp/empty.bin"
expect_exit 3 "nothing to receive times out" -- \
  fpga stream receive --out "$tmp/none.bin" --timeout-ms 200
expect_exit 3 "a board without stream channels refuses" -- \
  "$cli" --card-size 64M stream receive --out "$tmp/none.bin" --timeout-ms 200

[ "$failures" -eq 0 ] && echo "all passed" || echo "$failures failed"
exit $((failures != 0))
