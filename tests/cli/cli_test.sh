#!/usr/bin/env bash
# The fpgadext CLI as scripts use it: every command is a separate process, so data written by
# one must be read back by the next through the card file of the emulated board.
#
#   tests/cli/cli_test.sh path/to/fpgadext
source "$(dirname "$0")/lib.sh" "$@"
fpga_options=(--card-size 256M)
card_size=$((256 << 20))

# --- list, info --------------------------------------------------------------------------------
expect_exit 0 "list" -- fpga list
grep -q "10ee:9034" "$tmp/out" || fail "list shows the XDMA board 10ee:9034"
expect_exit 0 "list --json" -- fpga list --json
json_check "list --json: one board" 'j["count"] == 1 and j["boards"][0]["vendor_id"] == 0x10ee'
expect_exit 0 "info" -- fpga info
expect_exit 0 "info --json" -- fpga info --json
json_check "info --json: sizes are numbers" \
  "j['card_memory_size'] == $card_size and j['dma_engine'] is True and \
   isinstance(j['bars'][0]['size'], int) and j['host']['kind'] == 'emulated'"
user_bar=$("${PYTHON:-python3}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["user_bar"])' "$tmp/out")

# --- registers ---------------------------------------------------------------------------------
expect_exit 0 "reg read of the user BAR ID register" -- fpga reg read --bar "$user_bar" --offset 0
[ "$(cat "$tmp/out")" = "0xfd0e0001" ] || fail "user BAR ID reads $(cat "$tmp/out"), expected 0xfd0e0001"
expect_exit 0 "reg read --json (default BAR: the user BAR)" -- fpga reg read --offset 0x0 --json
json_check "reg read --json value" "j['value'] == 0xFD0E0001 and j['bar'] == $user_bar and j['width'] == 32"
expect_exit 0 "reg write of a scratch register" -- fpga reg write --offset 0x10 --value 0x12345678
expect_exit 0 "reg read 64-bit" -- fpga reg read --offset 0x40 --width 64 --json
json_check "64-bit read of the card memory size registers" "j['value'] == $card_size"
expect_exit 3 "reg write to the DMA BAR is refused" -- \
  fpga reg write --bar "$(( user_bar == 0 ? 1 : 0 ))" --offset 0 --value 1

# --- write a file at an odd address, read it back in another process ---------------------------
head -c 1048583 /dev/urandom >"$tmp/in.bin"
expect_exit 0 "write 1048583 bytes at 0x1003" -- fpga write --addr 0x1003 --file "$tmp/in.bin"
expect_exit 0 "read them back to a file" -- \
  fpga read --addr 0x1003 --size 1048583 --out "$tmp/back.bin"
cmp "$tmp/in.bin" "$tmp/back.bin" && pass "read-back file is identical" || fail "read-back differs"
fpga read --addr 0x1003 --size 1048583 2>/dev/null | cmp - "$tmp/in.bin" &&
  pass "read to a pipe is identical" || fail "read to a pipe differs"
expect_exit 0 "verify --no-write sees the file on the card" -- \
  fpga verify --addr 0x1003 --file "$tmp/in.bin" --no-write
expect_exit 4 "verify --no-write one byte off finds a mismatch" -- \
  fpga verify --addr 0x1004 --file "$tmp/in.bin" --no-write
expect_exit 4 "verify --json mismatch" -- \
  fpga verify --addr 0x1004 --file "$tmp/in.bin" --no-write --json
json_check "verify --json reports the first mismatch" \
  "j['match'] is False and j['first_mismatch']['address'] == 0x1004 + j['first_mismatch']['offset'] \
   and j['mismatched_bytes'] > 0"

# Chunked transfers with a misaligned app buffer, each chunk boundary inside a page.
expect_exit 0 "write in 4097-byte chunks from a misaligned buffer" -- \
  fpga write --addr 0x2000001 --file "$tmp/in.bin" --chunk 4097 --buffer-offset 3 --quiet
expect_exit 0 "read in 65535-byte chunks" -- \
  fpga read --addr 0x2000001 --size 1048583 --chunk 65535 --buffer-offset 4095 --out "$tmp/back2.bin"
cmp "$tmp/in.bin" "$tmp/back2.bin" && pass "chunked read-back identical" || fail "chunked read-back differs"

# Standard input, size suffixes, 0 bytes.
head -c 4097 "$tmp/in.bin" | fpga write --addr 7 --file - --quiet &&
  fpga read --addr 7 --size 4097 | cmp - <(head -c 4097 "$tmp/in.bin") &&
  pass "write from stdin" || fail "write from stdin"
expect_exit 0 "write 0 bytes" -- fpga write --addr 0x10 --pattern 1 --size 0
expect_exit 0 "read 0 bytes" -- fpga read --addr 0x10 --size 0 --out "$tmp/empty.bin"
[ -f "$tmp/empty.bin" ] && [ ! -s "$tmp/empty.bin" ] || fail "0-byte read makes an empty file"

# --- patterns and verify -----------------------------------------------------------------------
for size in 1 4096 4097 1M+7; do
  n=$size
  [ "$size" = 1M+7 ] && n=1048583
  expect_exit 0 "verify pattern, $size bytes at 0x3003" -- fpga verify --addr 0x3003 --pattern 42 --size "$n"
done
expect_exit 0 "write --pattern 9 --size 64K" -- fpga write --addr 0x100000 --pattern 9 --size 64K
expect_exit 0 "verify --no-write of that pattern" -- \
  fpga verify --addr 0x100000 --pattern 9 --size 0x10000 --no-write
expect_exit 4 "verify --no-write of another seed" -- \
  fpga verify --addr 0x100000 --pattern 10 --size 65536 --no-write

# --- JSON of transfers -------------------------------------------------------------------------
expect_exit 0 "write --json" -- fpga write --addr 0x1003 --file "$tmp/in.bin" --json
json_check "write --json" "j['operation'] == 'write' and j['size'] == 1048583 and j['address'] == 0x1003"
expect_exit 0 "read --json --out" -- fpga read --addr 0x1003 --size 1048583 --out "$tmp/b3.bin" --json
json_check "read --json" "j['size'] == 1048583 and j['out'].endswith('b3.bin')"
expect_exit 0 "read --json without --out carries hex" -- fpga read --addr 0x1003 --size 16 --json
json_check "read --json data" \
  "bytes.fromhex(j['data']) == open('$tmp/in.bin', 'rb').read(16)"
expect_exit 0 "verify --json" -- fpga verify --addr 0x1003 --pattern 5 --size 4097 --json
json_check "verify --json match" "j['match'] is True and j['mismatched_bytes'] == 0"

# --- exit codes --------------------------------------------------------------------------------
expect_exit 2 "bad device index" -- fpga info --device 5
expect_exit 2 "bad device index --json" -- fpga read --device 1 --addr 0 --size 1 --json
json_check "no-device error JSON" \
  "j['error']['code'] == 'kIOReturnNotFound' and j['error']['value'] == 0xe00002f0"
expect_exit 3 "address past the card" -- fpga read --addr 256M --size 1 --out "$tmp/x"
[ ! -e "$tmp/x" ] || fail "a refused read leaves no output file"
expect_exit 3 "range crossing the end of the card" -- fpga write --addr 0xFFFFFFF --pattern 1 --size 2 --json
json_check "out-of-range error JSON" \
  "j['error']['code'] == 'kIOReturnOverrun' and isinstance(j['error']['value'], int)"
expect_exit 0 "the last byte of the card" -- fpga write --addr 0xFFFFFFF --pattern 1 --size 1
expect_exit 1 "unknown option" -- fpga read --addr 0 --size 1 --bogus
expect_exit 1 "bad number" -- fpga read --addr 12Q --size 1
expect_exit 1 "hex with a suffix" -- fpga read --addr 0x10K --size 1
expect_exit 1 "missing --size" -- fpga read --addr 0
expect_exit 1 "no command" -- fpga
expect_exit 1 "write without a source" -- fpga write --addr 0
expect_exit 1 "--file and --pattern together" -- fpga write --addr 0 --file "$tmp/in.bin" --pattern 1
expect_exit 1 "missing input file" -- fpga write --addr 0 --file "$tmp/does-not-exist"
expect_exit 1 "bad width" -- fpga reg read --offset 0 --width 16
expect_exit 1 "bad argument --json" -- fpga read --addr nope --size 1 --json
json_check "usage error JSON" "j['error']['code'] == 'usage' and j['error']['exit_code'] == 1"
expect_exit 0 "--help" -- fpga --help
grep -q "Exit codes" "$tmp/out" || fail "--help documents the exit codes"

# Binary to a terminal is refused (needs script(1) for a pseudo-terminal).
if command -v script >/dev/null; then
  script -qec "$cli --card-size 256M read --addr 0 --size 16" /dev/null >"$tmp/tty" 2>&1
  rc=$?
  [ $rc -eq 1 ] && grep -q "terminal" "$tmp/tty" && pass "binary to a terminal refused (exit 1)" ||
    fail "binary to a terminal: exit $rc: $(head -2 "$tmp/tty")"
fi

# --- the PIO board -----------------------------------------------------------------------------
export FPGADEXT_CARD_FILE=$tmp/bram.bin
expect_exit 0 "bram: info" -- "$cli" --board bram info --json
json_check "bram: no DMA engine, 1 MiB" "j['dma_engine'] is False and j['card_memory_size'] == 1 << 20"
head -c 70001 /dev/urandom >"$tmp/small.bin"
expect_exit 0 "bram: write 70001 bytes at 0x11" -- "$cli" --board bram write --addr 0x11 --file "$tmp/small.bin"
"$cli" --board bram read --addr 0x11 --size 70001 | cmp - "$tmp/small.bin" &&
  pass "bram: read back in another process" || fail "bram: read-back differs"
expect_exit 0 "bram: verify" -- "$cli" --board bram verify --addr 0x3 --pattern 3 --size 4097
expect_exit 3 "bram: past the window" -- "$cli" --board bram read --addr 1M --size 1 --out "$tmp/x"

# --- entitlements (docs/emulation-user-client.md) ---------------------------------------------
# The product dext allows any client; a copy of its bundle without its entitlements file does
# not, and then only an app entitled with userclient-access for org.fpgadext.driver may open it.
export FPGADEXT_CARD_FILE=$tmp/card.bin
fpga info --json >"$tmp/out" 2>/dev/null
bundle=$("${PYTHON:-python3}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"]["dext_bundle"])' "$tmp/out")
mkdir -p "$tmp/unentitled.dext"
cp "$bundle/Info.plist" "$tmp/unentitled.dext/"
ln -s "$bundle/FpgaDext" "$tmp/unentitled.dext/FpgaDext"
expect_exit 0 "an unsigned app opens the dext that allows any client" -- \
  env FPGADEXT_APP_ENTITLEMENTS=none "$cli" --card-size 256M info
