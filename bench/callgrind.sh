#!/usr/bin/env bash
# Instruction counts per operation of fpgadext's main paths on the emulated board, with
# valgrind --tool=callgrind (docs/performance.md "Instruction counts"). Counts do not drift with
# machine load, unlike times.
#
#   bench/callgrind.sh [build-dir]        (default build/callgrind; needs valgrind, python3)
#
# valgrind 3.19 cannot read clang-19's default DWARF 5 debug info ("Possibly corrupted
# debuginfo file. Giving up"), so build a tree with DWARF 4 first:
#   cmake -S . -B build/callgrind -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
#     -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19 \
#     -DCMAKE_CXX_FLAGS=-gdwarf-4 -DCMAKE_C_FLAGS=-gdwarf-4
#   cmake --build build/callgrind --target fpgadext-cli FpgaDext
#
# Runs `fpgadext bench` under callgrind once per path group with a fixed number of operations
# (--iterations N --min-seconds 0); the bench dumps callgrind stats after each measurement
# (CALLGRIND_DUMP_STATS_AT), and bench/callgrind_ops.py turns the dumps into Ir per operation,
# spin loops left out, the part of it in our own code, and IOConnectCallMethod calls per
# operation.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/callgrind}
cli=$build/tools/fpgadext/fpgadext
ops=${OPS:-200}
out=$(mktemp -d /tmp/fpgadext-callgrind.XXXXXX)
export FPGADEXT_CARD_FILE=${FPGADEXT_CARD_FILE:-$out/card.bin}

run() {  # run NAME PATHS SIZES
  valgrind --tool=callgrind --dump-instr=no --separate-threads=no \
    --callgrind-out-file="$out/$1.%p" \
    "$cli" bench --paths "$2" --sizes "$3" --iterations "$ops" --min-seconds 0 \
    >"$out/$1.log" 2>&1
}

run inband inband 8,4096
run client client-memory 4096,1M
run registered registered 4096
run registers register-mapped,register-call 4096
run ring ring,ring-paused,ring-paused-1ms 8,4096
# ops.csv: our code's instructions per operation for `fpgadext bench --cpu-ir` (the CPU term
# of the predicted column, docs/performance.md "Host-cost model").
python3 "$here/callgrind_ops.py" --csv "$out/ops.csv" $(ls "$out"/*.[0-9]* | sort -t. -k2,2n -k3,3n)
echo "(dumps in $out; our code's instructions per operation: $out/ops.csv)"
