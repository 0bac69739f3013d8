#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo on the emulated machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target fpgadext-emu-demo
exec ./build/default/tools/emu-demo/fpgadext-emu-demo
