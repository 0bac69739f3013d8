// MSI-X table (32 entries) and pending-bit array inside the DMA BAR at 0x8000 / 0x8FE0
// (xdma-facts §3.9; PCI Local Bus spec 3.0 §6.8.2 for the entry and PBA rules).
#pragma once

#include <cstdint>

#include "xdma/xdma_registers.h"

namespace fpgadext::models {

struct MsiMessage {
  uint64_t address;
  uint32_t data;
};

// Register state; the board's lock is held around every call.
class MsixTable {
 public:
  MsixTable();
  // `offset` relative to the DMA BAR, inside [0x8000, 0x9000).
  uint32_t Read(uint32_t offset) const;
  void Write(uint32_t offset, uint32_t value);

  // Sends `vector` (if unmasked): fills `out` and returns true; otherwise sets its pending bit.
  bool Signal(unsigned vector, bool functionMasked, MsiMessage* out);
  // Takes one pending vector that is no longer masked: clears its PBA bit and returns true.
  bool TakeUnmaskedPending(bool functionMasked, unsigned* vector, MsiMessage* out);

 private:
  struct Entry {
    uint32_t addrLo = 0;
    uint32_t addrHi = 0;
    uint32_t data = 0;
    uint32_t control = 0xFFFF'FFFF;  // masked at reset
  };
  Entry entries_[xdma::kMsixTableEntries];
  uint32_t pba_ = 0;
};

}  // namespace fpgadext::models
