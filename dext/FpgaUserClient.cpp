// FpgaUserClient: the selectors of the protocol. Every path ends in FpgaDriver::Transfer with
// an engine::HostMemory over the memory the data lives in:
//   in-band (≤ 4096)      the client's staging buffer, prepared once (one copy each way: the
//                         bytes travel in the message anyway);
//   out-of-line struct    the descriptor the kernel made for the app's buffer;
//   client memory         CreateMemoryDescriptorFromClient on the address and length passed
//                         as scalars — any size, any alignment, no copy;
//   registered buffer     a client-memory descriptor prepared once at registration.
// Async calls (ReadAsync/WriteAsync) start a transfer and return; a dispatch queue of the
// client's polls it and sends AsyncCompletion. The submission ring (docs/ring.md) is polled on a
// queue of its own, so that steady-state ring I/O needs no driver call at all.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "FpgaUserClient.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/protocol.h>
#include <os/log.h>

#include "FpgaDriver.h"
#include "bar_layout.h"
#include "descriptor_host_memory.h"
#include "polling.h"

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
// What a Mac's wiring (xnu vm_map_create_upl, passed through PrepareForDMA) returns for pages
// without the access the card needs: Mach's KERN_PROTECTION_FAILURE, which the DriverKit SDK
// does not name (its IOReturn.h defines only KERN_SUCCESS).
constexpr IOReturn kWiringProtectionFailure = 2;

struct RegisteredBuffer {
  bool used;
  bool ringVisible;  // the ring may use it (written on the ring's queue while a ring exists)
  uint32_t generation;
  uint64_t direction;  // protocol::BufferDirection
  IOMemoryDescriptor* memory;
  IODMACommand* commands[kMaxBufferWindows];
  uint32_t commandCount;
  PreparedSegments prepared;
};

// One async transfer: claimed on the ExternalMethod queue (busy), polled and completed on the
// client's async queue, which then frees it. Its IODMACommands are made on first use and kept.
struct AsyncOp {
  std::atomic<bool> busy;
  bool active;  // async queue only: being polled
  uint32_t direction;
  uint64_t tag;
  IOAddressSegment range;
  IOMemoryDescriptor* memory;
  OSAction* action;
  IODMACommand* commands[kMaxSlots];
  uint32_t commandCount;
  DescriptorHostMemory* host;  // constructed in hostStorage
  alignas(DescriptorHostMemory) unsigned char hostStorage[sizeof(DescriptorHostMemory)];
  engine::TransferJob job;
};

// A client's submission ring (docs/ring.md).
struct RingState {
  IOBufferMemoryDescriptor* memory;
  uint8_t* base;
  uint32_t entries;
  uint64_t directions;   // protocol::RingDirection mask
  uint32_t channels[2];  // the channel this ring owns, per engine direction (mask; 0 = none)
  IODispatchQueue* queue;
  std::atomic<bool> stopping;
  // Ring queue only:
  uint32_t sqHead;  // the dext's own copies: the shared ones are only ever written
  uint32_t cqTail;
  uint32_t errors;
  uint64_t lastWorkNs;
  OSAction* waiter;  // kSelectorRingWait in progress
  uint64_t waitIndex;
  engine::TransferJob job;
};

// Buffer ids carry a generation from one counter for the whole driver: an id another client
// was given never names a buffer of this one.
std::atomic<uint32_t> gBufferGeneration{0};

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
  AsyncOp* ops;               // protocol::kMaxAsyncInFlight of them
  IODispatchQueue* asyncQueue;
  bool pollScheduled;  // async queue only
  RingState* ring;     // ExternalMethod (default) queue only
  // Set first thing in Stop (__atomic). A call that raced IOServiceClose can be queued behind
  // Stop and run after it: it is refused instead of reaching the released driver.
  bool stopped;
};

