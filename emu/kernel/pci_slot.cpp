// A PCI function on the emulated bus: firmware-style enumeration, bus-level rules for
// configuration and BAR access, MSI/MSI-X programming and delivery, and bus mastering through
// the IOMMU.
#include <DriverKit/IOLib.h>
#include <os/log.h>

#include "kernel.h"

namespace fpgadext::emu {
namespace {

constexpr uint32_t kBarIo = 0x1;
constexpr uint32_t kBarType64 = 0x4;
constexpr uint32_t kBarPrefetchable = 0x8;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// A BAR as seen through the bus, for CPU mappings that trap each access.
class BusWindowRegion final : public MmioRegion {
 public:
  BusWindowRegion(PciSlot* slot, unsigned memoryIndex, uint64_t size)
      : slot_(slot), memoryIndex_(memoryIndex), size_(size) {}
  uint64_t Size() const override { return size_; }
  uint64_t Read(uint64_t offset, unsigned width) override {
    return slot_->MemoryRead(memoryIndex_, offset, width);
  }
  void Write(uint64_t offset, unsigned width, uint64_t value) override {
    slot_->MemoryWrite(memoryIndex_, offset, width, value);
  }

 private:
  PciSlot* slot_;
  unsigned memoryIndex_;
  uint64_t size_;
};

}  // namespace

PciSlot::PciSlot(Kernel* kernel, PciFunction* function, uint8_t device, uint8_t functionNumber)
    : kernel_(kernel), function_(function), device_(device), functionNumber_(functionNumber) {}

PciSlot::~PciSlot() = default;

// Every function of every device gets its own bus range, so BARs of two functions never overlap.
uint64_t Kernel::AllocateBarAddress(uint64_t size, bool is64) {
  std::lock_guard guard(registryLock_);
  uint64_t& next = is64 ? nextBar64_ : nextBar32_;
  const uint64_t address = AlignUp(next, size);
  next = address + size;
  return address;
}

void PciSlot::Enumerate() {
  for (unsigned i = 0; i < 6; ++i) {
    const uint32_t reg = kIOPCIConfigurationOffsetBaseAddress0 + 4 * i;
    const uint32_t original = function_->ConfigRead(reg, 4);
    function_->ConfigWrite(reg, 4, 0xffffffffu);
    const uint32_t sizing = function_->ConfigRead(reg, 4);
    if (sizing == 0 || (original & kBarIo)) {
      function_->ConfigWrite(reg, 4, original);
      continue;  // unimplemented, or I/O space (not emulated)
    }
    const bool is64 = (original & 0x6) == kBarType64;
    uint64_t mask = sizing & ~0xfull;
    if (is64 && i < 5) {
      function_->ConfigWrite(reg + 4, 4, 0xffffffffu);
      mask |= static_cast<uint64_t>(function_->ConfigRead(reg + 4, 4)) << 32;
    } else {
      mask |= 0xffffffff00000000ull;
    }
    const uint64_t size = ~mask + 1;
    const uint64_t address = kernel_->AllocateBarAddress(size, is64);
    function_->ConfigWrite(reg, 4, static_cast<uint32_t>(address));
    if (is64) function_->ConfigWrite(reg + 4, 4, static_cast<uint32_t>(address >> 32));

    Bar& bar = bars_[i];
    bar.region = function_->Bar(i);
    bar.size = size;
    bar.address = address;
    bar.type = static_cast<uint8_t>((is64 ? kPCIBARTypeM64 : kPCIBARTypeM32) |
                                    ((original & kBarPrefetchable) ? 0x8 : 0));
    if (bar.region == nullptr || bar.region->Size() != size) {
      os_log_error(OS_LOG_DEFAULT, "pci: BAR%u sizes to 0x%llx but the model's region differs", i,
                   (unsigned long long)size);
    }
    bar.memoryIndex = static_cast<int>(memoryToBar_.size());
    memoryToBar_.push_back(static_cast<int>(i));
    windows_.push_back(std::make_unique<BusWindowRegion>(this, bar.memoryIndex, size));
    if (is64) ++i;  // the upper half is not a BAR of its own
  }
  command_.store(static_cast<uint16_t>(function_->ConfigRead(kIOPCIConfigurationOffsetCommand, 2)));

  // Firmware leaves one MSI vector configured, or one MSI-X vector without MSI.
  if (ConfigureInterrupts(kIOInterruptTypePCIMessaged, 1, 1) != kIOReturnSuccess) {
    ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 1);
  }
}

