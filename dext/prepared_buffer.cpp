// PreparedBuffer: allocate, map for the CPU, prepare for the device, and undo it in one place.
// PreparationHold: the shared preparation (prepared_buffer.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "prepared_buffer.h"

#include <DriverKit/IOLib.h>
#include <os/log.h>

namespace fpgadext::dext {

PreparationHold* PreparationHold::Create() {
  void* storage = IOMallocZero(sizeof(PreparationHold));
  return storage != nullptr ? new (storage) PreparationHold() : nullptr;
}

void PreparationHold::Retain() {
  references_.fetch_add(1, std::memory_order_relaxed);
}

void PreparationHold::Release() {
  if (references_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  this->~PreparationHold();
  IOFree(this, sizeof(PreparationHold));
}

void PreparationHold::HandTo(engine::WindowLease* lease) {
  Retain();
  lease->Hold([](void* hold, void*, uint64_t) { static_cast<PreparationHold*>(hold)->Release(); },
              this, nullptr, 0);
}

PreparationHold::~PreparationHold() {
  // The first commandCount commands were prepared; the rest (a prepare that failed) only go.
  for (uint32_t i = 0; i < commandCount; ++i) {
    const IOReturn completed = commands[i]->CompleteDMA(0);
    if (completed != kIOReturnSuccess) {
      os_log_error(OS_LOG_DEFAULT, "fpgadext: CompleteDMA failed: 0x%x", completed);
    }
  }
}

IOReturn PreparedBuffer::Prepare(IOService* device, uint64_t direction, uint64_t size) {
  Release();
  hold_ = PreparationHold::Create();
  if (hold_ == nullptr) return kIOReturnNoMemory;
  IOReturn ret = IOBufferMemoryDescriptor::Create(direction, size, 0, memory_.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = memory_->SetLength(size);
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment range{};
  ret = memory_->GetAddressRange(&range);
  if (ret != kIOReturnSuccess) return ret;
  if (range.address == 0 || range.length < size) return kIOReturnNoMemory;
  cpu_ = reinterpret_cast<uint8_t*>(range.address);
  hold_->memory.reset(memory_.get(), OSRetain);
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  OSSharedPtr<IODMACommand>& command = hold_->commands[0];
  ret = IODMACommand::Create(device, kIODMACommandCreateNoOptions, &spec, command.attach());
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
  uint32_t count = engine::kMaxSegmentsPerWindow;
  uint64_t flags = 0;
  ret = command->PrepareForDMA(0, memory_.get(), 0, size, &flags, &count, segments);
  if (ret != kIOReturnSuccess) return ret;
  hold_->commandCount = 1;  // prepared: the hold completes it
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
  if (hold_ != nullptr) {
    hold_->Release();  // completes the preparation, unless a stuck window still holds it
    hold_ = nullptr;
  }
  memory_.reset();
  segmentCount_ = 0;
  cpu_ = nullptr;
}

}  // namespace fpgadext::dext