namespace {

// Defined with the async and ring code at the end of this file.
void StopAsync(FpgaUserClient* self);
void StopRing(FpgaUserClient* self);
void SetRingVisible(FpgaUserClient* self, RegisteredBuffer& buffer, bool visible);

FpgaUserClient* Self(OSObject* target) {
  return static_cast<FpgaUserClient*>(target);
}

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
FPGADEXT_METHOD(ReadAsyncMethod, AsyncTransfer(arguments, kFromCard))
FPGADEXT_METHOD(WriteAsyncMethod, AsyncTransfer(arguments, kToCard))
FPGADEXT_METHOD(RingCreateMethod, RingCreate(arguments))
FPGADEXT_METHOD(RingDestroyMethod, RingDestroy(arguments))
FPGADEXT_METHOD(RingWaitMethod, RingWait(arguments))

kern_return_t NopMethod(OSObject*, void*, IOUserClientMethodArguments*) {
  return kIOReturnSuccess;
}
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
    {ReadAsyncMethod, 1, 4, 0, 0, 0},  // async only
    {WriteAsyncMethod, 1, 4, 0, 0, 0},
    {RingCreateMethod, 0, 2, 0, 1, 0},
    {RingDestroyMethod, 0, 0, 0, 0, 0},
    {RingWaitMethod, 1, 1, 0, 0, 0},
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
  ivars->ops = IONewZero(AsyncOp, protocol::kMaxAsyncInFlight);
  return ivars->buffers != nullptr && ivars->ops != nullptr;
}

