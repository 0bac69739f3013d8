// The handlers of docs/porting-from-iokit.md, one per way of getting app memory of any size to
// the dext, and the kext-era handler that loses outputs of 4096 bytes or less. The regions
// between "snippet-begin" and "snippet-end" appear verbatim in the guide
// (examples/porting/check_snippets.py compares them).
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSData.h>
#include <os/log.h>

#include "PortingDriver.h"
#include "PortingUserClient.h"
#include "porting_protocol.h"

namespace {

// App memory kept mapped and prepared for DMA between calls (pattern d).
struct RegisteredBuffer {
  IOMemoryDescriptor* memory;
  IOMemoryMap* map;
  IODMACommand* dma;
  uint64_t length;
};

}  // namespace

struct PortingUserClient_IVars {
  PortingDriver* driver;
  RegisteredBuffer buffers[PORTING_MAX_REGISTERED];  // id = index + 1; memory NULL when free
};

namespace {

using State = PortingUserClient_IVars;

// snippet-begin: read-small
// (a) 4096 bytes or less: IOKit carries the output in its reply message. The handler creates
// an OSData with the bytes; the kernel copies it into the app's buffer and reports its length
// as the output size. An OSData longer than the app's buffer is refused with
// kIOReturnBadArgument and nothing is copied.
kern_return_t ReadSmall(OSObject* target, void* reference, IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  const uint64_t card = arguments->scalarInput[0];
  const uint64_t length = arguments->scalarInput[1];
  if (length == 0 || length > PORTING_INBAND_MAX) return kIOReturnBadArgument;
  uint8_t bytes[PORTING_INBAND_MAX];
  kern_return_t ret = state->driver->CopyFromCard(card, bytes, length);
  if (ret != kIOReturnSuccess) return ret;
  arguments->structureOutput = OSData::withBytes(bytes, length);
  return arguments->structureOutput != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}
// snippet-end

// snippet-begin: read-large
// (b) More than 4096 bytes: the kernel made a descriptor for the app's buffer. Map it (or
// prepare it for DMA with an IODMACommand) and fill it; the output size the app passed stays.
kern_return_t ReadLarge(OSObject* target, void* reference, IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  IOMemoryDescriptor* output = arguments->structureOutputDescriptor;
  if (output == nullptr) return kIOReturnBadArgument;  // 4096 bytes or less: use (a)
  uint64_t length = 0;
  output->GetLength(&length);
  IOMemoryMap* map = nullptr;
  kern_return_t ret = output->CreateMapping(0, 0, 0, 0, 0, &map);
  if (ret != kIOReturnSuccess) return ret;
  void* bytes = reinterpret_cast<void*>(map->GetAddress());
  ret = state->driver->CopyFromCard(arguments->scalarInput[0], bytes, length);
  map->release();
  return ret;
}
// snippet-end

// snippet-begin: read-any-size
// (c) Any size: the app passes its buffer's address and length as scalars and the dext makes
// the descriptor itself, the DriverKit counterpart of withAddressRange on the client's task.
// Without kIOMemoryDisableCopyOnWrite the descriptor is copy-on-write: what the dext writes
// lands in a private copy and the app never sees it.
kern_return_t ReadIntoClientMemory(OSObject* target, State* state,
                                   IOUserClientMethodArguments* arguments, uint64_t options) {
  IOUserClient* client = OSDynamicCast(IOUserClient, target);
  const uint64_t card = arguments->scalarInput[0];
  const IOAddressSegment range = {arguments->scalarInput[1], arguments->scalarInput[2]};
  if (client == nullptr || range.length == 0) return kIOReturnBadArgument;
  IOMemoryDescriptor* memory = nullptr;
  kern_return_t ret = client->CreateMemoryDescriptorFromClient(options, 1, &range, &memory);
  if (ret != kIOReturnSuccess) return ret;
  IOMemoryMap* map = nullptr;
  ret = memory->CreateMapping(0, 0, 0, 0, 0, &map);
  if (ret == kIOReturnSuccess) {
    ret =
        state->driver->CopyFromCard(card, reinterpret_cast<void*>(map->GetAddress()), range.length);
    map->release();
  }
  memory->release();
  return ret;
}

kern_return_t ReadAnySize(OSObject* target, void* reference,
                          IOUserClientMethodArguments* arguments) {
  return ReadIntoClientMemory(target, static_cast<State*>(reference), arguments,
                              kIOMemoryDirectionIn | kIOMemoryDisableCopyOnWrite);
}

// WRONG: copy-on-write left on. Succeeds, and the app's buffer keeps its old bytes.
kern_return_t ReadAnySizeCopyOnWrite(OSObject* target, void* reference,
                                     IOUserClientMethodArguments* arguments) {
  return ReadIntoClientMemory(target, static_cast<State*>(reference), arguments,
                              kIOMemoryDirectionIn);
}
// snippet-end

void Unregister(RegisteredBuffer* buffer) {
  if (buffer->dma != nullptr) buffer->dma->CompleteDMA(kIODMACommandCompleteDMANoOptions);
  OSSafeReleaseNULL(buffer->dma);
  OSSafeReleaseNULL(buffer->map);
  OSSafeReleaseNULL(buffer->memory);
  buffer->length = 0;
}

// snippet-begin: registered
// (d) Memory used again and again: make the descriptor, map it and prepare it for DMA once.
// A board with a DMA engine is programmed with `segments` (one IOMMU range on Apple silicon);
// this board has none, so the dext copies through the mapping. Each transfer then costs a
// driver call and no wiring.
kern_return_t RegisterBuffer(OSObject* target, void* reference,
                             IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  IOUserClient* client = OSDynamicCast(IOUserClient, target);
  const IOAddressSegment range = {arguments->scalarInput[0], arguments->scalarInput[1]};
  if (client == nullptr || range.length == 0) return kIOReturnBadArgument;
  uint32_t slot = 0;
  while (slot < PORTING_MAX_REGISTERED && state->buffers[slot].memory != nullptr) ++slot;
  if (slot == PORTING_MAX_REGISTERED) return kIOReturnNoResources;
  RegisteredBuffer* buffer = &state->buffers[slot];
  kern_return_t ret = client->CreateMemoryDescriptorFromClient(
      kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 1, &range, &buffer->memory);
  if (ret == kIOReturnSuccess) ret = buffer->memory->CreateMapping(0, 0, 0, 0, 0, &buffer->map);
  if (ret == kIOReturnSuccess) ret = state->driver->CreateDMACommand(&buffer->dma);
  if (ret == kIOReturnSuccess) {
    uint64_t flags = 0;
    uint32_t segmentCount = 32;
    IOAddressSegment segments[32] = {};
    ret = buffer->dma->PrepareForDMA(kIODMACommandPrepareForDMANoOptions, buffer->memory, 0,
                                     range.length, &flags, &segmentCount, segments);
    if (ret != kIOReturnSuccess) OSSafeReleaseNULL(buffer->dma);  // nothing to complete
  }
  if (ret != kIOReturnSuccess) {
    Unregister(buffer);
    return ret;
  }
  buffer->length = range.length;
  arguments->scalarOutput[0] = slot + 1;
  return kIOReturnSuccess;
}

kern_return_t ReadRegistered(OSObject* target, void* reference,
                             IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  const uint64_t id = arguments->scalarInput[0];
  const uint64_t offset = arguments->scalarInput[1];
  const uint64_t card = arguments->scalarInput[2];
  const uint64_t length = arguments->scalarInput[3];
  if (id == 0 || id > PORTING_MAX_REGISTERED) return kIOReturnNotFound;
  RegisteredBuffer* buffer = &state->buffers[id - 1];
  if (buffer->memory == nullptr) return kIOReturnNotFound;
  if (offset > buffer->length || length > buffer->length - offset) return kIOReturnBadArgument;
  uint8_t* bytes = reinterpret_cast<uint8_t*>(buffer->map->GetAddress());
  return state->driver->CopyFromCard(card, bytes + offset, length);
}
// snippet-end

kern_return_t UnregisterBuffer(OSObject* target, void* reference,
                               IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  const uint64_t id = arguments->scalarInput[0];
  if (id == 0 || id > PORTING_MAX_REGISTERED || state->buffers[id - 1].memory == nullptr) {
    return kIOReturnNotFound;
  }
  Unregister(&state->buffers[id - 1]);
  return kIOReturnSuccess;
}

// App → card, for the example's app to put known bytes on the card: the in-band input arrives
// as an OSData (structureInput) of the size checked by the dispatch table.
kern_return_t WriteSmall(OSObject* target, void* reference,
                         IOUserClientMethodArguments* arguments) {
  State* state = static_cast<State*>(reference);
  OSData* input = arguments->structureInput;
  if (input == nullptr) return kIOReturnBadArgument;
  return state->driver->CopyToCard(arguments->scalarInput[0], input->getBytesNoCopy(),
                                   input->getLength());
}

// snippet-begin: kext-style
// WRONG: the kext-era handler. It looks for the app's buffer among the arguments for every
// size; at or below 4096 bytes both structureOutput and structureOutputDescriptor are NULL.
kern_return_t ReadKextStyle(OSObject* target, void* reference,
                            IOUserClientMethodArguments* arguments) {
  if (arguments->structureOutputDescriptor == nullptr && arguments->structureOutput == nullptr) {
    os_log(OS_LOG_DEFAULT, "ReadKextStyle: no output buffer");
    return kIOReturnBadArgument;
  }
  return ReadLarge(target, reference, arguments);
}
// snippet-end

// What the handler sees of the output: whether each field is set, and the maximum size.
kern_return_t ShowOutputFields(OSObject* target, void* reference,
                               IOUserClientMethodArguments* arguments) {
  arguments->scalarOutput[0] = arguments->structureOutput != nullptr;
  arguments->scalarOutput[1] = arguments->structureOutputDescriptor != nullptr;
  arguments->scalarOutput[2] = arguments->structureOutputMaximumSize;
  return kIOReturnSuccess;
}

// snippet-begin: dispatch-table
// (e) The checks IOUserClient makes before a handler runs: completion (0 = synchronous only),
// scalar input count, structure input size, scalar output count, structure output size.
// kIOUserClientVariableStructureSize accepts any size: the handler checks it.
const IOUserClientMethodDispatch kMethods[kPortingMethodCount] = {
    {&ReadSmall, 0, 2, 0, 0, kIOUserClientVariableStructureSize},  // kPortingReadSmall
    {&ReadLarge, 0, 1, 0, 0, kIOUserClientVariableStructureSize},  // kPortingReadLarge
    {&ReadAnySize, 0, 3, 0, 0, 0},                                 // kPortingReadAnySize
    {&ReadAnySizeCopyOnWrite, 0, 3, 0, 0, 0},                      // kPortingReadAnySizeCopyOnWrite
    {&RegisterBuffer, 0, 2, 0, 1, 0},                              // kPortingRegisterBuffer
    {&ReadRegistered, 0, 4, 0, 0, 0},                              // kPortingReadRegistered
    {&UnregisterBuffer, 0, 1, 0, 0, 0},                            // kPortingUnregisterBuffer
    {&WriteSmall, 0, 1, kIOUserClientVariableStructureSize, 0, 0},        // kPortingWriteSmall
    {&ReadKextStyle, 0, 1, 0, 0, kIOUserClientVariableStructureSize},     // kPortingReadKextStyle
    {&ShowOutputFields, 0, 0, 0, 3, kIOUserClientVariableStructureSize},  // ...ShowOutputFields
};
// snippet-end

}  // namespace