expect_exit 0 "the entitled app (the default) opens a dext without allow-any" -- \
  env FPGADEXT_DEXT_BUNDLE="$tmp/unentitled.dext" "$cli" --card-size 256M info
expect_exit 3 "an unsigned app is refused by a dext without allow-any" -- \
  env FPGADEXT_DEXT_BUNDLE="$tmp/unentitled.dext" FPGADEXT_APP_ENTITLEMENTS=none "$cli" --card-size 256M info
grep -q "userclient-access" "$tmp/err" && grep -q '"org.fpgadext.driver"' "$tmp/err" &&
  pass "the refusal names the entitlement and the bundle ID" ||
  fail "the refusal does not name the entitlement and bundle ID: $(head -2 "$tmp/err")"
cat >"$tmp/app.entitlements" <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>com.apple.developer.driverkit.userclient-access</key>
<array><string>org.fpgadext.driver</string></array>
</dict></plist>
PLIST
expect_exit 0 "an app whose entitlements file lists the dext opens it" -- \
  env FPGADEXT_DEXT_BUNDLE="$tmp/unentitled.dext" FPGADEXT_APP_ENTITLEMENTS="$tmp/app.entitlements" \
  "$cli" --card-size 256M info
expect_exit 3 "an unreadable entitlements file is an error" -- \
  env FPGADEXT_APP_ENTITLEMENTS="$tmp/missing.entitlements" "$cli" --card-size 256M info