void FpgaUserClient::free() {
  if (ivars != nullptr) {
    IOSafeDeleteNULL(ivars->buffers, RegisteredBuffer, protocol::kMaxRegisteredBuffers);
    IOSafeDeleteNULL(ivars->ops, AsyncOp, protocol::kMaxAsyncInFlight);
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
  return IODispatchQueue::Create("fpgadext.async", 0, 0, &ivars->asyncQueue);
}

kern_return_t IMPL(FpgaUserClient, Stop) {
  __atomic_store_n(&ivars->stopped, true, __ATOMIC_RELEASE);
  // The app closed its connection or died. Its ring stops first (the entry in flight finishes
  // or is aborted), then every async transfer still running is stopped and completed with
  // kIOReturnAborted: nothing touches the app's memory once Stop returns.
  StopRing(this);
  StopAsync(this);
  // Its registrations go with it.
  for (uint32_t i = 0; i < protocol::kMaxRegisteredBuffers; ++i) {
    if (ivars->buffers[i].used) DropBuffer(ivars->buffers[i]);
  }
  if (ivars->stagingCommand) ivars->stagingCommand->CompleteDMA(0);
  OSSafeReleaseNULL(ivars->stagingCommand);
  OSSafeReleaseNULL(ivars->staging);
  for (uint32_t i = 0; i < kMaxSlots; ++i) OSSafeReleaseNULL(ivars->commands[i]);
  for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) {
    AsyncOp& op = ivars->ops[i];
    for (uint32_t c = 0; c < op.commandCount; ++c) OSSafeReleaseNULL(op.commands[c]);
    op.commandCount = 0;
  }
  OSSafeReleaseNULL(ivars->asyncQueue);
  OSSafeReleaseNULL(ivars->driver);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t FpgaUserClient::ExternalMethod(uint64_t selector,
                                             IOUserClientMethodArguments* arguments,
                                             const IOUserClientMethodDispatch* dispatch,
                                             OSObject* target, void* reference) {
  // What a Mac answers for a call into a DriverKit service that can no longer take it: xnu
  // IOUserServer.cpp returns kIOReturnOffline from IOUserServer::rpc for an inactive server and
  // from IOUserServer::instantiate for an inactive service.
  if (__atomic_load_n(&ivars->stopped, __ATOMIC_ACQUIRE)) return kIOReturnOffline;
  if (selector >= protocol::kSelectorCount) return kIOReturnBadArgument;
  return super::ExternalMethod(selector, arguments, &kMethods[selector], this, nullptr);
}

kern_return_t IMPL(FpgaUserClient, CopyClientMemoryForType) {
  if (__atomic_load_n(&ivars->stopped, __ATOMIC_ACQUIRE)) return kIOReturnOffline;
  if (type == protocol::kMemoryTypeRing) {
    if (ivars->ring == nullptr) return kIOReturnNotReady;
    ivars->ring->memory->retain();  // +1: the kernel releases one reference
    *memory = ivars->ring->memory;
    return kIOReturnSuccess;
  }
  if (type > protocol::kMemoryTypeBarLast) return kIOReturnBadArgument;
  const BarLayout* layout = ivars->driver->GetBarLayout();
  const int bar = static_cast<int>(type - protocol::kMemoryTypeBar0);
  if (!layout->bars[bar].present) return kIOReturnBadArgument;
  // The DMA engine's registers are the driver's: an app poking them could break every client.
  if (bar == layout->dmaBar) return kIOReturnNotPermitted;
  // The device hands out its memory only to the service that opened it: the driver, not us
  // (IOPCIFamily IOPCIDevice.cpp, _CopyDeviceMemoryWithIndex; kIOReturnNotOpen otherwise).
  return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(layout->bars[bar].memoryIndex,
                                                                memory, ivars->driver);
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
bool FpgaUserClient::ReadableThroughout(const IOAddressSegment& range, IODMACommand* command) {
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
    if (command->PrepareForDMA(0, probe, offset, range.length - offset, &flags, &count, segments) !=
        kIOReturnSuccess) {
      readable = false;
      break;
    }
    uint64_t covered = 0;
    for (uint32_t i = 0; i < count; ++i) covered += segments[i].length;
    command->CompleteDMA(0);
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
  const uint64_t options = (direction == kFromCard ? kIOMemoryDirectionIn : kIOMemoryDirectionOut) |
                           kIOMemoryDisableCopyOnWrite;
  const IOAddressSegment segment{address, length};
  IOMemoryDescriptor* memory = nullptr;
  kern_return_t ret = CreateMemoryDescriptorFromClient(options, 1, &segment, &memory);
  if (ret != kIOReturnSuccess) return ret;
  {
    DescriptorHostMemory host(memory, 0, length, ivars->commands, ivars->slots);
    ret = ivars->driver->Transfer(direction, card, &host, length);
  }
  // A Mac's wiring refuses pages the card cannot write with KERN_PROTECTION_FAILURE (xnu
  // vm_map_create_upl); readable everywhere means read-only memory, not a hole.
  if (ret == kWiringProtectionFailure && direction == kFromCard &&
      ReadableThroughout(segment, ivars->commands[0])) {
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
      case 1:
        device->MemoryWrite8(index, offset, static_cast<uint8_t>(value));
        break;
      case 2:
        device->MemoryWrite16(index, offset, static_cast<uint16_t>(value));
        break;
      case 4:
        device->MemoryWrite32(index, offset, static_cast<uint32_t>(value));
        break;
      default:
        device->MemoryWrite64(index, offset, value);
        break;
    }
    return kIOReturnSuccess;
  }
  uint64_t value = 0;
  switch (width) {
    case 1: {
      uint8_t v;
      device->MemoryRead8(index, offset, &v);
      value = v;
      break;
    }
    case 2: {
      uint16_t v;
      device->MemoryRead16(index, offset, &v);
      value = v;
      break;
    }
    case 4: {
      uint32_t v;
      device->MemoryRead32(index, offset, &v);
      value = v;
      break;
    }
    default:
      device->MemoryRead64(index, offset, &value);
      break;
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
    return ret;
  }
  b.prepared.length = length;
  b.generation = (gBufferGeneration.fetch_add(1, std::memory_order_relaxed) + 1) & 0xffffff;
  SetRingVisible(this, b, true);
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
  SetRingVisible(this, *b, false);  // waits for the ring's entry in flight, if it uses it
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
  const uint64_t needed =
      direction == kFromCard ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(b->direction & needed)) return kIOReturnNotPermitted;
  if (offset > b->prepared.length || length > b->prepared.length - offset) {
    return kIOReturnBadArgument;
  }
  if (length == 0) return kIOReturnSuccess;
  PreparedHostMemory host(b->prepared, b->memory, offset, length, ivars->slots);
  return ivars->driver->Transfer(direction, card, &host, length);
}