bool PortingUserClient::init() {
  if (!super::init()) return false;
  ivars = IONewZero(PortingUserClient_IVars, 1);
  return ivars != nullptr;
}

void PortingUserClient::free() {
  IOSafeDeleteNULL(ivars, PortingUserClient_IVars, 1);
  super::free();
}

kern_return_t IMPL(PortingUserClient, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->driver = OSDynamicCast(PortingDriver, provider);
  if (ivars->driver == nullptr) return kIOReturnNoDevice;
  ivars->driver->retain();
  return kIOReturnSuccess;
}

kern_return_t IMPL(PortingUserClient, Stop) {
  // The app closed the connection or died: give back what it registered.
  for (RegisteredBuffer& buffer : ivars->buffers) Unregister(&buffer);
  OSSafeReleaseNULL(ivars->driver);
  return Stop(provider, SUPERDISPATCH);
}

// snippet-begin: external-method
kern_return_t PortingUserClient::ExternalMethod(uint64_t selector,
                                                IOUserClientMethodArguments* arguments,
                                                const IOUserClientMethodDispatch* dispatch,
                                                OSObject* target, void* reference) {
  if (selector >= kPortingMethodCount) return kIOReturnBadArgument;
  // The table's checks run in super; the handler gets this client and its state.
  return super::ExternalMethod(selector, arguments, &kMethods[selector], this, ivars);
}
// snippet-end
