#!/usr/bin/env bash
# The installable package (label install): `cmake --install` into a temporary prefix, the prefix
# moved elsewhere (everything must be relocatable), then
#   - the installed fpgadext CLI reports the project version, and (Linux) finds the installed
#     FpgaDext bundle by itself (no FPGADEXT_DEXT_BUNDLE), writes and verifies data;
#   - tests/install/consumer (a C++ program, and examples/readwrite_app unchanged) is built out
#     of tree with find_package(fpgadext CONFIG), shared and static, and run;
#   - the same sources are built with pkg-config alone and run.
# On Linux the programs link the installed libfpgadext_emulated.so (fpgadext::emulated,
# fpgadext-emulated.pc) to see the emulated board.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR C_COMPILER CXX_COMPILER
set -euo pipefail
build=$1 src=$2 cc=$3 cxx=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }

step "cmake --install $build --prefix <tmp>/staging"
cmake --install "$build" --prefix "$tmp/staging" >/dev/null
mv "$tmp/staging" "$tmp/prefix"  # relocated: nothing may point at the first prefix
prefix=$tmp/prefix
for f in include/fpgadext/fpgadext.hpp include/fpgadext/fpgadext.h lib/libfpgadext.a \
         lib/libfpgadext.so bin/fpgadext lib/cmake/fpgadext/fpgadextConfig.cmake \
         lib/cmake/fpgadext/fpgadextConfigVersion.cmake lib/pkgconfig/fpgadext.pc; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
if grep -rl --binary-files=text "$tmp/staging" "$prefix" >/dev/null; then
  echo "installed files name the install prefix: $(grep -rl --binary-files=text "$tmp/staging" "$prefix")"
  exit 1
fi

export FPGADEXT_CARD_FILE=$tmp/card0.bin
version=${FPGADEXT_EXPECTED_VERSION:?CTest passes the project version}
step "the installed CLI, the package and the library report version $version"
[ "$("$prefix/bin/fpgadext" --version)" = "fpgadext $version" ] ||
  { echo "installed fpgadext --version: $("$prefix/bin/fpgadext" --version)"; exit 1; }
grep -q "PACKAGE_VERSION \"$version\"" "$prefix/lib/cmake/fpgadext/fpgadextConfigVersion.cmake" ||
  { echo "fpgadextConfigVersion.cmake is not version $version"; exit 1; }

if [ "$(uname)" = Linux ]; then
  # No FPGADEXT_DEXT_BUNDLE: the installed CLI must find the bundle installed next to it in the
  # relocated prefix, not the build tree's it was built with.
  unset FPGADEXT_DEXT_BUNDLE
  step "the installed CLI finds the installed dext bundle by itself"
  bundle=$("$prefix/bin/fpgadext" info --json |
    "${PYTHON:-python3}" -c 'import json, sys; print(json.load(sys.stdin)["host"]["dext_bundle"])')
  [ "$bundle" = "$prefix/lib/fpgadext/FpgaDext.dext" ] ||
    { echo "the installed CLI uses the bundle $bundle"; exit 1; }
  "$prefix/bin/fpgadext" write --addr 0x1003 --pattern 5 --size 1M
  "$prefix/bin/fpgadext" verify --no-write --addr 0x1003 --pattern 5 --size 1M
fi

step "find_package(fpgadext CONFIG): shared, static, and examples/readwrite_app"
cmake -S "$src/tests/install/consumer" -B "$tmp/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
  -DFPGADEXT_EXAMPLES="$src/examples" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
for program in consumer consumer_static readwrite_app; do
  "$tmp/cmake/$program"
done

step "pkg-config fpgadext"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion fpgadext)" = "$version" ] ||
  { echo "fpgadext.pc is version $(pkg-config --modversion fpgadext), not $version"; exit 1; }
board=()
pkg-config --exists fpgadext-emulated && board=($(pkg-config --libs fpgadext-emulated))
# shellcheck disable=SC2046
"$cxx" -std=c++20 "$src/tests/install/consumer/consumer.cpp" -o "$tmp/pc-consumer" \
  $(pkg-config --cflags --libs fpgadext) "${board[@]}" -Wl,-rpath,"$prefix/lib"
# shellcheck disable=SC2046
"$cc" "$src/examples/readwrite_app/main.c" -o "$tmp/pc-readwrite_app" \
  $(pkg-config --cflags --libs fpgadext) "${board[@]}" -Wl,-rpath,"$prefix/lib"
"$tmp/pc-consumer"
"$tmp/pc-readwrite_app"
echo "install: ok"
