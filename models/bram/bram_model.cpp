#include "bram_model.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../pci/mmio_access.h"

namespace fpgadext::models {

namespace {

// The BAR's size: a power of two of at least 4 KiB. A 64-bit BAR can be at most 2^63 bytes; a
// larger request is a configuration error (doubling past it would wrap to 0 and never end).
uint64_t RoundUp(uint64_t v) {
  constexpr uint64_t kLargestBar = uint64_t{1} << 63;
  if (v > kLargestBar) {
    std::fprintf(stderr,
                 "BramModel: memorySize 0x%" PRIx64 " is larger than any BAR can be (2^63 bytes)\n",
                 v);
    std::abort();
  }
  uint64_t p = 4096;
  while (p < v) p <<= 1;
  return p;
}

BramModel::Config Sanitize(BramModel::Config c) {
  c.memorySize = RoundUp(c.memorySize);
  return c;
}

pci::Identity MakeIdentity(const BramModel::Config& c) {
  pci::Identity id;
  id.vendorId = c.vendorId;
  id.deviceId = c.deviceId;
  id.subsystemVendorId = c.subsystemVendorId;
  id.subsystemId = c.subsystemId;
  id.revisionId = c.revisionId;
  id.classCode = c.classCode;
  id.interruptPin = 0;  // no interrupts
  return id;
}

// Naturally aligned accesses are single-copy atomic, as a bus access to RAM is.
template <class T>
uint64_t LoadAs(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const T*>(p), __ATOMIC_RELAXED);
}
template <class T>
void StoreAs(uint8_t* p, uint64_t v) {
  __atomic_store_n(reinterpret_cast<T*>(p), static_cast<T>(v), __ATOMIC_RELAXED);
}

}  // namespace

class BramModel::Window final : public emu::MmioRegion {
 public:
  explicit Window(BramModel& model) : model_(model) {}
  uint64_t Size() const override { return model_.memory_.size(); }
  uint8_t* DirectMemory() override { return model_.memory_.data(); }

  uint64_t Read(uint64_t offset, unsigned width) override {
    if (!Decodes() || !Valid(offset, width)) return pci::AllOnes(width);
    const uint8_t* p = model_.memory_.data() + offset;
    if (offset % width == 0) {
      switch (width) {
        case 1:
          return LoadAs<uint8_t>(p);
        case 2:
          return LoadAs<uint16_t>(p);
        case 4:
          return LoadAs<uint32_t>(p);
        default:
          return LoadAs<uint64_t>(p);
      }
    }
    uint64_t v = 0;
    std::memcpy(&v, p, width);
    return v;
  }

  void Write(uint64_t offset, unsigned width, uint64_t value) override {
    if (!Decodes() || !Valid(offset, width)) return;
    uint8_t* p = model_.memory_.data() + offset;
    if (offset % width == 0) {
      switch (width) {
        case 1:
          StoreAs<uint8_t>(p, value);
          return;
        case 2:
          StoreAs<uint16_t>(p, value);
          return;
        case 4:
          StoreAs<uint32_t>(p, value);
          return;
        default:
          StoreAs<uint64_t>(p, value);
          return;
      }
    }
    std::memcpy(p, &value, width);
  }

 private:
  bool Decodes() const {
    if (model_.removed_.load(std::memory_order_acquire)) return false;
    return !model_.config_.honourMemorySpace || model_.config_space_.MemorySpaceEnabled();
  }
  bool Valid(uint64_t offset, unsigned width) const {
    return (width == 1 || width == 2 || width == 4 || width == 8) && offset < Size() &&
           width <= Size() - offset;
  }
  BramModel& model_;
};

BramModel::BramModel() : BramModel(Config{}) {}

BramModel::BramModel(const Config& config)
    : config_(Sanitize(config)),
      config_space_(MakeIdentity(config_)),
      memory_(config_.memorySize, config_.backingFile),
      window_(std::make_unique<Window>(*this)) {
  config_space_.SetBar(0, pci::BarSpec{config_.memorySize, config_.bar64Bit, config_.prefetchable});
  config_space_.AddPcieCapability(config_.link);
  // Block RAM has no state a reset clears: only the configuration space returns to reset values.
  if (config_.functionLevelReset) config_space_.EnableFunctionLevelReset([](void*) {}, nullptr);
}

BramModel::~BramModel() = default;

uint32_t BramModel::ConfigRead(uint32_t offset, unsigned width) {
  if (removed_.load(std::memory_order_acquire)) {
    return width >= 4 ? 0xFFFF'FFFFu : ((1u << (8 * width)) - 1u);
  }
  return config_space_.Read(offset, width);
}

void BramModel::ConfigWrite(uint32_t offset, unsigned width, uint32_t value) {
  if (!removed_.load(std::memory_order_acquire)) config_space_.Write(offset, width, value);
}

emu::MmioRegion* BramModel::Bar(unsigned index) {
  return index == 0 ? window_.get() : nullptr;
}

}  // namespace fpgadext::models