uint32_t PciSlot::ConfigRead(uint32_t offset, unsigned width) {
  if (!present()) return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
  return function_->ConfigRead(offset, width);
}

void PciSlot::ConfigWrite(uint32_t offset, unsigned width, uint32_t value) {
  if (!present()) return;
  function_->ConfigWrite(offset, width, value);
  if (offset <= kIOPCIConfigurationOffsetCommand + 1 &&
      offset + width > kIOPCIConfigurationOffsetCommand) {
    command_.store(
        static_cast<uint16_t>(function_->ConfigRead(kIOPCIConfigurationOffsetCommand, 2)),
        std::memory_order_release);
  }
}

MmioRegion* PciSlot::BusWindow(unsigned memoryIndex) {
  return memoryIndex < windows_.size() ? windows_[memoryIndex].get() : nullptr;
}

int PciSlot::BarForMemoryIndex(unsigned memoryIndex) const {
  return memoryIndex < memoryToBar_.size() ? memoryToBar_[memoryIndex] : -1;
}

uint64_t PciSlot::MemoryRead(unsigned memoryIndex, uint64_t offset, unsigned width) {
  const uint64_t ones = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
  const int bar = BarForMemoryIndex(memoryIndex);
  if (bar < 0 || !present() || !(command() & kIOPCICommandMemorySpace)) return ones;
  const Bar& b = bars_[bar];
  if (b.region == nullptr || offset >= b.size || width > b.size - offset) {
    os_log_error(OS_LOG_DEFAULT, "pci: read of %u bytes at 0x%llx past BAR%d (size 0x%llx)", width,
                 (unsigned long long)offset, bar, (unsigned long long)b.size);
    return ones;
  }
  return b.region->Read(offset, width);
}

void PciSlot::MemoryWrite(unsigned memoryIndex, uint64_t offset, unsigned width, uint64_t value) {
  const int bar = BarForMemoryIndex(memoryIndex);
  if (bar < 0 || !present() || !(command() & kIOPCICommandMemorySpace)) return;
  const Bar& b = bars_[bar];
  if (b.region == nullptr || offset >= b.size || width > b.size - offset) {
    os_log_error(OS_LOG_DEFAULT, "pci: write of %u bytes at 0x%llx past BAR%d (size 0x%llx)", width,
                 (unsigned long long)offset, bar, (unsigned long long)b.size);
    return;
  }
  b.region->Write(offset, width, value);
}

// Follows the lists as the PCI specification lays them out; a guard stops a looping list.
uint32_t PciSlot::FindCapability(uint8_t id, uint32_t after) {
  if (!(ConfigRead(kIOPCIConfigurationOffsetStatus, 2) & kIOPCIStatusCapabilities)) {
    return 0;
  }
  uint32_t offset = ConfigRead(kIOPCIConfigurationOffsetCapabilitiesPtr, 1) & 0xfc;
  bool searching = after != 0;
  for (int guard = 0; offset >= 0x40 && offset < 0x100 && guard < 48; ++guard) {
    if (!searching && (ConfigRead(offset + kIOPCICapabilityIDOffset, 1) & 0xff) == id) {
      return offset;
    }
    if (offset == after) searching = false;
    offset = ConfigRead(offset + kIOPCINextCapabilityOffset, 1) & 0xfc;
  }
  return 0;
}

// Extended capabilities: a header dword holds the ID in bits 15:0 and the next offset in 31:20.
uint32_t PciSlot::FindExtendedCapability(uint16_t id, uint32_t after) {
  constexpr uint32_t kExtendedStart = 0x100;
  constexpr uint32_t kConfigSpaceSize = 4096;
  uint32_t offset = kExtendedStart;
  bool searching = after != 0;
  for (int guard = 0; offset >= kExtendedStart && offset < kConfigSpaceSize && guard < 960;
       ++guard) {
    const uint32_t header = ConfigRead(offset, 4);
    if (header == 0 || header == 0xffffffffu) return 0;
    if (!searching && (header & 0xffff) == id) return offset;
    if (offset == after) searching = false;
    offset = (header >> 20) & 0xffc;
  }
  return 0;
}

