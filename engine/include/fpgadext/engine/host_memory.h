// How the engine reaches host memory: the dext implements HostMemory over an
// IOMemoryDescriptor and IODMACommands (app memory, an out-of-line descriptor, a registered
// buffer); tests implement it over the emulated IOMMU. The engine never sees CPU addresses of
// app memory, only bus addresses, so what it moves is never copied on the way.
#pragma once

#include <fpgadext/engine/types.h>

namespace fpgadext::engine {

class HostMemory {
 public:
  // Total length of the memory, in bytes.
  virtual uint64_t Length() const = 0;

  // Maps a window of the memory for device access, starting at `offset`, at most `length`
  // bytes: fills up to *count (≤ kMaxSegmentsPerWindow) segments, sets *count to how many were
  // filled and *covered to the bytes they cover (≤ length; less when the memory needs more
  // segments than fit). `slot` (0 ≤ slot < Slots()) names the window: a slot holds one window
  // at a time, so windows in different slots can be in flight together.
  [[nodiscard]] virtual IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                                               BusSegment* segments, uint32_t* count,
                                               uint64_t* covered) = 0;
  // Unmaps the slot's window. The device must be done with it.
  virtual void CompleteWindow(uint32_t slot) = 0;
  // How many windows can be prepared at once.
  virtual uint32_t Slots() const = 0;

  // Optional, for engines that move data with the CPU (the PIO engine): the CPU address of the
  // bytes [offset, offset + length), which must be contiguous in the caller's address space
  // (the dext maps the memory descriptor once, e.g. IOMemoryDescriptor::CreateMapping). The
  // address stays valid as long as this object lives. Memory that cannot be reached by the CPU
  // returns kIOReturnUnsupported (the default), out-of-range requests kIOReturnBadArgument.
  [[nodiscard]] virtual IOReturn MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) {
    return kIOReturnUnsupported;
  }

 protected:
  ~HostMemory() = default;
};

}  // namespace fpgadext::engine
