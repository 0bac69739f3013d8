// RegisterIo over one BAR of an IOPCIDevice: what the engine uses to reach the XDMA registers.
// MemoryRead32/MemoryWrite32 are direct loads and stores into the BAR's mapping (no IPC), so
// this costs what a register access costs.
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>
#include <stdint.h>

namespace fpgadext::dext {

class PciRegisterIo {
 public:
  PciRegisterIo() = default;
  PciRegisterIo(IOPCIDevice* device, uint8_t memoryIndex)
      : device_(device), memoryIndex_(memoryIndex) {}

  uint32_t Read32(uint32_t offset) {
    uint32_t value = 0xffffffffu;
    device_->MemoryRead32(memoryIndex_, offset, &value);
    return value;
  }
  void Write32(uint32_t offset, uint32_t value) {
    device_->MemoryWrite32(memoryIndex_, offset, value);
  }

 private:
  IOPCIDevice* device_ = nullptr;
  uint8_t memoryIndex_ = 0;
};

}  // namespace fpgadext::dext
