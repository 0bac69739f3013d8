// PreparedBuffer: memory the dext allocates and prepares for DMA once (descriptor rings, writeback
// words, a user client's in-band staging buffer) and keeps prepared while it lives.
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/engine/types.h>

namespace fpgadext::dext {

// A buffer allocated and prepared once for the device, with its bus segments. Going away
// completes the DMA preparation (the IOMMU mapping ends) and releases the memory.
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

 private:
  OSSharedPtr<IOBufferMemoryDescriptor> memory_;
  OSSharedPtr<IODMACommand> command_;
  bool prepared_ = false;
  engine::BusSegment segments_[engine::kMaxSegmentsPerWindow] = {};
  uint32_t segmentCount_ = 0;
  uint8_t* cpu_ = nullptr;
};

}  // namespace fpgadext::dext
