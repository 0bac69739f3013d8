// IOMalloc bookkeeping of the emulated DriverKit runtime, for tests that check a path leaves no
// allocation behind (a failed Start, an integration test's end). Process-wide: the dexts of every
// emulated machine and the runtime's own OSObjects (OSString, OSData, ...) share it.
#pragma once

#include <cstdint>

namespace fpgadext::emu::iolib {

struct Allocations {
  uint64_t blocks = 0;  // IOMalloc/IOMallocZero blocks not yet given to IOFree
  uint64_t bytes = 0;   // their lengths, as requested
};

Allocations LiveAllocations();

}  // namespace fpgadext::emu::iolib