// ---- Async transfers -------------------------------------------------------------------------
//
// ExternalMethod checks the call, claims an AsyncOp, makes the memory descriptor, begins the
// transfer (TransferPlanner::Begin: argument errors come back from the call itself) and hands
// the op to the async queue, retaining the OSAction. The async queue polls every active op,
// sends AsyncCompletion(status, {bytes, tag}) for those done, and re-queues itself while any is
// still running. The client's ExternalMethod queue never waits for an async transfer.

namespace {

void FinishAsync(FpgaUserClient* self, AsyncOp& op, IOReturn status) {
  if (status == kWiringProtectionFailure && op.direction == kFromCard &&
      self->ReadableThroughout(op.range, op.commands[0])) {
    status = kIOReturnNotWritable;  // mapped everywhere, yet not writable: read-only memory
  }
  op.host->~DescriptorHostMemory();
  op.host = nullptr;
  OSSafeReleaseNULL(op.memory);
  uint64_t arguments[protocol::kAsyncArgumentCount] = {};
  arguments[protocol::kAsyncBytes] = op.job.done;
  arguments[protocol::kAsyncTag] = op.tag;
  self->AsyncCompletion(op.action, status, arguments, protocol::kAsyncArgumentCount);
  OSSafeReleaseNULL(op.action);
  op.active = false;
  op.busy.store(false, std::memory_order_release);
}

// On the async queue: one pass over the active ops.
void PollAsync(FpgaUserClient* self) {
  FpgaUserClient_IVars* iv = self->ivars;
  iv->pollScheduled = false;
  bool running = false;
  bool progress = false;
  for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) {
    AsyncOp& op = iv->ops[i];
    if (!op.active) continue;
    const IOReturn r = iv->driver->PollTransfer(&op.job);
    if (r == kIOReturnNotReady) {
      running = true;
      continue;
    }
    FinishAsync(self, op, r);
    progress = true;
  }
  if (!running) return;
  if (!progress) fpgadext::dext::PollPause();  // as the planner's: a bounded spin, no sleep
  iv->pollScheduled = true;
  self->retain();
  iv->asyncQueue->DispatchAsync(^{
    PollAsync(self);
    self->release();
  });
}

void StopAsync(FpgaUserClient* self) {
  FpgaUserClient_IVars* iv = self->ivars;
  if (iv->asyncQueue == nullptr) return;
  // Runs after every op handed over before (the queue is serial): stop what still runs.
  iv->asyncQueue->DispatchSync(^{
    for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) {
      AsyncOp& op = iv->ops[i];
      if (!op.active) continue;
      iv->driver->AbortTransfer(&op.job, kIOReturnAborted);
      FinishAsync(self, op, kIOReturnAborted);
    }
  });
  // A poll pass queued by a pass that ran before: it finds nothing and queues nothing more.
  iv->asyncQueue->DispatchSync(^{
  });
}

}  // namespace