IOReturn PciSlot::ConfigureInterrupts(uint32_t type, uint32_t numRequired, uint32_t numRequested) {
  if (numRequested < numRequired || numRequired == 0) return kIOReturnBadArgument;
  uint32_t n = 0;
  if (type == kIOInterruptTypePCIMessagedX) {
    const uint32_t msix = FindCapability(kIOPCICapabilityIDMSIX);
    if (!msix) return kIOReturnUnsupported;
    const uint32_t tableSize = (function_->ConfigRead(msix + 2, 2) & 0x7ff) + 1;
    n = std::min(numRequested, tableSize);
    if (n < numRequired) return kIOReturnNoResources;
    const int bar = static_cast<int>(function_->ConfigRead(msix + 4, 4) & 0x7);
    if (bar >= 6 || bars_[bar].region == nullptr) return kIOReturnNoResources;
  } else if (type == kIOInterruptTypePCIMessaged) {
    const uint32_t msi = FindCapability(kIOPCICapabilityIDMSI);
    if (!msi) return kIOReturnUnsupported;
    const uint32_t capable = 1u << ((function_->ConfigRead(msi + 2, 2) >> 1) & 0x7);
    n = 1;
    while (n * 2 <= std::min(numRequested, capable)) n *= 2;
    if (n < numRequired) return kIOReturnNoResources;
  } else {
    return kIOReturnUnsupported;  // legacy INTx is not emulated
  }
  ProgramMessages(type, n);
  interruptType_ = type;
  vectorCount_ = n;
  return kIOReturnSuccess;
}

void PciSlot::RestoreInterrupts() {
  if (interruptType_ != 0 && present()) ProgramMessages(interruptType_, vectorCount_);
}

void PciSlot::ProgramMessages(uint32_t type, uint32_t n) {
  const uint32_t msi = FindCapability(kIOPCICapabilityIDMSI);
  const uint32_t msix = FindCapability(kIOPCICapabilityIDMSIX);
  auto disableMsi = [&] {
    if (msi) function_->ConfigWrite(msi + 2, 2, function_->ConfigRead(msi + 2, 2) & ~0x1u);
  };
  auto disableMsix = [&] {
    if (msix) function_->ConfigWrite(msix + 2, 2, function_->ConfigRead(msix + 2, 2) & ~0x8000u);
  };
  if (type == kIOInterruptTypePCIMessagedX) {
    const uint32_t control = function_->ConfigRead(msix + 2, 2);
    const uint32_t tableSize = (control & 0x7ff) + 1;
    const uint32_t table = function_->ConfigRead(msix + 4, 4);
    MmioRegion* region = (table & 0x7) < 6 ? bars_[table & 0x7].region : nullptr;
    if (region == nullptr) return;
    const uint64_t base = table & ~0x7u;
    disableMsi();
    // Enable with the function masked while the table is written, then unmask.
    function_->ConfigWrite(msix + 2, 2, (control | 0x8000u | 0x4000u));
    for (uint32_t i = 0; i < tableSize; ++i) {
      const uint64_t entry = base + 16ull * i;
      region->Write(entry + 0, 4, static_cast<uint32_t>(kMessageSignalledAddress));
      region->Write(entry + 4, 4, static_cast<uint32_t>(kMessageSignalledAddress >> 32));
      region->Write(entry + 8, 4, i);
      region->Write(entry + 12, 4, i < n ? 0u : 1u);
    }
    function_->ConfigWrite(msix + 2, 2, (control | 0x8000u) & ~0x4000u);
    return;
  }
  const uint32_t control = function_->ConfigRead(msi + 2, 2);
  const bool is64 = control & 0x80;
  disableMsix();
  function_->ConfigWrite(msi + 4, 4, static_cast<uint32_t>(kMessageSignalledAddress));
  if (is64)
    function_->ConfigWrite(msi + 8, 4, static_cast<uint32_t>(kMessageSignalledAddress >> 32));
  function_->ConfigWrite(msi + (is64 ? 0xC : 0x8), 2, 0);
  uint32_t log2n = 0;
  while ((1u << log2n) < n) ++log2n;
  function_->ConfigWrite(msi + 2, 2, (control & ~0x70u) | (log2n << 4) | 0x1u);
}

