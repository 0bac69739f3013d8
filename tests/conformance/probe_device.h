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
  struct Options {
    uint16_t deviceId = probe::kDevice;  // the conformance dext matches only probe::kDevice
    bool multiFunction = false;          // Header Type bit 7 (meaningful in function 0)
    bool pciExpress = false;             // a PCI Express capability
    bool functionLevelReset = false;     // FLR offered (implies pciExpress)
  };
  ProbeDevice();
  explicit ProbeDevice(const Options& options);
  ~ProbeDevice() override;

  uint32_t ConfigRead(uint32_t offset, unsigned width) override;
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) override;
  emu::MmioRegion* Bar(unsigned index) override;
  void Connect(emu::DmaPort* port) override;

  // The device's own memory that DMA moves data in and out of.
  std::vector<uint8_t>& buffer() { return buffer_; }
  uint64_t messagesSent() const { return messages_.load(); }
  models::pci::ConfigSpace& config() { return config_; }
  // The scratch register as the device holds it (0 after a function level reset).
  uint64_t scratch();
  void setScratch(uint64_t value);
  // The device raises `vector` itself (as user logic would).
  void RaiseVector(uint32_t vector) { Raise(vector); }
  // Whether the machine has connected the function (it was enumerated).
  bool connected();
  // Command register when the last function level reset began.
  uint16_t commandAtReset() const { return commandAtReset_.load(); }

 private:
  class Registers;
  class Ram;
  void Raise(uint32_t vector);
  // Function level reset: registers (the MSI-X table with them) return to power-on values.
  void Reset();

  models::pci::ConfigSpace config_;
  std::unique_ptr<Registers> registers_;
  std::unique_ptr<Ram> ram_;
  std::mutex portLock_;
  emu::DmaPort* port_ = nullptr;
  std::vector<uint8_t> buffer_;
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint16_t> commandAtReset_{0};
  bool everConnected_ = false;  // portLock_
  uint32_t pcie_ = 0;           // PCI Express capability offset, 0 = none
};

}  // namespace fpgadext::conformance
