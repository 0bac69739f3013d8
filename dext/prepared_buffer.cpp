// PreparedBuffer: allocate, map for the CPU, prepare for the device, and undo it in one place.
#include "prepared_buffer.h"

#include <DriverKit/IOLib.h>
#include <os/log.h>

namespace fpgadext::dext {

IOReturn PreparedBuffer::Prepare(IOService* device, uint64_t direction, uint64_t size) {
  Release();
  IOReturn ret = IOBufferMemoryDescriptor::Create(direction, size, 0, memory_.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = memory_->SetLength(size);
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment range{};
  ret = memory_->GetAddressRange(&range);
  if (ret != kIOReturnSuccess) return ret;
  if (range.address == 0 || range.length < size) return kIOReturnNoMemory;
  cpu_ = reinterpret_cast<uint8_t*>(range.address);
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  ret = IODMACommand::Create(device, kIODMACommandCreateNoOptions, &spec, command_.attach());
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
  uint32_t count = engine::kMaxSegmentsPerWindow;
  uint64_t flags = 0;
  ret = command_->PrepareForDMA(0, memory_.get(), 0, size, &flags, &count, segments);
  if (ret != kIOReturnSuccess) return ret;
  prepared_ = true;
  uint64_t covered = 0;
  for (uint32_t i = 0; i < count; ++i) {
    segments_[i] = engine::BusSegment{segments[i].address, segments[i].length};
    covered += segments[i].length;
  }
  segmentCount_ = count;
  // The engine needs the whole buffer; the caller's failure path releases this one too.
  return covered == size ? kIOReturnSuccess : kIOReturnNoResources;
}

void PreparedBuffer::Release() {
  if (prepared_) {
    const IOReturn completed = command_->CompleteDMA(0);
    if (completed != kIOReturnSuccess) {
      os_log_error(OS_LOG_DEFAULT, "fpgadext: CompleteDMA failed: 0x%x", completed);
    }
    prepared_ = false;
  }
  command_.reset();
  memory_.reset();
  segmentCount_ = 0;
  cpu_ = nullptr;
}

}  // namespace fpgadext::dext
