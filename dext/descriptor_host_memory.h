// engine::HostMemory over DriverKit memory: an IOMemoryDescriptor prepared window by window
// through the caller's IODMACommands (app memory, out-of-line descriptors, the in-band staging
// buffer), or a registered buffer whose bus segments were prepared once.
#pragma once

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <fpgadext/engine/host_memory.h>

#include "prepared_buffer.h"

namespace fpgadext::dext {

class DescriptorHostMemory final : public engine::HostMemory {
 public:
  // Bytes [base, base + length) of `memory`; window slot i uses commands[i]. The caller keeps
  // `memory` and the commands alive, and completes nothing: windows are completed by the engine.
  // A window the engine could not stop is handed over (HandOverWindow): commands[slot] moves,
  // with its reference, into the engine's lease and is set to null; the caller makes a new
  // command for that slot before its next transfer (dext/client: WindowCommands::Fill).
  DescriptorHostMemory(IOMemoryDescriptor* memory, uint64_t base, uint64_t length,
                       IODMACommand** commands, uint32_t slots);
  ~DescriptorHostMemory();

  uint64_t Length() const override { return length_; }
  uint32_t Slots() const override { return slots_; }
  IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                         engine::BusSegment* segments, uint32_t* count, uint64_t* covered) override;
  void CompleteWindow(uint32_t slot) override;
  // The slot's prepared command (the caller's reference) and a reference to the memory go to
  // the lease; its Release completes the command (CompleteDMA unmaps) and drops both.
  bool HandOverWindow(uint32_t slot, engine::WindowLease* lease) override;
  IOReturn MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) override;

 private:
  IOMemoryDescriptor* memory_;
  uint64_t base_;
  uint64_t length_;
  IODMACommand** commands_;
  uint32_t slots_;
  IOMemoryMap* map_ = nullptr;  // the CPU mapping MapForCpu made, if any
};

// A buffer prepared for DMA once, at registration: its bus segments are kept, and windows are
// slices of them (no IOMMU work per transfer).
struct PreparedSegments {
  engine::BusSegment* segments;  // IONew'd
  uint32_t count;
  uint64_t length;
};

class PreparedHostMemory final : public engine::HostMemory {
 public:
  // Bytes [base, base + length) of the prepared buffer.
  // `memory` is the buffer itself, for engines that copy with the CPU (MapForCpu). `hold`: the
  // buffer's preparation, which a window the engine could not stop keeps alive (HandOverWindow);
  // null: no window can be handed over.
  PreparedHostMemory(const PreparedSegments& prepared, IOMemoryDescriptor* memory, uint64_t base,
                     uint64_t length, uint32_t slots, PreparationHold* hold = nullptr)
      : prepared_(prepared),
        cpu_(memory, base, length, nullptr, 0),
        base_(base),
        length_(length),
        slots_(slots),
        hold_(hold) {}

  uint64_t Length() const override { return length_; }
  uint32_t Slots() const override { return slots_; }
  IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                         engine::BusSegment* segments, uint32_t* count, uint64_t* covered) override;
  void CompleteWindow(uint32_t slot) override {}
  // The whole preparation stays mapped until the lease goes: the buffer's owner may drop it
  // meanwhile (unregister, client stop) without unmapping what the engine may still write.
  bool HandOverWindow(uint32_t slot, engine::WindowLease* lease) override {
    if (hold_ == nullptr || lease == nullptr || slot >= slots_) return false;
    hold_->HandTo(lease);
    return true;
  }
  IOReturn MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) override {
    return cpu_.MapForCpu(offset, length, address);
  }

 private:
  const PreparedSegments& prepared_;
  DescriptorHostMemory cpu_;  // CPU mappings only; it prepares nothing
  uint64_t base_;
  uint64_t length_;
  uint32_t slots_;
  PreparationHold* hold_;
};

}  // namespace fpgadext::dext
