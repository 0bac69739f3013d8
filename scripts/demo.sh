#!/usr/bin/env bash
# Installs what is missing, builds the fpgadext CLI and shows it working against the emulated
# board (an XDMA board model whose card memory is a temporary file, driven by the real dext
# through the real library): list, info, a register read, then for several sizes a write from a
# file, a read-back in another process, a comparison, and a verify. Ends with the ≤ 4096-byte
# output case of the IOKit→DriverKit question (docs/porting-from-iokit.md), after the same board
# from Python (docs/python.md): a NumPy array written to the card and read back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target fpgadext-cli fpgadext-emu-demo
python_module=0
if cmake --build --preset default -j "$(nproc)" --target fpgadext_python >/dev/null 2>&1; then
  python_module=1
fi

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
echo "== The same board from Python (docs/python.md)"
if ((python_module)); then
  # The interpreter the module was built for (Debian's python3, which has python3-numpy).
  python=$(sed -n 's/^FPGADEXT_PYTHON_INTERPRETER:INTERNAL=//p' build/default/CMakeCache.txt)
  printf '$ python3 -c "import fpgadext; ..."\n'
  PYTHONPATH=build/default/python "${python:-python3}" -c "
import fpgadext, numpy as np
print(fpgadext.list())
with fpgadext.open() as dev:
    a = np.random.default_rng(1).random(1 << 20)       # 8 MiB of float64
    dev.write(0x1003, a)                               # the card reads the array's own pages
    b = np.empty_like(a)
    dev.read_into(0x1003, b)                           # and writes into b's
    print('8 MiB of float64 at card 0x1003, read back:', 'identical' if (a == b).all() else 'DIFFERENT')
    print('user BAR register 0x0: %#x' % dev.reg32[dev.info.user_bar, 0])
    print('card 0x10, as fpgadext verify --pattern 1 left it:', dev.read(0x10, 8).hex(' '))
"
  printf '$ fpgadext read --addr 0x10 --size 8 | od -An -tx1\n'
  "$cli" read --addr 0x10 --size 8 --force --quiet | od -An -tx1
else
  echo "(the Python module was not built: scripts/setup.sh installs pybind11-dev and python3-dev)"
fi

echo
echo "== IOKit→DriverKit: what a user client sees of outputs of ≤ 4096 bytes (in-band) and more"
echo "   (docs/porting-from-iokit.md)"
exec ./build/default/tools/emu-demo/fpgadext-emu-demo