kern_return_t FpgaUserClient::AsyncTransfer(IOUserClientMethodArguments* arguments,
                                            uint32_t direction) {
  OSAction* completion = arguments->completion;
  if (completion == nullptr) return kIOReturnBadArgument;  // the dispatch table checks it too
  const uint64_t card = arguments->scalarInput[0];
  const uint64_t address = arguments->scalarInput[1];
  const uint64_t length = arguments->scalarInput[2];
  const uint64_t tag = arguments->scalarInput[3];
  if (address + length < address || length > protocol::kMaxTransferLength || card + length < card) {
    return kIOReturnBadArgument;
  }
  if (length == 0) {
    uint64_t done[protocol::kAsyncArgumentCount] = {0, tag};
    AsyncCompletion(completion, kIOReturnSuccess, done, protocol::kAsyncArgumentCount);
    return kIOReturnSuccess;
  }
  AsyncOp* op = nullptr;
  uint32_t index = 0;
  for (; index < protocol::kMaxAsyncInFlight; ++index) {
    bool expected = false;
    if (ivars->ops[index].busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      op = &ivars->ops[index];
      break;
    }
  }
  if (op == nullptr) return kIOReturnNoResources;
  kern_return_t ret = kIOReturnSuccess;
  if (op->commandCount < ivars->slots) {
    IODMACommandSpecification spec{};
    spec.maxAddressBits = 64;
    while (op->commandCount < ivars->slots && ret == kIOReturnSuccess) {
      ret = IODMACommand::Create(ivars->driver->GetDevice(), 0, &spec,
                                 &op->commands[op->commandCount]);
      if (ret == kIOReturnSuccess) ++op->commandCount;
    }
    if (ret != kIOReturnSuccess) {
      op->busy.store(false, std::memory_order_release);
      return ret;
    }
  }
  const uint64_t options = (direction == kFromCard ? kIOMemoryDirectionIn : kIOMemoryDirectionOut) |
                           kIOMemoryDisableCopyOnWrite;
  op->range = IOAddressSegment{address, length};
  ret = CreateMemoryDescriptorFromClient(options, 1, &op->range, &op->memory);
  if (ret != kIOReturnSuccess) {
    op->busy.store(false, std::memory_order_release);
    return ret;
  }
  op->host = new (op->hostStorage)
      DescriptorHostMemory(op->memory, 0, length, op->commands, op->commandCount);
  op->direction = direction;
  op->tag = tag;
  ret = ivars->driver->BeginTransfer(direction, card, op->host, length, &op->job, 0);
  if (ret != kIOReturnSuccess) {  // refused before anything started: the call says so
    op->host->~DescriptorHostMemory();
    op->host = nullptr;
    OSSafeReleaseNULL(op->memory);
    op->busy.store(false, std::memory_order_release);
    return ret;
  }
  completion->retain();  // the call's reference ends when ExternalMethod returns
  op->action = completion;
  retain();
  FpgaUserClient* self = this;
  ivars->asyncQueue->DispatchAsync(^{
    FpgaUserClient_IVars* iv = self->ivars;
    iv->ops[index].active = true;
    if (!iv->pollScheduled) PollAsync(self);
    self->release();
  });
  return kIOReturnSuccess;
}

// ---- The submission ring ---------------------------------------------------------------------
//
// docs/ring.md: layout, protocol, ownership and the security reasoning. In short: the ring is
// dext-allocated memory mapped into the app; the dext polls it on a queue of the ring's own,
// reads each submission once into a local copy, checks everything against this client's own
// tables, and only ever publishes indices it computed itself.

