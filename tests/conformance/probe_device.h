// A small PCI function for the conformance tests: just enough hardware to exercise the rules
// of the emulated kernel (BAR access, bus mastering through the IOMMU, MSI and MSI-X), with
// registers simple enough that a test can drive them directly.
#pragma once

#include <fpgadext/emu/pci_function.h>
#include <models/pci/config_space.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "probe_registers.h"

namespace fpgadext::conformance {

class ProbeDevice : public emu::PciFunction {
 public:
  ProbeDevice();
  ~ProbeDevice() override;

  uint32_t ConfigRead(uint32_t offset, unsigned width) override;
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) override;
  emu::MmioRegion* Bar(unsigned index) override;
  void Connect(emu::DmaPort* port) override;

  // The device's own memory that DMA moves data in and out of.
  std::vector<uint8_t>& buffer() { return buffer_; }
  uint64_t messagesSent() const { return messages_.load(); }
  models::pci::ConfigSpace& config() { return config_; }

 private:
  class Registers;
  class Ram;
  void Raise(uint32_t vector);

  models::pci::ConfigSpace config_;
  std::unique_ptr<Registers> registers_;
  std::unique_ptr<Ram> ram_;
  std::mutex portLock_;
  emu::DmaPort* port_ = nullptr;
  std::vector<uint8_t> buffer_;
  std::atomic<uint64_t> messages_{0};
};

}  // namespace fpgadext::conformance
