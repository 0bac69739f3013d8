// FpgaUserClient: the selectors of the protocol. Every path ends in FpgaDriver::Transfer with
// an engine::HostMemory over the memory the data lives in:
//   in-band (≤ 4096)      the client's staging buffer, prepared once (one copy each way: the
//                         bytes travel in the message anyway);
//   out-of-line struct    the descriptor the kernel made for the app's buffer;
//   client memory         CreateMemoryDescriptorFromClient on the address and length passed
//                         as scalars — any size, any alignment, no copy;
//   registered buffer     a client-memory descriptor prepared once at registration.
#include "FpgaUserClient.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSData.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/protocol.h>
#include <os/log.h>

#include "FpgaDriver.h"
#include "bar_layout.h"
#include "descriptor_host_memory.h"

namespace protocol = fpgadext::protocol;
using fpgadext::dext::BarLayout;
using fpgadext::dext::DescriptorHostMemory;
using fpgadext::dext::PreparedHostMemory;
using fpgadext::dext::PreparedSegments;
namespace engine = fpgadext::engine;

namespace {

constexpr uint32_t kToCard = 0;    // engine::Direction::kHostToCard
constexpr uint32_t kFromCard = 1;  // engine::Direction::kCardToHost
constexpr uint32_t kMaxSlots = 8;  // window slots of one transfer (≥ channels of a direction)
constexpr uint32_t kMaxBufferWindows = 64;  // PrepareForDMA windows of one registered buffer
constexpr uint64_t kStagingSize = protocol::kInbandMax;

struct RegisteredBuffer {
  bool used;
  uint32_t generation;
  uint64_t direction;  // protocol::BufferDirection
  IOMemoryDescriptor* memory;
  IODMACommand* commands[kMaxBufferWindows];
  uint32_t commandCount;
  PreparedSegments prepared;
};

}  // namespace

struct FpgaUserClient_IVars {
  FpgaDriver* driver;
  IODMACommand* commands[kMaxSlots];
  uint32_t slots;
  IOBufferMemoryDescriptor* staging;
  uint8_t* stagingAddress;
  IODMACommand* stagingCommand;
  PreparedSegments stagingSegments;
  engine::BusSegment stagingSegment[1];
  RegisteredBuffer* buffers;  // protocol::kMaxRegisteredBuffers of them
};

namespace {

FpgaUserClient* Self(OSObject* target) { return static_cast<FpgaUserClient*>(target); }

#define FPGADEXT_METHOD(name, call)                                                     \
  kern_return_t name(OSObject* target, void*, IOUserClientMethodArguments* arguments) { \
    return Self(target)->call;                                                          \
  }
FPGADEXT_METHOD(GetDeviceInfoMethod, GetDeviceInfo(arguments))
FPGADEXT_METHOD(ReadInbandMethod, ReadInband(arguments))
FPGADEXT_METHOD(WriteInbandMethod, WriteInband(arguments))
FPGADEXT_METHOD(ReadOutOfLineMethod, ReadOutOfLine(arguments))
FPGADEXT_METHOD(WriteOutOfLineMethod, WriteOutOfLine(arguments))
FPGADEXT_METHOD(ReadClientMemoryMethod, ClientMemory(arguments, kFromCard))
FPGADEXT_METHOD(WriteClientMemoryMethod, ClientMemory(arguments, kToCard))
FPGADEXT_METHOD(RegisterReadMethod, RegisterAccess(arguments, false))
FPGADEXT_METHOD(RegisterWriteMethod, RegisterAccess(arguments, true))
FPGADEXT_METHOD(RegisterBufferMethod, RegisterBuffer(arguments))
FPGADEXT_METHOD(UnregisterBufferMethod, UnregisterBuffer(arguments))
FPGADEXT_METHOD(ReadRegisteredMethod, RegisteredTransfer(arguments, kFromCard))
FPGADEXT_METHOD(WriteRegisteredMethod, RegisteredTransfer(arguments, kToCard))

kern_return_t NopMethod(OSObject*, void*, IOUserClientMethodArguments*) { return kIOReturnSuccess; }
#undef FPGADEXT_METHOD

constexpr uint32_t kAny = kIOUserClientVariableStructureSize;

// The dispatch table: scalar counts and structure sizes are checked by IOUserClient before a
// method runs; sizes that vary are checked by the method.
// In selector order (protocol.h).
const IOUserClientMethodDispatch kMethods[] = {
    {GetDeviceInfoMethod, 0, 0, 0, protocol::kDeviceInfoCount, 0},
    {ReadInbandMethod, 0, 2, 0, 0, kAny},
    {WriteInbandMethod, 0, 1, kAny, 0, 0},
    {ReadOutOfLineMethod, 0, 1, 0, 0, kAny},
    {WriteOutOfLineMethod, 0, 1, kAny, 0, 0},
    {ReadClientMemoryMethod, 0, 3, 0, 0, 0},
    {WriteClientMemoryMethod, 0, 3, 0, 0, 0},
    {RegisterReadMethod, 0, 3, 0, 1, 0},
    {RegisterWriteMethod, 0, 4, 0, 0, 0},
    {RegisterBufferMethod, 0, 3, 0, 1, 0},
    {UnregisterBufferMethod, 0, 1, 0, 0, 0},
    {ReadRegisteredMethod, 0, 4, 0, 0, 0},
    {WriteRegisteredMethod, 0, 4, 0, 0, 0},
    {NopMethod, 0, 0, 0, 0, 0},
};

static_assert(sizeof(kMethods) / sizeof(kMethods[0]) == protocol::kSelectorCount,
              "one dispatch entry per selector");

// Releases what a registration holds and marks the slot free.
void DropBuffer(RegisteredBuffer& b) {
  for (uint32_t i = 0; i < b.commandCount; ++i) {
    b.commands[i]->CompleteDMA(0);
    OSSafeReleaseNULL(b.commands[i]);
  }
  b.commandCount = 0;
  if (b.prepared.segments) {
    IOSafeDeleteNULL(b.prepared.segments, engine::BusSegment,
                     kMaxBufferWindows * engine::kMaxSegmentsPerWindow);
  }
  b.prepared.count = 0;
  b.prepared.length = 0;
  OSSafeReleaseNULL(b.memory);
  b.used = false;
}

}  // namespace