namespace {

constexpr uint64_t kRingSpinNs = 2'000'000;  // keep polling this long after the last entry
constexpr uint64_t kRingBackoffMs = 1;       // then poll every millisecond
constexpr uint32_t kRingBatch = 64;          // entries per pass before yielding the queue

uint64_t RingNowNs() {
  static mach_timebase_info_data_t timebase;
  if (timebase.denom == 0) mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

protocol::RingHeader* Header(RingState* ring) {
  return reinterpret_cast<protocol::RingHeader*>(ring->base);
}

RegisteredBuffer* FindRingBuffer(RegisteredBuffer* buffers, uint64_t id) {
  const uint64_t slot = id & 0xff;
  if (slot >= protocol::kMaxRegisteredBuffers) return nullptr;
  RegisteredBuffer& b = buffers[slot];
  return b.ringVisible && b.generation == (id >> 8) ? &b : nullptr;
}

void SetRingVisible(FpgaUserClient* self, RegisteredBuffer& buffer, bool visible) {
  RingState* ring = self->ivars->ring;
  if (ring == nullptr) {
    buffer.ringVisible = visible;
    return;
  }
  RegisteredBuffer* b = &buffer;
  ring->queue->DispatchSync(^{
    b->ringVisible = visible;
  });
}

// One submission, already copied out of shared memory.
protocol::RingCompletion RingExecute(FpgaUserClient* self, RingState* ring,
                                     const protocol::RingSubmission& e) {
  protocol::RingCompletion c{};
  c.tag = e.tag;
  c.status = kIOReturnSuccess;
  uint32_t direction;
  if (e.direction == protocol::kRingToCard) {
    direction = kToCard;
  } else if (e.direction == protocol::kRingFromCard) {
    direction = kFromCard;
  } else {
    c.status = kIOReturnBadArgument;
    return c;
  }
  if (!(ring->directions & e.direction) || ring->channels[direction] == 0) {
    c.status = kIOReturnNotPermitted;  // the ring was not made for this direction
    return c;
  }
  RegisteredBuffer* b = FindRingBuffer(self->ivars->buffers, e.bufferId);
  if (b == nullptr) {
    c.status = kIOReturnNotFound;
    return c;
  }
  const uint64_t needed =
      direction == kFromCard ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(b->direction & needed)) {
    c.status = kIOReturnNotPermitted;
    return c;
  }
  if (e.bufferOffset > b->prepared.length || e.length > b->prepared.length - e.bufferOffset ||
      e.length > protocol::kMaxTransferLength) {
    c.status = kIOReturnBadArgument;
    return c;
  }
  if (e.length == 0) return c;
  PreparedHostMemory host(b->prepared, b->memory, e.bufferOffset, e.length, 1);
  IOReturn r = self->ivars->driver->BeginTransfer(direction, e.cardAddress, &host, e.length,
                                                  &ring->job, ring->channels[direction]);
  while (r == kIOReturnSuccess || r == kIOReturnNotReady) {
    r = self->ivars->driver->PollTransfer(&ring->job);
    if (r != kIOReturnNotReady) break;
    if (ring->stopping.load(std::memory_order_relaxed)) {
      self->ivars->driver->AbortTransfer(&ring->job, kIOReturnAborted);
      r = kIOReturnAborted;
      break;
    }
    fpgadext::dext::PollPause();
  }
  c.status = r;
  c.bytes = ring->job.done;
  return c;
}

// On the ring's queue: consume what the app published, then poll again (spin, then back off).
void RingService(FpgaUserClient* self, RingState* ring) {
  if (ring->stopping.load(std::memory_order_acquire)) return;
  protocol::RingHeader* header = Header(ring);
  const uint64_t token = __atomic_load_n(&header->sanitizerToken, __ATOMIC_RELAXED);
  const uint32_t mask = ring->entries - 1;
  const auto* submissions =
      reinterpret_cast<const protocol::RingSubmission*>(ring->base + sizeof(protocol::RingHeader));
  auto* completions = reinterpret_cast<protocol::RingCompletion*>(
      ring->base + sizeof(protocol::RingHeader) +
      uint64_t{ring->entries} * sizeof(protocol::RingSubmission));
  uint32_t done = 0;
  const uint32_t errorsBefore = ring->errors;
  while (done < kRingBatch && !ring->stopping.load(std::memory_order_relaxed)) {
    // Indices from the app are never trusted: only differences, checked against the size.
    const uint32_t tail = __atomic_load_n(&header->sqTail, __ATOMIC_ACQUIRE);
    protocol::RingSanitizerAcquire(token);
    const uint32_t available = tail - ring->sqHead;
    if (available == 0) break;
    if (available > ring->entries) {
      ring->errors |= protocol::kRingErrorSubmissionIndex;
      break;
    }
    const uint32_t consumed = __atomic_load_n(&header->cqHead, __ATOMIC_ACQUIRE);
    const uint32_t pending = ring->cqTail - consumed;
    if (pending > ring->entries) ring->errors |= protocol::kRingErrorCompletionIndex;
    if (pending >= ring->entries) break;  // no room for a completion (or a bogus cqHead)
    // Read the entry once; from here on only the copy is used.
    protocol::RingSubmission entry;
    __builtin_memcpy(&entry, &submissions[ring->sqHead & mask], sizeof(entry));
    ++ring->sqHead;
    __atomic_store_n(&header->sqHead, ring->sqHead, __ATOMIC_RELEASE);
    const protocol::RingCompletion completion = RingExecute(self, ring, entry);
    __builtin_memcpy(&completions[ring->cqTail & mask], &completion, sizeof(completion));
    ++ring->cqTail;
    protocol::RingSanitizerRelease(token);
    __atomic_store_n(&header->cqTail, ring->cqTail, __ATOMIC_RELEASE);
    ++done;
  }
  if (ring->errors != errorsBefore) {
    __atomic_store_n(&header->errors, ring->errors, __ATOMIC_RELEASE);
  }
  const uint64_t now = RingNowNs();
  if (done != 0) {
    ring->lastWorkNs = now;
    if (ring->waiter != nullptr) {
      uint64_t arguments[1] = {ring->cqTail};
      self->AsyncCompletion(ring->waiter, kIOReturnSuccess, arguments, 1);
      OSSafeReleaseNULL(ring->waiter);
    }
  } else if (now - ring->lastWorkNs > kRingSpinNs) {
    IOSleep(kRingBackoffMs);  // idle: poll at 1 kHz (latency of the first entry after a pause)
  } else {
    fpgadext::dext::PollPause();
  }
  self->retain();
  ring->queue->DispatchAsync(^{
    RingService(self, ring);
    self->release();
  });
}

void StopRing(FpgaUserClient* self) {
  RingState* ring = self->ivars->ring;
  if (ring == nullptr) return;
  ring->stopping.store(true, std::memory_order_release);
  ring->queue->DispatchSync(^{
    if (ring->waiter != nullptr) {
      uint64_t arguments[1] = {ring->cqTail};
      self->AsyncCompletion(ring->waiter, kIOReturnAborted, arguments, 1);
      OSSafeReleaseNULL(ring->waiter);
    }
  });
  ring->queue->DispatchSync(^{
      // a service pass queued by one before: it returns at once
  });
  for (uint32_t d = 0; d < 2; ++d) self->ivars->driver->ReleaseChannels(d, ring->channels[d]);
  self->ivars->ring = nullptr;
  OSSafeReleaseNULL(ring->queue);
  OSSafeReleaseNULL(ring->memory);  // the app's mapping keeps its own reference
  ring->stopping.~atomic();
  IOSafeDeleteNULL(ring, RingState, 1);
}

}  // namespace