IOReturn PciSlot::BindLine(uint32_t vector, IOInterruptDispatchSource* source) {
  std::lock_guard guard(linesLock_);
  if (vector >= vectorCount_) return kIOReturnNoInterrupt;
  if (lines_.count(vector)) return kIOReturnExclusiveAccess;
  source->retain();  // the kernel holds a bound source until it is cancelled or closed
  lines_[vector] = source;
  return kIOReturnSuccess;
}

void PciSlot::UnbindLine(uint32_t vector, IOInterruptDispatchSource* source) {
  IOInterruptDispatchSource* bound = nullptr;
  {
    std::lock_guard guard(linesLock_);
    auto it = lines_.find(vector);
    if (it != lines_.end() && it->second == source) {
      bound = source;
      lines_.erase(it);
    }
  }
  OSSafeReleaseNULL(bound);
}

void PciSlot::UnbindAll() {
  std::map<uint32_t, IOInterruptDispatchSource*> lines;
  {
    std::lock_guard guard(linesLock_);
    lines.swap(lines_);
  }
  for (auto& [vector, source] : lines) source->release();
}

void PciSlot::Remove() {
  // A DMA access in flight ends before the function reads as gone, and none starts after: a
  // driver that sees all ones has seen every byte the device moved before it went (as a root
  // port delivers the requests that arrived before the link went down, and none after).
  // Without this the device thread could still be reading a descriptor ring the driver, told
  // the function is gone, already rewrites (docs/emulation-memory-pci.md).
  std::unique_lock guard(dmaLock_);
  present_.store(false, std::memory_order_release);
}

void PciSlot::TerminateAndReprobe() {
  kernel_->ScheduleReprobe(function_, node != nullptr ? node->name : std::string());
}

// IOPCIFamily's reprobe thread waits for the terminated drivers to settle (waitQuiet) and then
// scans the bridge again; here the detach stops them synchronously before the attach scans.
void Kernel::ScheduleReprobe(PciFunction* function, const std::string& name) {
  std::lock_guard guard(reprobeLock_);
  reprobes_.emplace_back([this, function, name] {
    DetachPciFunction(function, false);
    if (AttachPciFunction(function, name) != kIOReturnSuccess) {
      os_log_error(OS_LOG_DEFAULT, "pci: %{public}s did not come back after its reset",
                   name.c_str());
    }
  });
}

void Kernel::JoinReprobes() {
  for (;;) {
    std::thread reprobe;
    {
      std::lock_guard guard(reprobeLock_);
      if (reprobes_.empty()) return;
      reprobe = std::move(reprobes_.back());
      reprobes_.pop_back();
    }
    reprobe.join();
  }
}

const char* PciSlot::DeviceName() const {
  return node != nullptr ? node->name.c_str() : "a PCI function";
}

IOReturn PciSlot::DmaRead(uint64_t busAddress, void* dst, uint64_t length) {
  std::shared_lock guard(dmaLock_);
  if (!present() || !(command() & kIOPCICommandBusLead)) {
    os_log_error(OS_LOG_DEFAULT, "pci: DMA read with bus mastering off refused");
    return kIOReturnNotPermitted;
  }
  return kernel_->iommu().DeviceRead(busAddress, dst, length, DeviceName());
}

IOReturn PciSlot::DmaWrite(uint64_t busAddress, const void* src, uint64_t length) {
  std::shared_lock guard(dmaLock_);
  if (!present() || !(command() & kIOPCICommandBusLead)) {
    os_log_error(OS_LOG_DEFAULT, "pci: DMA write with bus mastering off refused");
    return kIOReturnNotPermitted;
  }
  return kernel_->iommu().DeviceWrite(busAddress, src, length, DeviceName());
}

void PciSlot::SignalMessage(uint64_t address, uint32_t data) {
  if (!present()) return;
  if (address != kMessageSignalledAddress) {
    os_log_error(OS_LOG_DEFAULT, "pci: message write to 0x%llx is not an interrupt address",
                 (unsigned long long)address);
    return;
  }
  IOInterruptDispatchSource* source = nullptr;
  {
    std::lock_guard guard(linesLock_);
    auto it = lines_.find(data);
    if (it != lines_.end()) source = it->second;
    if (source != nullptr) source->retain();
  }
  if (source == nullptr) return;  // no handler bound: the interrupt is lost, as on a Mac
  source->EmulationSignal(mach_absolute_time());
  source->release();
}

}  // namespace fpgadext::emu
