#!/usr/bin/env bash
# Long fuzz runs (docs/reliability.md): scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   TARGET   user_client | ring_validator | plist_match | cli_number (tests/fuzz/<target>_fuzzer.cpp)
#   SECONDS  how long to fuzz
# Builds what it needs in its own build (ASan + UBSan, optimised, every library instrumented for
# coverage: FPGADEXT_SANITIZE=address,undefined,fuzzer-no-link), fuzzes at the lowest CPU
# priority in one process, starting from the seed corpus in the repository, and prints the
# figures docs/reliability.md records: executions, executions per second, coverage (cov: edges,
# ft: features), corpus size, crashes. The corpus it grows stays outside the repository.
#
# Environment: FPGADEXT_FUZZ_BUILD (build directory, default build/fuzz), FPGADEXT_FUZZ_CORPUS
# (working corpus, default <build>/corpus/<target>), FPGADEXT_EMU_PROFILE (the emulated Mac's
# hardware profile, for user_client), FPGADEXT_FUZZ_NICE (the fuzzer's nice level, default 19; 0 runs
# it at normal priority), TMPDIR (default /dev/shm when writable).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 1
fi
target=$1
seconds=$2
shift 2
if [ ! -f "tests/fuzz/${target}_fuzzer.cpp" ]; then
  echo "fuzz: no target '$target' (tests/fuzz/*_fuzzer.cpp)" >&2
  exit 1
fi

build=${FPGADEXT_FUZZ_BUILD:-build/fuzz}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPGADEXT_SANITIZE=address,undefined,fuzzer-no-link \
    "${launcher[@]}" >/dev/null
fi
nice -n 19 cmake --build "$build" --target "fuzz_$target"

corpus=${FPGADEXT_FUZZ_CORPUS:-$build/corpus/$target}
# plist_match writes a bundle for every input: on a disk file system each rewrite frees and
# discards blocks synchronously (20x slower than tmpfs here), so temporary files go to memory.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$artifacts"
options=(-max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1
         -artifact_prefix="$artifacts/")
[ -f "tests/fuzz/$target.dict" ] && options+=(-dict="tests/fuzz/$target.dict")
log=$build/fuzz-$target.log
echo "fuzz: $target for ${seconds} s; corpus $corpus, log $log"
status=0
nice -n "${FPGADEXT_FUZZ_NICE:-19}" "$build/tests/fuzz/fuzz_$target" "${options[@]}" "$@" "$corpus" "tests/fuzz/corpus/$target" \
  >"$log" 2>&1 || status=$?

# The last status line ("#N ... cov: C ft: F corp: U/S ... exec/s: E") and the final stats.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
field() { sed -n "s/.* $1: \{0,1\}\([0-9][0-9]*\).*/\1/p" <<<"$last"; }
stat() { sed -n "s/^stat::$1: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
# crash-, leak-, timeout- and oom- files are failures; slow- units (over 10 s) are not.
crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
slow=$(find "$artifacts" -type f -name 'slow-unit-*' | wc -l)
echo "target:      $target"
echo "executions:  $(stat number_of_executed_units)"
echo "exec/s:      $(stat average_exec_per_sec)"
echo "coverage:    cov $(field cov) ft $(field ft)"
echo "corpus:      $(ls "$corpus" | wc -l) files ($(du -sh "$corpus" | cut -f1))"
echo "peak RSS:    $(stat peak_rss_mb) MB"
echo "crashes:     $crashes (in $artifacts; slow units: $slow)"
if [ "$status" -ne 0 ]; then
  echo "fuzz: the fuzzer stopped with status $status; the end of $log:" >&2
  tail -n 40 "$log" >&2
fi
exit "$status"
