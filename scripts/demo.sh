#!/usr/bin/env bash
# Installs what is missing, builds the fpgadext CLI and shows it working against the emulated
# board (an XDMA board model whose card memory is a temporary file, driven by the real dext
# through the real library): list, info, a register read, then for several sizes a write from a
# file, a read-back in another process, a comparison, and a verify. Ends with the ≤ 4096-byte
# output case of the IOKit→DriverKit question (docs/porting-from-iokit.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target fpgadext-cli fpgadext-emu-demo

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FPGADEXT_CARD_FILE=$tmp/card0.bin  # the board's 1 GiB card memory (sparse)
cli=./build/default/tools/fpgadext/fpgadext

run() {
  printf '\n$ fpgadext %s\n' "$*"
  "$cli" "$@"
}

echo "== The fpgadext CLI on the emulated Mac (card memory: $FPGADEXT_CARD_FILE)"
run list
run info
run reg read --offset 0x0   # user BAR ID register: 0xfd0e0001

addr=0x1003  # an odd card address, on purpose
for size in 1 4097 1048583 64M; do
  echo
  echo "== $size bytes at card $addr"
  head -c "$(numfmt --from=iec "$size")" /dev/urandom >"$tmp/in.bin"
  run write --addr "$addr" --file "$tmp/in.bin"
  run read --addr "$addr" --size "$size" --out "$tmp/out.bin"
  printf '$ cmp in.bin out.bin\n'
  cmp "$tmp/in.bin" "$tmp/out.bin" && echo "identical"
  run verify --addr "$addr" --pattern 7 --size "$size"
done

echo
echo "== The JSON a script sees, and an exit code it can trust"
run --json verify --addr 0x10 --pattern 1 --size 4K
set +e
run --json read --addr 2G --size 1 --out "$tmp/x"
echo "exit code $? (3: the driver refused: kIOReturnOverrun)"
set -e

echo
echo "== IOKit→DriverKit: what a user client sees of outputs of ≤ 4096 bytes (in-band) and more"
echo "   (docs/porting-from-iokit.md)"
exec ./build/default/tools/emu-demo/fpgadext-emu-demo
