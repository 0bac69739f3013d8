// fpgadext's reference FPGA design puts an identification block at the start of the user BAR
// (models/xdma implements it; docs/models.md "User BAR"). When a board carries it, the driver
// learns the card memory size from it; other boards give the size in their Info.plist
// personality (FPGACardMemorySize).
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>

#include "bar_layout.h"

namespace fpgadext::dext {

inline constexpr uint32_t kReferenceUserBlockId = 0xFD0E'0001;
inline constexpr uint32_t kReferenceIdOffset = 0x00;
inline constexpr uint32_t kReferenceCardMemorySizeLo = 0x40;
inline constexpr uint32_t kReferenceCardMemorySizeHi = 0x44;

// 0 when the BAR does not carry the reference block.
inline uint64_t ReferenceDesignCardMemorySize(IOPCIDevice* device, const BarLayout::Bar& bar) {
  if (!bar.present || bar.size < kReferenceCardMemorySizeHi + 4) return 0;
  uint32_t id = 0, lo = 0, hi = 0;
  device->MemoryRead32(bar.memoryIndex, kReferenceIdOffset, &id);
  if (id != kReferenceUserBlockId) return 0;
  device->MemoryRead32(bar.memoryIndex, kReferenceCardMemorySizeLo, &lo);
  device->MemoryRead32(bar.memoryIndex, kReferenceCardMemorySizeHi, &hi);
  return static_cast<uint64_t>(hi) << 32 | lo;
}

}  // namespace fpgadext::dext
