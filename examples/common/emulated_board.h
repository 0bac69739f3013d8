// Linux only: what stands in for the Mac, the board and the installed dext when an example runs
// on Linux. Linking emulated_board.cpp into an example builds, before main() runs, an emulated
// Mac with an XDMA board model (256 MiB of card memory) plugged into its PCI bus and the
// FpgaDext bundle loaded (it matches the board and starts the driver). The example's own code
// is then exactly what it would be on a Mac, where this file is not built.
#pragma once

#include <cstdint>

namespace fpgadext::examples {

// Card memory of the emulated board.
inline constexpr uint64_t kEmulatedCardMemory = 256ull << 20;

}  // namespace fpgadext::examples