kern_return_t FpgaUserClient::RingCreate(IOUserClientMethodArguments* arguments) {
  const uint64_t entries = arguments->scalarInput[0];
  const uint64_t directions = arguments->scalarInput[1];
  if (ivars->ring != nullptr) return kIOReturnBusy;
  if (entries < protocol::kRingMinEntries || entries > protocol::kRingMaxEntries ||
      (entries & (entries - 1)) != 0 || directions == 0 ||
      (directions & ~uint64_t{protocol::kRingToCard | protocol::kRingFromCard}) != 0) {
    return kIOReturnBadArgument;
  }
  // One owning client per channel: take one per direction, or refuse. A channel a transfer of
  // another client holds for a moment comes free soon: wait up to 100 ms for it.
  uint32_t channels[2] = {};
  const uint64_t deadline = RingNowNs() + 100'000'000ull;
  for (uint32_t d = 0; d < 2; ++d) {
    const uint64_t bit = d == kToCard ? protocol::kRingToCard : protocol::kRingFromCard;
    if (!(directions & bit)) continue;
    while ((channels[d] = ivars->driver->AcquireChannel(d)) == 0 && RingNowNs() < deadline) {
      IODelay(50);  // a sleep: a one-time setup, latency does not matter
    }
    if (channels[d] == 0) {
      for (uint32_t u = 0; u < 2; ++u) ivars->driver->ReleaseChannels(u, channels[u]);
      return kIOReturnExclusiveAccess;
    }
  }
  const uint64_t size = (protocol::RingBytes(static_cast<uint32_t>(entries)) + 16383) & ~16383ull;
  RingState* ring = IONewZero(RingState, 1);
  kern_return_t ret = ring != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
  if (ret == kIOReturnSuccess) {
    new (&ring->stopping) std::atomic<bool>(false);
    ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, size, 0, &ring->memory);
  }
  if (ret == kIOReturnSuccess) ret = ring->memory->SetLength(size);
  if (ret == kIOReturnSuccess) ret = IODispatchQueue::Create("fpgadext.ring", 0, 0, &ring->queue);
  if (ret != kIOReturnSuccess) {
    if (ring != nullptr) {
      OSSafeReleaseNULL(ring->memory);
      IOSafeDeleteNULL(ring, RingState, 1);
    }
    for (uint32_t u = 0; u < 2; ++u) ivars->driver->ReleaseChannels(u, channels[u]);
    return ret;
  }
  IOAddressSegment range{};
  ring->memory->GetAddressRange(&range);
  ring->base = reinterpret_cast<uint8_t*>(range.address);
  ring->entries = static_cast<uint32_t>(entries);
  ring->directions = directions;
  ring->channels[0] = channels[0];
  ring->channels[1] = channels[1];
  ring->lastWorkNs = RingNowNs();
  protocol::RingHeader* header = Header(ring);
  header->magic = protocol::kRingMagic;
  header->entries = ring->entries;
  header->submissionOffset = sizeof(protocol::RingHeader);
  header->completionOffset = static_cast<uint32_t>(sizeof(protocol::RingHeader) +
                                                   entries * sizeof(protocol::RingSubmission));
