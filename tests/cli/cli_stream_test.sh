#!/usr/bin/env bash
# `fpgadext stream send/receive` and the stream rows of `info` (docs/streams.md), on the
# emulated xdma-stream board (channels 0-1 memory-mapped, 2 AXI-Stream).
#
#   tests/cli/cli_stream_test.sh path/to/fpgadext
source "$(dirname "$0")/lib.sh" "$@"
fpga_options=(--card-size 64M --board xdma-stream)

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

# bench's stream rows (docs/streams.md "Throughput"): continuous receive of generated packets
# and sends looped back by the board, each with its samples and a rate.
expect_exit 0 "bench stream rows" -- \
  fpga bench --paths stream-receive,stream-send --sizes 65536 --iterations 20 --min-seconds 0 --json
if "$py" -c '
import json, sys
p = json.load(open(sys.argv[1]))["paths"]
for path, direction in (("stream-receive", "read"), ("stream-send", "write")):
    r = p[path][direction]["65536"]
    assert r["samples"] >= 20 and r["bytes_per_second"] > 0, (path, r)
' "$tmp/out" 2>"$tmp/why"; then pass "bench has both stream rows"; else
  fail "bench stream rows: $(tail -1 "$tmp/why")"
fi

finish cli_stream_test
