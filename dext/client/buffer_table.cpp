// Registered buffers (buffer_table.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "client/buffer_table.h"

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>

namespace fpgadext::dext::client {

namespace engine = fpgadext::engine;

namespace {

// One counter for the whole driver: an id another client was given never names a buffer here.
std::atomic<uint32_t> gBufferGeneration{0};

constexpr uint32_t kSegmentCapacity = kMaxBufferWindows * engine::kMaxSegmentsPerWindow;

}  // namespace

IOReturn BufferTable::Register(IOUserClient* client, IOPCIDevice* device, uint64_t address,
                               uint64_t length, uint64_t direction, uint32_t* slotOut,
                               uint64_t* id) {
  if (length == 0 || address + length < address || length > protocol::kMaxTransferLength ||
      direction < protocol::kBufferToCard || direction > protocol::kBufferBoth) {
    return kIOReturnBadArgument;
  }
  uint32_t slot = 0;
  while (slot < protocol::kMaxRegisteredBuffers && buffers_[slot].used) ++slot;
  if (slot == protocol::kMaxRegisteredBuffers) return kIOReturnNoResources;
  RegisteredBuffer& b = buffers_[slot];
  const uint64_t options = ((direction & protocol::kBufferToCard) ? kIOMemoryDirectionOut : 0) |
                           ((direction & protocol::kBufferFromCard) ? kIOMemoryDirectionIn : 0) |
                           kIOMemoryDisableCopyOnWrite;
  const IOAddressSegment segment{address, length};
  IOReturn ret = client->CreateMemoryDescriptorFromClient(options, 1, &segment, b.memory.attach());
  if (ret != kIOReturnSuccess) return ret;
  b.used = true;
  b.direction = direction;
  ret = Prepare(b, device, length);
  if (ret != kIOReturnSuccess) {
    Drop(slot);
    return ret;
  }
  b.generation = (gBufferGeneration.fetch_add(1, std::memory_order_relaxed) + 1) & 0xffffff;
  *slotOut = slot;
  *id = (static_cast<uint64_t>(b.generation) << 8) | slot;
  return kIOReturnSuccess;
}

// Prepares the whole buffer now, window by window, and keeps every window prepared.
IOReturn BufferTable::Prepare(RegisteredBuffer& b, IOPCIDevice* device, uint64_t length) {
  b.prepared.segments = IONewZero(engine::BusSegment, kSegmentCapacity);
  if (b.prepared.segments == nullptr) return kIOReturnNoMemory;
  b.hold = PreparationHold::Create();
  if (b.hold == nullptr) return kIOReturnNoMemory;
  b.hold->memory = b.memory;
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  for (uint64_t offset = 0; offset < length;) {
    const uint32_t n = b.hold->commandCount;
    if (n == kMaxBufferWindows) return kIOReturnNoResources;  // too fragmented
    OSSharedPtr<IODMACommand>& command = b.hold->commands[n];
    IOReturn ret = IODMACommand::Create(device, 0, &spec, command.attach());
    if (ret != kIOReturnSuccess) return ret;
    IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
    uint32_t count = engine::kMaxSegmentsPerWindow;
    uint64_t flags = 0;
    ret = command->PrepareForDMA(0, b.memory.get(), offset, length - offset, &flags, &count,
                                 segments);
    if (ret != kIOReturnSuccess) return ret;
    b.hold->commandCount = n + 1;  // prepared: the hold completes it
    uint64_t covered = 0;
    for (uint32_t i = 0; i < count; ++i) covered += segments[i].length;
    if (covered < length - offset) {
      // Partial window: prepare exactly what the segments cover, so the window maps no more.
      count = engine::kMaxSegmentsPerWindow;
      ret = command->PrepareForDMA(0, b.memory.get(), offset, covered, &flags, &count, segments);
      if (ret != kIOReturnSuccess) return ret;
    }
    for (uint32_t i = 0; i < count; ++i) {
      b.prepared.segments[b.prepared.count++] =
          engine::BusSegment{segments[i].address, segments[i].length};
    }
    offset += covered;
  }
  b.prepared.length = length;
  return kIOReturnSuccess;
}

RegisteredBuffer* BufferTable::Find(uint64_t id) {
  const uint32_t slot = SlotOf(id);
  if (slot >= protocol::kMaxRegisteredBuffers) return nullptr;
  RegisteredBuffer& b = buffers_[slot];
  return b.used && b.generation == engine::RingValidator::BufferIdGeneration(id) ? &b : nullptr;
}

void BufferTable::Drop(uint32_t slot) {
  RegisteredBuffer& b = buffers_[slot];
  if (b.hold != nullptr) {
    b.hold->Release();  // unmapped now, or when the last stuck channel that used it is idle
    b.hold = nullptr;
  }
  if (b.prepared.segments != nullptr) {
    IOSafeDeleteNULL(b.prepared.segments, engine::BusSegment, kSegmentCapacity);
  }
  b.prepared = PreparedSegments{};
  b.memory.reset();
  b.generation = 0;
  b.direction = 0;
  b.used = false;
}

void BufferTable::DropAll() {
  for (uint32_t i = 0; i < protocol::kMaxRegisteredBuffers; ++i) {
    if (buffers_[i].used) Drop(i);
  }
}

void BufferTable::SetRingVisible(uint32_t slot, bool visible) {
  const RegisteredBuffer& b = buffers_[slot];
  ringView_[slot] = visible ? engine::RingBuffer{true, b.generation, b.direction, b.prepared.length}
                            : engine::RingBuffer{};
}

}  // namespace fpgadext::dext::client
