#include "probe_device.h"

#include <cstring>

namespace fpgadext::conformance {

class ProbeDevice::Registers : public emu::MmioRegion {
 public:
  explicit Registers(ProbeDevice* device) : device_(device) {}
  uint64_t Size() const override { return 0x10000; }

  uint64_t Read(uint64_t offset, unsigned width) override {
    std::lock_guard guard(lock_);
    uint64_t value = 0;
    if (offset == probe::kId) return probe::kIdValue;
    if (offset == probe::kDmaStatus) return static_cast<uint32_t>(dmaStatus_);
    std::memcpy(&value, &bytes_[offset], width);
    return value;
  }

  void Write(uint64_t offset, unsigned width, uint64_t value) override {
    if (offset == probe::kDmaCommand) return Dma(static_cast<uint32_t>(value));
    if (offset == probe::kRaise) return device_->Raise(static_cast<uint32_t>(value));
    std::lock_guard guard(lock_);
    if (offset == probe::kId || offset == probe::kDmaStatus) return;
    std::memcpy(&bytes_[offset], &value, width);
  }

  // Power-on and after-FLR values: registers zero, every MSI-X vector masked.
  void ResetValues() {
    std::lock_guard guard(lock_);
    std::memset(bytes_, 0, sizeof bytes_);
    for (uint64_t v = 0; v < 8; ++v) bytes_[probe::kMsixTable + 16 * v + 12] = 1;
    dmaStatus_ = kIOReturnSuccess;
  }

  uint32_t Word(uint64_t offset) {
    std::lock_guard guard(lock_);
    uint32_t v;
    std::memcpy(&v, &bytes_[offset], 4);
    return v;
  }

 private:
  void Dma(uint32_t command) {
    uint64_t address, length;
    {
      std::lock_guard guard(lock_);
      std::memcpy(&address, &bytes_[probe::kDmaAddress], 8);
      std::memcpy(&length, &bytes_[probe::kDmaLength], 8);
    }
    IOReturn status = kIOReturnBadArgument;
    std::lock_guard portGuard(device_->portLock_);
    if (device_->port_ != nullptr && length <= device_->buffer_.size()) {
      status = command == probe::kDmaToDevice
                   ? device_->port_->DmaRead(address, device_->buffer_.data(), length)
               : command == probe::kDmaToHost
                   ? device_->port_->DmaWrite(address, device_->buffer_.data(), length)
                   : kIOReturnBadArgument;
    }
    std::lock_guard guard(lock_);
    dmaStatus_ = status;
  }

  ProbeDevice* device_;
  std::mutex lock_;
  uint8_t bytes_[0x10000] = {};
  IOReturn dmaStatus_ = kIOReturnSuccess;
  friend class ProbeDevice;
};

// BAR2: plain memory, which CPU loads and stores may reach directly.
class ProbeDevice::Ram : public emu::MmioRegion {
 public:
  uint64_t Size() const override { return probe::kRamSize; }
  uint64_t Read(uint64_t offset, unsigned width) override {
    uint64_t value = 0;
    std::memcpy(&value, &bytes_[offset], width);
    return value;
  }
  void Write(uint64_t offset, unsigned width, uint64_t value) override {
    std::memcpy(&bytes_[offset], &value, width);
  }
  uint8_t* DirectMemory() override { return bytes_; }

 private:
  alignas(4096) uint8_t bytes_[probe::kRamSize] = {};
};

ProbeDevice::ProbeDevice() : ProbeDevice(Options{}) {}

ProbeDevice::ProbeDevice(const Options& options)
    : config_(models::pci::Identity{probe::kVendor, options.deviceId, probe::kVendor, 0x0001, 1,
                                    0x118000, 1}),
      registers_(std::make_unique<Registers>(this)),
      ram_(std::make_unique<Ram>()),
      buffer_(2 << 20) {
  config_.SetBar(0, {0x10000, false, false});
  config_.SetBar(probe::kRamBar, {probe::kRamSize, true, true});
  config_.AddMsiCapability(2);  // 4 vectors
  config_.AddMsixCapability(8, 0, probe::kMsixTable, probe::kMsixPba);
  config_.SetMultiFunction(options.multiFunction);
  if (options.pciExpress || options.functionLevelReset) pcie_ = config_.AddPcieCapability({});
  if (options.functionLevelReset) {
    config_.EnableFunctionLevelReset([](void* self) { static_cast<ProbeDevice*>(self)->Reset(); },
                                     this);
  }
  registers_->ResetValues();
}

void ProbeDevice::Reset() {
  registers_->ResetValues();
}

uint64_t ProbeDevice::scratch() {
  return registers_->Word(probe::kScratch) | uint64_t{registers_->Word(probe::kScratch + 4)} << 32;
}

void ProbeDevice::setScratch(uint64_t value) {
  registers_->Write(probe::kScratch, 8, value);
}

bool ProbeDevice::connected() {
  std::lock_guard guard(portLock_);
  return everConnected_;
}

ProbeDevice::~ProbeDevice() = default;

uint32_t ProbeDevice::ConfigRead(uint32_t offset, unsigned width) {
  return config_.Read(offset, width);
}
void ProbeDevice::ConfigWrite(uint32_t offset, unsigned width, uint32_t value) {
  const uint32_t flrByte = pcie_ + models::pci::kPcieDeviceControl + 1;
  if (pcie_ != 0 && offset <= flrByte && flrByte < offset + width &&
      ((value >> (8 * (flrByte - offset))) & 0x80)) {
    commandAtReset_.store(config_.Command());  // what the host left on as the reset began
  }
  config_.Write(offset, width, value);
}
emu::MmioRegion* ProbeDevice::Bar(unsigned index) {
  if (index == probe::kRamBar) return ram_.get();
  return index == 0 ? registers_.get() : nullptr;
}
void ProbeDevice::Connect(emu::DmaPort* port) {
  std::lock_guard guard(portLock_);
  port_ = port;
  if (port != nullptr) everConnected_ = true;
}

void ProbeDevice::Raise(uint32_t vector) {
  uint64_t address = 0;
  uint32_t data = 0;
  const models::pci::MsixState msix = config_.Msix();
  if (msix.enabled) {
    if (vector >= 8 || msix.functionMask) return;
    const uint64_t entry = probe::kMsixTable + 16ull * vector;
    if (registers_->Word(entry + 12) & 1) return;  // masked (the PBA is not modelled)
    address = registers_->Word(entry) | (uint64_t{registers_->Word(entry + 4)} << 32);
    data = registers_->Word(entry + 8);
  } else {
    const models::pci::MsiState msi = config_.Msi();
    if (!msi.enabled || vector >= msi.vectorsAllocated) return;
    address = msi.address;
    data = msi.data | vector;
  }
  std::lock_guard guard(portLock_);
  if (port_ == nullptr || !config_.BusMasterEnabled()) return;
  ++messages_;
  port_->SignalMessage(address, data);
}

}  // namespace fpgadext::conformance
