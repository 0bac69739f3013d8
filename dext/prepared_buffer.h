// PreparedBuffer: memory the dext allocates and prepares for DMA once (descriptor rings, writeback
// words, a user client's in-band staging buffer) and keeps prepared while it lives.
// PreparationHold: what keeps such a preparation (and a registered buffer's) mapped for the
// device, shared between its owner and the windows a stuck channel may still reach.
#pragma once

// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/engine/host_memory.h>
#include <fpgadext/engine/types.h>
#include <stdint.h>

namespace fpgadext::dext {

// IODMACommands that keep memory prepared for the device, and the memory. The owner (a
// PreparedBuffer, a registered buffer) holds one reference; each window handed to a channel
// whose engine did not stop holds another (HandTo: engine::WindowLease, docs/engine.md
// "Quarantine"). The last reference completes the commands — the IOMMU mappings end — and frees
// the hold. So memory its owner drops while a set-aside channel may still write into it stays
// mapped, and its IOVAs are not handed to anyone else, until the channel is seen idle or reset.
class PreparationHold {
 public:
  static constexpr uint32_t kMaxCommands = 64;
  // One reference; null without memory.
  [[nodiscard]] static PreparationHold* Create();
  void Retain();
  void Release();
  // Whether a window lease holds it besides its owner.
  bool HandedOver() const { return references_.load(std::memory_order_acquire) > 1; }
  // `lease` takes a reference, released when the lease is.
  void HandTo(engine::WindowLease* lease);

  // Filled by the owner before any window is handed over; the hold completes and releases them.
  OSSharedPtr<IOMemoryDescriptor> memory;
  OSSharedPtr<IODMACommand> commands[kMaxCommands];
  uint32_t commandCount = 0;

 private:
  PreparationHold() = default;
  ~PreparationHold();
  std::atomic<uint32_t> references_{1};
};

// A buffer allocated and prepared once for the device, with its bus segments. Going away drops
// its preparation (PreparationHold): unmapped then, or when the last stuck window it handed
// over is released.
class PreparedBuffer {
 public:
  PreparedBuffer() = default;
  ~PreparedBuffer() { Release(); }
  PreparedBuffer(const PreparedBuffer&) = delete;
  PreparedBuffer& operator=(const PreparedBuffer&) = delete;

  // `direction`: kIOMemoryDirectionIn/Out as the device sees it.
  [[nodiscard]] IOReturn Prepare(IOService* device, uint64_t direction, uint64_t size);
  void Release();

  IOBufferMemoryDescriptor* memory() const { return memory_.get(); }
  uint8_t* cpu() const { return cpu_; }
  const engine::BusSegment* segments() const { return segments_; }
  engine::BusSegment* segments() { return segments_; }
  uint32_t segmentCount() const { return segmentCount_; }
  // The preparation, for a HostMemory that may hand a window over; null before Prepare.
  PreparationHold* hold() const { return hold_; }

 private:
  OSSharedPtr<IOBufferMemoryDescriptor> memory_;
  PreparationHold* hold_ = nullptr;  // one reference
  engine::BusSegment segments_[engine::kMaxSegmentsPerWindow] = {};
  uint32_t segmentCount_ = 0;
  uint8_t* cpu_ = nullptr;
};

}  // namespace fpgadext::dext