bool FpgaUserClient::init() {
  if (!super::init()) return false;
  ivars = IONewZero(FpgaUserClient_IVars, 1);
  if (ivars == nullptr) return false;
  ivars->buffers = IONewZero(RegisteredBuffer, protocol::kMaxRegisteredBuffers);
  return ivars->buffers != nullptr;
}

void FpgaUserClient::free() {
  if (ivars != nullptr) {
    IOSafeDeleteNULL(ivars->buffers, RegisteredBuffer, protocol::kMaxRegisteredBuffers);
  }
  IOSafeDeleteNULL(ivars, FpgaUserClient_IVars, 1);
  super::free();
}

kern_return_t IMPL(FpgaUserClient, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->driver = OSDynamicCast(FpgaDriver, provider);
  if (ivars->driver == nullptr) return kIOReturnBadArgument;
  ivars->driver->retain();

  // Everything a transfer needs is made now, so that no transfer allocates.
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  ivars->slots = ivars->driver->WindowSlots();
  if (ivars->slots > kMaxSlots) ivars->slots = kMaxSlots;
  for (uint32_t i = 0; i < ivars->slots; ++i) {
    ret = IODMACommand::Create(ivars->driver->GetDevice(), 0, &spec, &ivars->commands[i]);
    if (ret != kIOReturnSuccess) return ret;
  }
  ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, kStagingSize, 0, &ivars->staging);
  if (ret != kIOReturnSuccess) return ret;
  ivars->staging->SetLength(kStagingSize);
  IOAddressSegment range{};
  ivars->staging->GetAddressRange(&range);
  ivars->stagingAddress = reinterpret_cast<uint8_t*>(range.address);
  ret = IODMACommand::Create(ivars->driver->GetDevice(), 0, &spec, &ivars->stagingCommand);
  if (ret != kIOReturnSuccess) return ret;
  // The staging buffer is prepared once and stays prepared.
  IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
  uint32_t count = engine::kMaxSegmentsPerWindow;
  uint64_t flags = 0;
  ret = ivars->stagingCommand->PrepareForDMA(0, ivars->staging, 0, kStagingSize, &flags, &count,
                                             segments);
  if (ret != kIOReturnSuccess) return ret;
  if (count != 1) return kIOReturnNoResources;  // one page: one segment
  ivars->stagingSegment[0] = engine::BusSegment{segments[0].address, segments[0].length};
  ivars->stagingSegments = PreparedSegments{ivars->stagingSegment, 1, kStagingSize};
  return kIOReturnSuccess;
}

