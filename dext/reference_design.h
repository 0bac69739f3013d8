// fpgadext's reference FPGA design puts an identification block at the start of the user BAR
// (its map: reference_design/user_block_registers.h; models/xdma implements it; docs/models.md
// "User BAR"). When a board carries it, the driver learns the card memory size from it; other
// boards give the size in their Info.plist personality (FPGACardMemorySize).
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>
#include <reference_design/user_block_registers.h>

#include "bar_layout.h"
#include "pci_register_io.h"

namespace fpgadext::dext {

// 0 when the BAR does not carry the reference block.
inline uint64_t ReferenceDesignCardMemorySize(IOPCIDevice* device, const BarLayout::Bar& bar) {
  using namespace reference_design;
  if (!bar.present || bar.size < user_reg::kCardMemSizeHi + 4) return 0;
  PciRegisterIo io(device, bar.memoryIndex);
  if (!UserBlockId::Get().ReadFrom(io).present()) return 0;
  const uint32_t lo = UserCardMemorySize::GetLo().ReadFrom(io).reg_value();
  const uint32_t hi = UserCardMemorySize::GetHi().ReadFrom(io).reg_value();
  return static_cast<uint64_t>(hi) << 32 | lo;
}

}  // namespace fpgadext::dext
