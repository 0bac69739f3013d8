#!/usr/bin/env bash
# Installs what fpgadext needs to build and test on Debian 12, from Debian's packages only.
# Safe to run again: apt-get is called only when something is missing.
set -euo pipefail

packages=(
  cmake ninja-build python3 pkg-config
  clang-19 libclang-rt-19-dev clang-format-19   # the compiler DriverKit is built with, and its sanitizers
  libblocksruntime-dev                          # Apple blocks (IODispatchQueue::DispatchAsync)
  libplist-dev                                  # Info.plist parsing for dext matching
  python3-clang-19                              # libclang for the header-manifest checker (tests/headers)
  libc++-19-dev libc++abi-19-dev                # libc++ headers for the darwin check (tests/darwin)
  libgtest-dev libgmock-dev                     # tests
  libcli11-dev libfmt-dev nlohmann-json3-dev    # the fpgadext CLI and benchmark reports
  valgrind                                      # instruction counts in bench/
  python3-dev pybind11-dev                      # the Python module (python/)
  python3-numpy python3-pytest                  # its tests (tests/python)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
