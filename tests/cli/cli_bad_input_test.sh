#!/usr/bin/env bash
# Bad input to the fpgadext CLI (issue 12, item 8): each case ends with a clear error and the
# exit code the help text gives, and leaves the card and the user's files as they were.
#
#   tests/cli/cli_bad_input_test.sh path/to/fpgadext
source "$(dirname "$0")/lib.sh" "$@"
fpga_options=(--card-size 16M -q)

# expect_message WORD...: the last command's stderr names each WORD (the option, the bad value).
expect_message() {
  local w
  for w in "$@"; do
    grep -qF -- "$w" "$tmp/err" || { fail "the error does not name '$w': $(head -2 "$tmp/err")"; return; }
  done
  pass "the error names $*"
}

head -c 65536 /dev/urandom >"$tmp/data.bin"
expect_exit 0 "setup: write a file to the card" -- fpga write -a 0 -i "$tmp/data.bin"

# --- closed standard descriptors -----------------------------------------------------------
# (Reading from 0x8000: were the card file descriptor 1, the bytes would land at card offset 0.)
expect_exit 1 "read_with_stdout_closed_fails" -- bash -c '"$0" --card-size 16M -q read -a 0x8000 -s 4096 >&-' "$cli"
expect_message "standard output"
fpga read -a 0 -s 65536 -o "$tmp/after.bin" && cmp -s "$tmp/data.bin" "$tmp/after.bin" &&
  pass "read_with_stdout_closed_leaves_card_memory_intact" ||
  fail "read with stdout closed changed card memory"
expect_exit 1 "write_from_unreadable_stdin_is_a_usage_error" -- \
  bash -c '"$0" --card-size 16M -q write -a 0 -i - <"$1"' "$cli" "$tmp"
expect_message "standard input"
expect_exit 1 "write_from_closed_stdin_is_a_usage_error" -- \
  bash -c '"$0" --card-size 16M -q write -a 0 -i - <&-' "$cli"

# --- read --out: no partial file, an existing one untouched ---------------------------------
expect_exit 3 "failed_read_leaves_no_out_file" -- fpga read -a 16M -s 1 -o "$tmp/none.bin" --chunk 1
[ ! -e "$tmp/none.bin" ] && pass "no file after a refused read" || fail "a refused read left $tmp/none.bin"
expect_exit 3 "read_failing_after_start_leaves_no_out_file" -- \
  fpga read -a 0 -s 8192 --path inband -o "$tmp/partial.bin"
[ ! -e "$tmp/partial.bin" ] && pass "no partial file after a failed read" ||
  fail "a failed read left $tmp/partial.bin"
printf 'keep me' >"$tmp/keep.bin"
expect_exit 3 "failed_read_keeps_existing_out_file" -- \
  fpga read -a 0 -s 8192 --path inband -o "$tmp/keep.bin"
[ "$(cat "$tmp/keep.bin")" = "keep me" ] && pass "an existing file is untouched by a failed read" ||
  fail "a failed read changed an existing --out file"
ls -A "$tmp" | grep -q '^\.keep\.bin\.' && fail "a temporary file was left behind" ||
  pass "no temporary file left behind"
expect_exit 0 "read_replaces_existing_out_file_on_success" -- fpga read -a 0 -s 65536 -o "$tmp/keep.bin"
cmp -s "$tmp/data.bin" "$tmp/keep.bin" && pass "the replaced file holds the card bytes" ||
  fail "the --out file does not hold the card bytes"
expect_exit 0 "read_to_dev_null" -- fpga read -a 0 -s 4096 -o /dev/null
expect_exit 1 "read_out_to_the_card_file_is_refused" -- fpga read -a 0 -s 4096 -o "$FPGADEXT_CARD_FILE"
expect_message "--out" "$FPGADEXT_CARD_FILE"

# --- card file and size ----------------------------------------------------------------------
expect_exit 1 "card_size_past_any_file_is_a_usage_error" -- "$cli" --card-size 0xffffffffffffffff info
expect_message "--card-size"
expect_exit 1 "card_size_1024T_is_a_usage_error" -- "$cli" --card-size 1024T info
expect_message "--card-size"
expect_exit 1 "card_file_dev_null_is_a_usage_error" -- "$cli" --card-file /dev/null info
expect_message "--card-file" "/dev/null"
mkfifo "$tmp/fifo"
expect_exit 1 "card_file_fifo_is_a_usage_error" -- "$cli" --card-file "$tmp/fifo" info
expect_message "--card-file"
expect_exit 1 "bram_huge_card_size_is_a_usage_error" -- \
  "$cli" --board bram --card-file "$tmp/bram.bin" --card-size 0x8000000000000001 info
expect_message "--card-size"

# --- write -i -------------------------------------------------------------------------------
expect_exit 1 "write_from_a_fifo_without_writer_is_refused" -- fpga write -a 0 -i "$tmp/fifo"
expect_message "--file" "$tmp/fifo"

# --- bench: every bad option before the run ------------------------------------------------
mkdir "$tmp/ro" && chmod 0555 "$tmp/ro"
if [ -w "$tmp/ro" ]; then
  pass "bench_unwritable_csv: skipped (running as a user who writes anywhere)"
  bad_csv=$tmp/no-such-dir/r.csv
else
  bad_csv=$tmp/ro/r.csv
fi
expect_exit 1 "bench_unwritable_csv_is_refused" -- fpga bench --sizes 4096 --paths inband --csv "$bad_csv"
expect_message "--csv"
expect_exit 1 "bench_missing_plots_directory_is_refused" -- \
  fpga bench --sizes 4096 --paths inband --plots "$tmp/no-such-dir"
expect_message "--plots"
expect_exit 1 "bench_plots_on_a_file_is_refused" -- \
  fpga bench --sizes 4096 --paths inband --plots "$tmp/data.bin"
expect_exit 1 "bench_unknown_path_is_refused" -- fpga bench --sizes 4096 --paths warp-drive
expect_message "--paths" "warp-drive"
expect_exit 1 "bench_wrapping_addr_is_refused" -- fpga bench --sizes 4096 --paths inband -a 0xfffffffffffff000
expect_message "--addr"
expect_exit 1 "bench_size_zero_is_refused" -- fpga bench --sizes 0 --paths inband
expect_message "--sizes"
expect_exit 1 "bench_negative_min_seconds_is_refused" -- fpga bench --sizes 4096 --paths inband --min-seconds -1
expect_message "--min-seconds"

echo
finish cli_bad_input_test
