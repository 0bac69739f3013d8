#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test: the plain build, the
# AddressSanitizer + UndefinedBehaviorSanitizer build and the ThreadSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

presets=(default asan tsan)
[ $# -gt 0 ] && presets=("$@")
for preset in "${presets[@]}"; do
  echo "=== $preset: configure, build, test"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)"
  ctest --preset "$preset"
done