kern_return_t IMPL(FpgaUserClient, Stop) {
  // The app closed its connection or died: its registrations go with it.
  for (uint32_t i = 0; i < protocol::kMaxRegisteredBuffers; ++i) {
    if (ivars->buffers[i].used) DropBuffer(ivars->buffers[i]);
  }
  if (ivars->stagingCommand) ivars->stagingCommand->CompleteDMA(0);
  OSSafeReleaseNULL(ivars->stagingCommand);
  OSSafeReleaseNULL(ivars->staging);
  for (uint32_t i = 0; i < kMaxSlots; ++i) OSSafeReleaseNULL(ivars->commands[i]);
  OSSafeReleaseNULL(ivars->driver);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t FpgaUserClient::ExternalMethod(uint64_t selector,
                                             IOUserClientMethodArguments* arguments,
                                             const IOUserClientMethodDispatch* dispatch,
                                             OSObject* target, void* reference) {
  if (selector >= protocol::kSelectorCount) return kIOReturnBadArgument;
  return super::ExternalMethod(selector, arguments, &kMethods[selector], this, nullptr);
}

kern_return_t IMPL(FpgaUserClient, CopyClientMemoryForType) {
  if (type > protocol::kMemoryTypeBarLast) return kIOReturnBadArgument;
  const BarLayout* layout = ivars->driver->GetBarLayout();
  const int bar = static_cast<int>(type - protocol::kMemoryTypeBar0);
  if (!layout->bars[bar].present) return kIOReturnBadArgument;
  // The DMA engine's registers are the driver's: an app poking them could break every client.
  if (bar == layout->dmaBar) return kIOReturnNotPermitted;
  return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(layout->bars[bar].memoryIndex,
                                                                memory, this);
}

kern_return_t FpgaUserClient::GetDeviceInfo(IOUserClientMethodArguments* arguments) {
  ivars->driver->GetDeviceInfo(arguments->scalarOutput);
  arguments->scalarOutputCount = protocol::kDeviceInfoCount;
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::ReadInband(IOUserClientMethodArguments* arguments) {
  const uint64_t card = arguments->scalarInput[0];
  const uint64_t length = arguments->scalarInput[1];
  if (arguments->structureOutputDescriptor != nullptr || length > kStagingSize ||
      length > arguments->structureOutputMaximumSize) {
    return kIOReturnBadArgument;
  }
  if (length != 0) {
    PreparedHostMemory host(ivars->stagingSegments, ivars->staging, 0, length, 1);
    kern_return_t ret = ivars->driver->Transfer(kFromCard, card, &host, length);
    if (ret != kIOReturnSuccess) return ret;
  }
  OSData* data = OSData::withBytes(ivars->stagingAddress, length);
  if (data == nullptr) return kIOReturnNoMemory;
  arguments->structureOutput = data;  // the OS consumes this reference
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::WriteInband(IOUserClientMethodArguments* arguments) {
  const uint64_t card = arguments->scalarInput[0];
  if (arguments->structureInputDescriptor != nullptr) return kIOReturnBadArgument;
  if (arguments->structureInput == nullptr) return kIOReturnSuccess;  // 0 bytes
  const uint64_t length = arguments->structureInput->getLength();
  if (length > kStagingSize) return kIOReturnBadArgument;
  __builtin_memcpy(ivars->stagingAddress, arguments->structureInput->getBytesNoCopy(), length);
  PreparedHostMemory host(ivars->stagingSegments, ivars->staging, 0, length, 1);
  return ivars->driver->Transfer(kToCard, card, &host, length);
}

kern_return_t FpgaUserClient::ReadOutOfLine(IOUserClientMethodArguments* arguments) {
  IOMemoryDescriptor* memory = arguments->structureOutputDescriptor;
  if (memory == nullptr) return kIOReturnBadArgument;
  uint64_t length = 0;
  memory->GetLength(&length);
  DescriptorHostMemory host(memory, 0, length, ivars->commands, ivars->slots);
  return ivars->driver->Transfer(kFromCard, arguments->scalarInput[0], &host, length);
}

kern_return_t FpgaUserClient::WriteOutOfLine(IOUserClientMethodArguments* arguments) {
  IOMemoryDescriptor* memory = arguments->structureInputDescriptor;
  if (memory == nullptr) return kIOReturnBadArgument;
  uint64_t length = 0;
  memory->GetLength(&length);
  DescriptorHostMemory host(memory, 0, length, ivars->commands, ivars->slots);
  return ivars->driver->Transfer(kToCard, arguments->scalarInput[0], &host, length);
}

// Whether every byte of an app range can be prepared for the device to read: tells "read-only"
// from "not mapped" after preparing it for the device to write failed.
bool FpgaUserClient::ReadableThroughout(const IOAddressSegment& range) {
  IOMemoryDescriptor* probe = nullptr;
  if (CreateMemoryDescriptorFromClient(kIOMemoryDirectionOut, 1, &range, &probe) !=
      kIOReturnSuccess) {
    return false;
  }
  bool readable = true;
  for (uint64_t offset = 0; readable && offset < range.length;) {
    IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
    uint32_t count = engine::kMaxSegmentsPerWindow;
    uint64_t flags = 0;
    if (ivars->commands[0]->PrepareForDMA(0, probe, offset, range.length - offset, &flags, &count,
                                          segments) != kIOReturnSuccess) {
      readable = false;
      break;
    }
    uint64_t covered = 0;
    for (uint32_t i = 0; i < count; ++i) covered += segments[i].length;
    ivars->commands[0]->CompleteDMA(0);
    offset += covered;
  }
  probe->release();
  return readable;
}

kern_return_t FpgaUserClient::ClientMemory(IOUserClientMethodArguments* arguments,
                                           uint32_t direction) {
  const uint64_t card = arguments->scalarInput[0];
  const uint64_t address = arguments->scalarInput[1];
  const uint64_t length = arguments->scalarInput[2];
  if (length == 0) return kIOReturnSuccess;
  if (address + length < address || length > protocol::kMaxTransferLength) {
    return kIOReturnBadArgument;
  }
  // The card writes app memory on a read (In), reads it on a write (Out). Copy-on-write off:
  // the PIO engine maps the memory and must see (and change) the app's pages themselves.
  const uint64_t options =
      (direction == kFromCard ? kIOMemoryDirectionIn : kIOMemoryDirectionOut) |
      kIOMemoryDisableCopyOnWrite;
  const IOAddressSegment segment{address, length};
  IOMemoryDescriptor* memory = nullptr;
  kern_return_t ret = CreateMemoryDescriptorFromClient(options, 1, &segment, &memory);
  if (ret != kIOReturnSuccess) return ret;
  {
    DescriptorHostMemory host(memory, 0, length, ivars->commands, ivars->slots);
    ret = ivars->driver->Transfer(direction, card, &host, length);
  }
  if (ret == kIOReturnVMError && direction == kFromCard && ReadableThroughout(segment)) {
    ret = kIOReturnNotWritable;  // mapped everywhere, yet not writable: read-only memory
  }
  memory->release();
  return ret;
}

kern_return_t FpgaUserClient::RegisterAccess(IOUserClientMethodArguments* arguments, bool write) {
  const uint64_t bar = arguments->scalarInput[0];
  const uint64_t offset = arguments->scalarInput[1];
  const uint64_t width = arguments->scalarInput[2];
  const BarLayout* layout = ivars->driver->GetBarLayout();
  if (bar > 5 || !layout->bars[bar].present) return kIOReturnBadArgument;
  if (static_cast<int>(bar) == layout->dmaBar) return kIOReturnNotPermitted;
  if ((width != 1 && width != 2 && width != 4 && width != 8) || offset % width != 0 ||
      offset >= layout->bars[bar].size || width > layout->bars[bar].size - offset) {
    return kIOReturnBadArgument;
  }
  IOPCIDevice* device = ivars->driver->GetDevice();
  const uint8_t index = layout->bars[bar].memoryIndex;
  if (write) {
    const uint64_t value = arguments->scalarInput[3];
    switch (width) {
      case 1: device->MemoryWrite8(index, offset, static_cast<uint8_t>(value)); break;
      case 2: device->MemoryWrite16(index, offset, static_cast<uint16_t>(value)); break;
      case 4: device->MemoryWrite32(index, offset, static_cast<uint32_t>(value)); break;
      default: device->MemoryWrite64(index, offset, value); break;
    }
    return kIOReturnSuccess;
  }
  uint64_t value = 0;
  switch (width) {
    case 1: { uint8_t v; device->MemoryRead8(index, offset, &v); value = v; break; }
    case 2: { uint16_t v; device->MemoryRead16(index, offset, &v); value = v; break; }
    case 4: { uint32_t v; device->MemoryRead32(index, offset, &v); value = v; break; }
    default: device->MemoryRead64(index, offset, &value); break;
  }
  arguments->scalarOutput[0] = value;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::RegisterBuffer(IOUserClientMethodArguments* arguments) {
  const uint64_t address = arguments->scalarInput[0];
  const uint64_t length = arguments->scalarInput[1];
  const uint64_t direction = arguments->scalarInput[2];
  if (length == 0 || address + length < address || length > protocol::kMaxTransferLength ||
      direction < protocol::kBufferToCard || direction > protocol::kBufferBoth) {
    return kIOReturnBadArgument;
  }
  uint32_t slot = 0;
  while (slot < protocol::kMaxRegisteredBuffers && ivars->buffers[slot].used) ++slot;
  if (slot == protocol::kMaxRegisteredBuffers) return kIOReturnNoResources;
  RegisteredBuffer& b = ivars->buffers[slot];
  const uint64_t options = ((direction & protocol::kBufferToCard) ? kIOMemoryDirectionOut : 0) |
                           ((direction & protocol::kBufferFromCard) ? kIOMemoryDirectionIn : 0) |
                           kIOMemoryDisableCopyOnWrite;
  const IOAddressSegment segment{address, length};
  kern_return_t ret = CreateMemoryDescriptorFromClient(options, 1, &segment, &b.memory);
  if (ret != kIOReturnSuccess) return ret;
  b.used = true;
  b.direction = direction;
  b.prepared.segments =
      IONewZero(engine::BusSegment, kMaxBufferWindows * engine::kMaxSegmentsPerWindow);
  if (b.prepared.segments == nullptr) {
    DropBuffer(b);
    return kIOReturnNoMemory;
  }
  // Prepare the whole buffer now, window by window, and keep every window prepared.
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  uint64_t offset = 0;
  while (offset < length) {
    if (b.commandCount == kMaxBufferWindows) {
      ret = kIOReturnNoResources;  // too fragmented to keep prepared
      break;
    }
    IODMACommand*& command = b.commands[b.commandCount];
    ret = IODMACommand::Create(ivars->driver->GetDevice(), 0, &spec, &command);
    if (ret != kIOReturnSuccess) break;
    ++b.commandCount;
    IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
    uint32_t count = engine::kMaxSegmentsPerWindow;
    uint64_t flags = 0;
    ret = command->PrepareForDMA(0, b.memory, offset, length - offset, &flags, &count, segments);
    if (ret != kIOReturnSuccess) break;
    uint64_t covered = 0;
    for (uint32_t i = 0; i < count; ++i) covered += segments[i].length;
    if (covered < length - offset) {
      // Partial window: prepare exactly what the segments cover, so the window maps no more.
      count = engine::kMaxSegmentsPerWindow;
      ret = command->PrepareForDMA(0, b.memory, offset, covered, &flags, &count, segments);
      if (ret != kIOReturnSuccess) break;
    }
    for (uint32_t i = 0; i < count; ++i) {
      b.prepared.segments[b.prepared.count++] =
          engine::BusSegment{segments[i].address, segments[i].length};
    }
    offset += covered;
  }
  if (ret != kIOReturnSuccess) {
    DropBuffer(b);
    return ret == kIOReturnVMError && (direction & protocol::kBufferFromCard) ? kIOReturnVMError
                                                                              : ret;
  }
  b.prepared.length = length;
  b.generation = (b.generation + 1) & 0xffffff;
  arguments->scalarOutput[0] = (static_cast<uint64_t>(b.generation) << 8) | slot;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

static RegisteredBuffer* FindBuffer(RegisteredBuffer* buffers, uint64_t id) {
  const uint64_t slot = id & 0xff;
  if (slot >= fpgadext::protocol::kMaxRegisteredBuffers) return nullptr;
  RegisteredBuffer& b = buffers[slot];
  return b.used && b.generation == (id >> 8) ? &b : nullptr;
}

kern_return_t FpgaUserClient::UnregisterBuffer(IOUserClientMethodArguments* arguments) {
  RegisteredBuffer* b = FindBuffer(ivars->buffers, arguments->scalarInput[0]);
  if (b == nullptr) return kIOReturnNotFound;
  DropBuffer(*b);
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::RegisteredTransfer(IOUserClientMethodArguments* arguments,
                                                 uint32_t direction) {
  RegisteredBuffer* b = FindBuffer(ivars->buffers, arguments->scalarInput[0]);
  if (b == nullptr) return kIOReturnNotFound;
  const uint64_t offset = arguments->scalarInput[1];
  const uint64_t card = arguments->scalarInput[2];
  const uint64_t length = arguments->scalarInput[3];
  const uint64_t needed = direction == kFromCard ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(b->direction & needed)) return kIOReturnNotPermitted;
  if (offset > b->prepared.length || length > b->prepared.length - offset) {
    return kIOReturnBadArgument;
  }
  if (length == 0) return kIOReturnSuccess;
  PreparedHostMemory host(b->prepared, b->memory, offset, length, ivars->slots);
  return ivars->driver->Transfer(direction, card, &host, length);
}