#ifdef FPGADEXT_RING_SANITIZER_TOKENS
  header->sanitizerToken = reinterpret_cast<uintptr_t>(ring);
#endif
  ivars->ring = ring;
  retain();
  FpgaUserClient* self = this;
  ring->queue->DispatchAsync(^{
    RingService(self, ring);
    self->release();
  });
  arguments->scalarOutput[0] = size;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::RingDestroy(IOUserClientMethodArguments* arguments) {
  if (ivars->ring == nullptr) return kIOReturnNotFound;
  StopRing(this);
  return kIOReturnSuccess;
}

kern_return_t FpgaUserClient::RingWait(IOUserClientMethodArguments* arguments) {
  RingState* ring = ivars->ring;
  OSAction* completion = arguments->completion;
  if (ring == nullptr) return kIOReturnNotFound;
  if (completion == nullptr) return kIOReturnBadArgument;
  const uint64_t index = arguments->scalarInput[0];
  // The block writes the result through a pointer (DispatchSync runs it before returning): no
  // __block variable, whose byref helpers a sanitizer build would instrument.
  kern_return_t ret = kIOReturnSuccess;
  kern_return_t* result = &ret;
  FpgaUserClient* self = this;
  ring->queue->DispatchSync(^{
    if (ring->cqTail != static_cast<uint32_t>(index)) {
      uint64_t now[1] = {ring->cqTail};
      self->AsyncCompletion(completion, kIOReturnSuccess, now, 1);
    } else if (ring->waiter != nullptr) {
      *result = kIOReturnBusy;  // one waiter at a time
    } else {
      completion->retain();
      ring->waiter = completion;
      ring->waitIndex = index;
    }
  });
  return ret;
}
