#include "descriptor_host_memory.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>

namespace fpgadext::dext {

DescriptorHostMemory::DescriptorHostMemory(IOMemoryDescriptor* memory, uint64_t base,
                                           uint64_t length, IODMACommand** commands, uint32_t slots)
    : memory_(memory), base_(base), length_(length), commands_(commands), slots_(slots) {}

DescriptorHostMemory::~DescriptorHostMemory() {
  OSSafeReleaseNULL(map_);
}

IOReturn DescriptorHostMemory::PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                                             engine::BusSegment* segments, uint32_t* count,
                                             uint64_t* covered) {
  if (slot >= slots_ || offset > length_ || length > length_ - offset || length == 0 ||
      *count == 0) {
    return kIOReturnBadArgument;
  }
  if (commands_[slot] == nullptr) return kIOReturnNotReady;  // handed over, not yet renewed
  IOAddressSegment prepared[engine::kMaxSegmentsPerWindow];
  uint32_t n = *count < engine::kMaxSegmentsPerWindow ? *count : engine::kMaxSegmentsPerWindow;
  uint64_t flags = 0;
  IOReturn ret =
      commands_[slot]->PrepareForDMA(0, memory_, base_ + offset, length, &flags, &n, prepared);
  if (ret != kIOReturnSuccess) return ret;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; ++i) {
    segments[i] = engine::BusSegment{prepared[i].address, prepared[i].length};
    sum += prepared[i].length;
  }
  *count = n;
  *covered = sum < length ? sum : length;
  return kIOReturnSuccess;
}

void DescriptorHostMemory::CompleteWindow(uint32_t slot) {
  if (slot < slots_ && commands_[slot] != nullptr) commands_[slot]->CompleteDMA(0);
}

bool DescriptorHostMemory::HandOverWindow(uint32_t slot, engine::WindowLease* lease) {
  if (slot >= slots_ || commands_[slot] == nullptr || lease == nullptr) return false;
  IODMACommand* command = commands_[slot];
  commands_[slot] = nullptr;  // the caller's reference is now the lease's
  memory_->retain();
  lease->Hold(
      [](void* heldCommand, void* heldMemory, uint64_t) {
        auto* c = static_cast<IODMACommand*>(heldCommand);
        c->CompleteDMA(0);
        c->release();
        static_cast<IOMemoryDescriptor*>(heldMemory)->release();
      },
      command, memory_, 0);
  return true;
}

IOReturn DescriptorHostMemory::MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) {
  if (offset > length_ || length > length_ - offset || address == nullptr) {
    return kIOReturnBadArgument;
  }
  OSSafeReleaseNULL(map_);
  IOReturn ret = memory_->CreateMapping(0, 0, base_ + offset, length, 0, &map_);
  if (ret != kIOReturnSuccess) return ret;
  *address = reinterpret_cast<uint8_t*>(map_->GetAddress());
  return kIOReturnSuccess;
}

IOReturn PreparedHostMemory::PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                                           engine::BusSegment* segments, uint32_t* count,
                                           uint64_t* covered) {
  if (slot >= slots_ || offset > length_ || length > length_ - offset || length == 0 ||
      *count == 0) {
    return kIOReturnBadArgument;
  }
  // Find the segment holding byte base + offset, then slice up to *count segments.
  uint64_t skip = base_ + offset;
  uint32_t i = 0;
  while (i < prepared_.count && skip >= prepared_.segments[i].length) {
    skip -= prepared_.segments[i].length;
    ++i;
  }
  uint32_t n = 0;
  uint64_t sum = 0;
  while (i < prepared_.count && n < *count && sum < length) {
    const engine::BusSegment& s = prepared_.segments[i++];
    uint64_t take = s.length - skip;
    if (take > length - sum) take = length - sum;
    segments[n++] = engine::BusSegment{s.address + skip, take};
    sum += take;
    skip = 0;
  }
  *count = n;
  *covered = sum;
  return n ? kIOReturnSuccess : kIOReturnBadArgument;
}

}  // namespace fpgadext::dext