# The host-cost model (docs/performance.md "Host-cost model"): accounting, not timing. A
# registered 4 KiB read is one driver call per operation, so mac-m2 charges exactly its 15 µs
# figure per operation, and the prediction includes it; "none" charges nothing. mac-m2 models
# 16 KiB pages: refused with the intel profile.
# bench_check DESCRIPTION PYTHON-EXPRESSION: on `r`, the registered 4 KiB read of the last
# bench --json (a multi-line object).
bench_check() {
  if "${PYTHON:-python3}" -c '
import json, sys
r = json.load(open(sys.argv[1]))["paths"]["registered"]["read"]["4096"]
assert eval(sys.argv[2]), "condition false: " + sys.argv[2] + " on " + json.dumps(r)
' "$tmp/out" "$2" 2>"$tmp/jsonerr"; then pass "$1"; else
    fail "$1: $(tail -1 "$tmp/jsonerr")"
  fi
}
if [ "${FPGADEXT_EMU_PROFILE:-apple-silicon}" = apple-silicon ]; then
  expect_exit 0 "bench --host-timing mac-m2 --json" -- \
    fpga --host-timing mac-m2 bench --paths registered --sizes 4096 --iterations 20 \
    --min-seconds 0 --json
  bench_check "mac-m2: a registered 4 KiB read is charged one driver call (15 us) per operation" \
    'r["host_model_ns"] == 15000 and r["predicted_ns"] >= 15000'
  expect_exit 0 "bench --host-timing none --json" -- \
    fpga bench --paths registered --sizes 4096 --iterations 20 --min-seconds 0 --json
  bench_check "none: nothing modelled; predicted is our CPU work only (not given: 0)" \
    'r["host_model_ns"] == 0 and r["link_model_ns"] == 0 and r["predicted_ns"] == 0'
else
  expect_exit 3 "mac-m2 refuses 4 KiB pages" -- fpga --host-timing mac-m2 info
fi

# User interrupts: the board's user logic asserts lines (--raise), the command waits for them.
expect_exit 0 "events: lines 2 and 11 raised 3 times each, 6 events seen" -- \
  fpga events --raise 2,11 --times 3 --count 6 --timeout 30 --json
json_check "events --json counts every event once, per line" \
  "j['seen'] == 6 and j['lines'] == 16 and sum(e['events'] for e in j['events'] if e['line'] == 2) == 3 and sum(e['events'] for e in j['events'] if e['line'] == 11) == 3"
expect_exit 3 "events: nothing raised, the timeout ends it" -- fpga events --timeout 0.2 --quiet

echo
finish cli_test
