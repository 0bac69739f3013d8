// A board with no DMA engine whose BAR0 is a memory window (block RAM behind a PCIe-to-AXI
// bridge): the "PIO" case for FPGAs without DMA. The host reaches the memory with plain loads
// and stores through the mapped BAR (DirectMemory) or through Read/Write.
#pragma once

#include <fpgadext/emu/pci_function.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "../memory/card_memory.h"
#include "../pci/config_space.h"

namespace fpgadext::models {

class BramModel : public emu::PciFunction {
 public:
  struct Config {
    uint16_t vendorId = 0x10EE;
    uint16_t deviceId = 0x7011;
    uint16_t subsystemVendorId = 0x10EE;
    uint16_t subsystemId = 0x0007;
    uint8_t revisionId = 0;
    uint32_t classCode = 0x058000;    // memory controller, other
    uint64_t memorySize = 64 * 1024;  // rounded up to a power of two ≥ 4 KiB
    bool bar64Bit = false;
    bool prefetchable = false;
    std::string backingFile;  // contents survive the program when set
    bool honourMemorySpace = true;
    pci::PcieLink link{1, 1, 0};  // Gen1 x1, MPS 128
    // Function Level Reset offered (Device Capabilities bit 28); the memory keeps its contents.
    bool functionLevelReset = false;
  };

  BramModel();
  explicit BramModel(const Config& config);
  ~BramModel() override;

  // emu::PciFunction
  uint32_t ConfigRead(uint32_t offset, unsigned width) override;
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) override;
  emu::MmioRegion* Bar(unsigned index) override;
  void Connect(emu::DmaPort* port) override {}  // no bus master

  const Config& config() const { return config_; }
  CardMemory& memory() { return memory_; }
  pci::ConfigSpace& configSpace() { return config_space_; }
  // Config and BAR reads return all ones afterwards, writes are dropped.
  void SurpriseRemove() { removed_.store(true, std::memory_order_release); }

 private:
  class Window;

  Config config_;
  pci::ConfigSpace config_space_;
  CardMemory memory_;
  std::unique_ptr<Window> window_;
  std::atomic<bool> removed_{false};
};

}  // namespace fpgadext::models
