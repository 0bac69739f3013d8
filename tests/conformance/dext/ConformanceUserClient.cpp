#include "ConformanceUserClient.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSData.h>
#include <PCIDriverKit/PCIDriverKit.h>

#include "../probe_registers.h"
#include "ConformanceDriver.h"
#include "MemPciMethods.h"
#include "MultiMemoryMethods.h"
#include "conformance_protocol.h"
#include "mempci_protocol.h"
#include "stop_order_protocol.h"

using namespace conformance;

struct ConformanceUserClient_IVars {
  ConformanceDriver* driver;
  IODispatchQueue* queue;
  IOBufferMemoryDescriptor* shared;
  IOBufferMemoryDescriptor* noLength;
  IOMemoryMap* heldMap;
  IOMemoryDescriptor* heldMemory;
  IODMACommand* dma;
  IOAddressSegment segments[32];
  uint32_t segmentCount;
  IOInterruptDispatchSource* source;
  OSAction* interruptAction;
  uint64_t deliveries;
  uint64_t interrupts;
  uint64_t offQueueDeliveries;  // InterruptOccurred calls not on `queue`
  uint64_t completionRan;       // kSelRaiseDisable's completion block ran
  uint64_t completionSaw;       // `interrupts` when it ran
};

namespace {

kern_return_t TableFunction(OSObject* target, void* reference, IOUserClientMethodArguments* a) {
  a->scalarOutput[0] = a->scalarInput[0] + a->scalarInput[1];
  return kIOReturnSuccess;
}

const IOUserClientMethodDispatch kTable[] = {
    // kSelTableChecked
    {TableFunction, 0, 2, 8, 1, 16},
    // kSelTableNullFunction
    {nullptr, 0, kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize,
     kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize},
    // kSelTableNeedsCompletion
    {TableFunction, 1, kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize,
     kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize},
};

kern_return_t InputLengthFunction(OSObject* target, void* reference,
                                  IOUserClientMethodArguments* a) {
  uint64_t length = 0;
  if (a->structureInput != nullptr) length = a->structureInput->getLength();
  if (a->structureInputDescriptor != nullptr) a->structureInputDescriptor->GetLength(&length);
  if (a->scalarOutputCount < 1) return kIOReturnBadArgument;
  a->scalarOutput[0] = length;
  a->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t ShortOutputFunction(OSObject* target, void* reference,
                                  IOUserClientMethodArguments* a) {
  a->structureOutput = OSData::withBytes("abcd", 4);
  return kIOReturnSuccess;
}

// kSelTableLargeInput, kSelTableOutputSize
const IOUserClientMethodDispatch kUserClientRulesTable[] = {
    {InputLengthFunction, kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize,
     8192, kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize},
    {ShortOutputFunction, 0, kIOUserClientVariableStructureSize, kIOUserClientVariableStructureSize,
     kIOUserClientVariableStructureSize, 16},
};

uint8_t Pattern(uint64_t seed, uint64_t i) {
  return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
}

}  // namespace

bool ConformanceUserClient::init() {
  if (!super::init()) return false;
  ivars = IONewZero(ConformanceUserClient_IVars, 1);
  return ivars != nullptr;
}

void ConformanceUserClient::free() {
  IOSafeDeleteNULL(ivars, ConformanceUserClient_IVars, 1);
  super::free();
}

kern_return_t IMPL(ConformanceUserClient, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->driver = OSDynamicCast(ConformanceDriver, provider);
  if (ivars->driver == nullptr) return kIOReturnBadArgument;
  ivars->driver->retain();
  ret = CopyDispatchQueue("Default", &ivars->queue);
  if (ret != kIOReturnSuccess) return ret;
  ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, kSharedBufferSize, 0,
                                         &ivars->shared);
  if (ret != kIOReturnSuccess) return ret;
  ivars->shared->SetLength(kSharedBufferSize);
  ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 4096, 0, &ivars->noLength);
  if (ret != kIOReturnSuccess) return ret;
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  return IODMACommand::Create(ivars->driver->GetDevice(), 0, &spec, &ivars->dma);
}

static void ReleaseHeld(ConformanceUserClient_IVars* iv) {
  OSSafeReleaseNULL(iv->heldMap);
  OSSafeReleaseNULL(iv->heldMemory);
  if (iv->dma) iv->dma->CompleteDMA(0);
  if (iv->source) {
    iv->source->Cancel(nullptr);
    OSSafeReleaseNULL(iv->source);
  }
  OSSafeReleaseNULL(iv->interruptAction);
}

// termination_test.cpp: a slow Stop when the test asked for one through the scratch register,
// which then says whether the driver's Stop ran meanwhile.
static void SlowStopIfAsked(ConformanceDriver* driver) {
  IOPCIDevice* device = driver != nullptr ? driver->GetDevice() : nullptr;
  if (device == nullptr) return;
  device->retain();  // the driver's Stop may release its own meanwhile
  uint8_t index = 0;
  uint64_t scratch = 0;
  device->GetBARInfo(0, &index, nullptr, nullptr);
  device->MemoryRead64(index, probe::kScratch, &scratch);
  if (scratch == kSlowStopRequest) {
    device->MemoryWrite64(index, probe::kScratch, kClientStopping);
    IOSleep(kSlowStopMs);
    device->MemoryRead64(index, probe::kScratch, &scratch);
    if (scratch == kClientStopping) device->MemoryWrite64(index, probe::kScratch, kClientStopped);
  }
  device->release();
}

kern_return_t IMPL(ConformanceUserClient, Stop) {
  SlowStopIfAsked(ivars->driver);
  ReleaseHeld(ivars);
  OSSafeReleaseNULL(ivars->dma);
  OSSafeReleaseNULL(ivars->shared);
  OSSafeReleaseNULL(ivars->noLength);
  OSSafeReleaseNULL(ivars->queue);
  OSSafeReleaseNULL(ivars->driver);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(ConformanceUserClient, CopyClientMemoryForType) {
  switch (type) {
    case kMemShared:
      ivars->shared->retain();  // +1: the kernel drops one reference after mapping
      *memory = ivars->shared;
      return kIOReturnSuccess;
    case kMemReadOnly:
      ivars->shared->retain();
      *options = kIOUserClientMemoryReadOnly;
      *memory = ivars->shared;
      return kIOReturnSuccess;
    case kMemBar0: {
      uint8_t index = 0;
      kern_return_t ret = ivars->driver->GetDevice()->GetBARInfo(0, &index, nullptr, nullptr);
      if (ret != kIOReturnSuccess) return ret;
      return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(index, memory, ivars->driver);
    }
    case kMemNoSetLength:
      ivars->noLength->retain();
      *memory = ivars->noLength;
      return kIOReturnSuccess;
    case kMemDirectBar: {
      uint8_t index = 0;
      kern_return_t ret =
          ivars->driver->GetDevice()->GetBARInfo(probe::kRamBar, &index, nullptr, nullptr);
      if (ret != kIOReturnSuccess) return ret;
      return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(index, memory, ivars->driver);
    }
    case kMemDirectBarReadOnly: {
      uint8_t index = 0;
      kern_return_t ret =
          ivars->driver->GetDevice()->GetBARInfo(probe::kRamBar, &index, nullptr, nullptr);
      if (ret != kIOReturnSuccess) return ret;
      *options = kIOUserClientMemoryReadOnly;
      return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(index, memory, ivars->driver);
    }
    default: {
      bool handled = false;
      const kern_return_t ret =
          MultiMemoryForType(type, ivars->shared, ivars->noLength, memory, &handled);
      return handled ? ret : kIOReturnBadArgument;
    }
  }
}

void IMPL(ConformanceUserClient, InterruptOccurred) {
  ivars->deliveries += 1;
  ivars->interrupts += count;
  if (!ivars->queue->OnQueue()) ivars->offQueueDeliveries += 1;
}

kern_return_t ConformanceUserClient::ExternalMethod(uint64_t selector,
                                                    IOUserClientMethodArguments* a,
                                                    const IOUserClientMethodDispatch* dispatch,
                                                    OSObject* target, void* reference) {
  if (selector >= kSelTableChecked && selector <= kSelTableNeedsCompletion) {
    return super::ExternalMethod(selector, a, &kTable[selector - kSelTableChecked], this, nullptr);
  }
  const uint64_t* in = a->scalarInput;
  uint64_t* out = a->scalarOutput;
  IOPCIDevice* device = ivars->driver->GetDevice();
  switch (selector) {
    case kSelInspect: {
      if (a->scalarOutputCount < kInspectCount) return kIOReturnBadArgument;
      uint64_t flags = 0, inputLength = 0;
      if (a->structureInput)
        flags |= kHasStructureInput, inputLength = a->structureInput->getLength();
      if (a->structureInputDescriptor) {
        flags |= kHasStructureInputDescriptor;
        a->structureInputDescriptor->GetLength(&inputLength);
      }
      if (a->structureOutputDescriptor) flags |= kHasStructureOutputDescriptor;
      if (a->structureOutput) flags |= kHasStructureOutput;
      if (a->completion) flags |= kHasCompletion;
      out[kInspectFlags] = flags;
      out[kInspectOutputMaximumSize] = a->structureOutputMaximumSize;
      out[kInspectScalarInputCount] = a->scalarInputCount;
      out[kInspectScalarOutputCount] = a->scalarOutputCount;
      out[kInspectInputLength] = inputLength;
      out[kInspectVersion] = a->version;
      out[kInspectOnDefaultQueue] = ivars->queue->OnQueue();
      a->scalarOutputCount = kInspectCount;
      return kIOReturnSuccess;
    }
    case kSelNaiveOutput: {
      // The ported kext's way: map the output descriptor, else treat structureOutput as memory.
      uint8_t* dst = nullptr;
      IOMemoryMap* map = nullptr;
      if (a->structureOutputDescriptor != nullptr) {
        if (a->structureOutputDescriptor->CreateMapping(0, 0, 0, 0, 0, &map) != kIOReturnSuccess) {
          return kIOReturnError;
        }
        dst = reinterpret_cast<uint8_t*>(map->GetAddress());
      } else if (a->structureOutput != nullptr) {
        dst = static_cast<uint8_t*>(const_cast<void*>(a->structureOutput->getBytesNoCopy()));
      }
      if (dst == nullptr) return kIOReturnNotReady;  // both NULL: nothing to write into
      for (uint64_t i = 0; i < a->structureOutputMaximumSize; ++i) dst[i] = Pattern(1, i);
      OSSafeReleaseNULL(map);
      return kIOReturnSuccess;
    }
    case kSelCorrectedOutput: {
      if (a->scalarInputCount < 1) return kIOReturnBadArgument;
      const uint64_t length = in[0];
      if (length > a->structureOutputMaximumSize) return kIOReturnNoSpace;
      if (a->structureOutputDescriptor != nullptr) {
        if (length == 0) return kIOReturnSuccess;
        IOMemoryMap* map = nullptr;
        kern_return_t ret = a->structureOutputDescriptor->CreateMapping(0, 0, 0, length, 0, &map);
        if (ret != kIOReturnSuccess) return ret;
        auto* dst = reinterpret_cast<uint8_t*>(map->GetAddress());
        for (uint64_t i = 0; i < length; ++i) dst[i] = Pattern(2, i);
        map->release();
        return kIOReturnSuccess;
      }
      OSData* data = OSData::withCapacity(static_cast<uint32_t>(length));
      for (uint64_t i = 0; i < length; ++i) {
        const uint8_t b = Pattern(2, i);
        data->appendBytes(&b, 1);
      }
      a->structureOutput = data;  // the OS consumes this reference
      return kIOReturnSuccess;
    }
    case kSelOSDataOfLength: {
      OSData* data = OSData::withCapacity(static_cast<uint32_t>(in[0]));
      for (uint64_t i = 0; i < in[0]; ++i) {
        const uint8_t b = Pattern(3, i);
        data->appendBytes(&b, 1);
      }
      a->structureOutput = data;
      return kIOReturnSuccess;
    }
    case kSelFillClientMemory: {
      if (a->scalarInputCount != 4) return kIOReturnBadArgument;
      const IOAddressSegment segment{in[0], in[1]};
      IOMemoryDescriptor* memory = nullptr;
      kern_return_t ret = CreateMemoryDescriptorFromClient(in[3], 1, &segment, &memory);
      if (ret != kIOReturnSuccess) return ret;
      if (in[1] != 0) {
        IOMemoryMap* map = nullptr;
        ret = memory->CreateMapping(0, 0, 0, 0, 0, &map);
        if (ret == kIOReturnSuccess) {
          auto* dst = reinterpret_cast<uint8_t*>(map->GetAddress());
          for (uint64_t i = 0; i < in[1]; ++i) dst[i] = Pattern(in[2], i);
          map->release();
        }
      }
      memory->release();
      return ret;
    }
    case kSelScalarEcho:
      for (uint32_t i = 0; i < a->scalarOutputCount && i < a->scalarInputCount; ++i) out[i] = in[i];
      if (a->scalarInputCount > 0) a->scalarOutputCount = static_cast<uint32_t>(in[0]);
      return kIOReturnSuccess;
    case kSelFailAfterOutput:
      for (uint32_t i = 0; i < a->scalarOutputCount; ++i) out[i] = 0xdead;
      if (a->structureOutputDescriptor == nullptr) a->structureOutput = OSData::withBytes("xx", 2);
      return kIOReturnNotPermitted;
    case kSelAsyncComplete: {
      if (a->completion == nullptr || a->scalarInputCount < 1) return kIOReturnBadArgument;
      OSAction* action = a->completion;
      action->retain();  // kept past the call, as Apple's sample does
      const uint32_t count = static_cast<uint32_t>(in[0]);
      ivars->queue->DispatchAsync(^{
        IOUserClientAsyncArgumentsArray data = {};
        for (uint32_t i = 0; i < 16; ++i) data[i] = AsyncArgument(i);
        AsyncCompletion(action, kIOReturnSuccess, data, count);
        action->release();
      });
      return kIOReturnSuccess;
    }
    case kSelMapInput: {
      if (a->structureInputDescriptor == nullptr) return kIOReturnBadArgument;
      OSSafeReleaseNULL(ivars->heldMap);
      kern_return_t ret =
          a->structureInputDescriptor->CreateMapping(0, 0, 0, 0, 0, &ivars->heldMap);
      if (ret != kIOReturnSuccess) return ret;
      out[0] = ivars->heldMap->GetAddress();
      out[1] = *reinterpret_cast<const uint8_t*>(ivars->heldMap->GetAddress());
      a->scalarOutputCount = 2;
      return kIOReturnSuccess;
    }
    case kSelPrepareClient: {
      if (a->scalarInputCount != 4) return kIOReturnBadArgument;
      OSSafeReleaseNULL(ivars->heldMemory);
      const IOAddressSegment segment{in[0], in[1]};
      kern_return_t ret = CreateMemoryDescriptorFromClient(in[2], 1, &segment, &ivars->heldMemory);
      if (ret != kIOReturnSuccess) return ret;
      uint64_t flags = 0;
      uint32_t count = static_cast<uint32_t>(in[3]);
      ret = ivars->dma->PrepareForDMA(0, ivars->heldMemory, 0, 0, &flags, &count, ivars->segments);
      out[kPrepareStatus] = static_cast<uint32_t>(ret);
      out[kPrepareSegments] = ret == kIOReturnSuccess ? count : 0;
      out[kPrepareFlags] = flags;
      uint64_t bytes = 0;
      for (uint32_t i = 0; ret == kIOReturnSuccess && i < count; ++i)
        bytes += ivars->segments[i].length;
      out[kPrepareBytes] = bytes;
      out[kPrepareFirstAddress] = ret == kIOReturnSuccess && count ? ivars->segments[0].address : 0;
      ivars->segmentCount = ret == kIOReturnSuccess ? count : 0;
      a->scalarOutputCount = kPrepareCount;
      return kIOReturnSuccess;
    }
    case kSelDeviceDma: {
      uint8_t index = 0;
      if (a->scalarInputCount != 3 || in[1] >= ivars->segmentCount) return kIOReturnBadArgument;
      device->GetBARInfo(0, &index, nullptr, nullptr);
      device->MemoryWrite64(index, probe::kDmaAddress, ivars->segments[in[1]].address);
      device->MemoryWrite64(index, probe::kDmaLength, in[2]);
      device->MemoryWrite32(index, probe::kDmaCommand, static_cast<uint32_t>(in[0]));
      uint32_t status = 0;
      device->MemoryRead32(index, probe::kDmaStatus, &status);
      out[0] = status;
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelCompleteDma:
      out[0] = static_cast<uint32_t>(ivars->dma->CompleteDMA(0));
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    case kSelInterruptSetup: {
      kern_return_t ret = kIOReturnSuccess;
      if (ivars->source == nullptr) {
        ret = IOInterruptDispatchSource::Create(device, static_cast<uint32_t>(in[0]), ivars->queue,
                                                &ivars->source);
        if (ret == kIOReturnSuccess)
          ret = CreateActionInterruptOccurred(0, &ivars->interruptAction);
        if (ret == kIOReturnSuccess) ret = ivars->source->SetHandler(ivars->interruptAction);
      }
      if (ret == kIOReturnSuccess) ret = ivars->source->SetEnable(in[1] != 0);
      out[0] = static_cast<uint32_t>(ret);
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelInterruptCount:
      out[0] = ivars->deliveries;
      out[1] = ivars->interrupts;
      out[2] = ivars->offQueueDeliveries;
      a->scalarOutputCount = 3;
      return kIOReturnSuccess;
    case kSelRaise: {
      uint8_t index = 0;
      device->GetBARInfo(0, &index, nullptr, nullptr);
      device->MemoryWrite32(index, probe::kRaise, static_cast<uint32_t>(in[0]));
      return kIOReturnSuccess;
    }
    case kSelPciState: {
      uint8_t index = 0, barType = 0;
      uint64_t size = 0, msi = 0;
      uint16_t command = 0;
      uint32_t id = 0;
      device->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
      device->GetBARInfo(0, &index, &size, &barType);
      device->MemoryRead32(index, probe::kId, &id);
      device->FindPCICapability(kIOPCICapabilityIDMSI, 0, &msi);
      out[kPciCommandAtOpen] = ivars->driver->CommandAtOpen();
      out[kPciCommandNow] = command;
      out[kPciBar0MemoryIndex] = index;
      out[kPciBar0Size] = size;
      out[kPciBar0Type] = barType;
      out[kPciIdRegister] = id;
      out[kPciMsiCapability] = msi;
      a->scalarOutputCount = kPciCount;
      return kIOReturnSuccess;
    }
    case kSelReleaseHeld:
      ReleaseHeld(ivars);
      return kIOReturnSuccess;
    case kSelBufferRetainCount:
      out[0] = static_cast<uint64_t>(ivars->shared->getRetainCount());
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    case kSelSuperNoDispatch:
      return super::ExternalMethod(selector, a, nullptr, this, nullptr);
    case kSelConfigureInterrupts:
      out[0] = static_cast<uint32_t>(device->ConfigureInterrupts(static_cast<uint32_t>(in[0]),
                                                                 static_cast<uint32_t>(in[1]),
                                                                 static_cast<uint32_t>(in[2]), 0));
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    case kSelTableLargeInput:
    case kSelTableOutputSize:
      return super::ExternalMethod(
          selector, a, &kUserClientRulesTable[selector - kSelTableLargeInput], this, nullptr);
    case kSelClientMemory: {
      if (a->scalarInputCount != 4 || a->scalarOutputCount < kClientMemoryCount) {
        return kIOReturnBadArgument;
      }
      // One more than the 32 the call takes, to show the limit is checked.
      IOAddressSegment segments[33] = {};
      const uint64_t count = in[3] < 33 ? in[3] : 33;
      for (uint64_t i = 0; i < count; ++i) {
        const uint64_t piece = in[1] / count;
        segments[i].address = in[0] + i * piece;
        segments[i].length = i + 1 == count ? in[1] - i * piece : piece;
      }
      IOMemoryDescriptor* memory = nullptr;
      IOMemoryMap* map = nullptr;
      kern_return_t ret =
          CreateMemoryDescriptorFromClient(in[2], static_cast<uint32_t>(in[3]), segments, &memory);
      out[kClientMemoryCreateStatus] = static_cast<uint32_t>(ret);
      out[kClientMemoryMapStatus] = ~0u;
      out[kClientMemoryFirstByte] = ~0u;
      if (ret == kIOReturnSuccess) {
        ret = memory->CreateMapping(0, 0, 0, 0, 0, &map);
        out[kClientMemoryMapStatus] = static_cast<uint32_t>(ret);
        if (ret == kIOReturnSuccess) {
          out[kClientMemoryFirstByte] = *reinterpret_cast<const uint8_t*>(map->GetAddress());
        }
      }
      OSSafeReleaseNULL(map);
      OSSafeReleaseNULL(memory);
      a->scalarOutputCount = kClientMemoryCount;
      return kIOReturnSuccess;
    }
    // Memory, DMA, PCI and interrupt rules (selectors 60..79).
    case kSelMapClient: {
      if (a->scalarInputCount != 7) return kIOReturnBadArgument;
      const IOAddressSegment segment{in[0], in[1]};
      IOMemoryDescriptor* memory = nullptr;
      kern_return_t ret = CreateMemoryDescriptorFromClient(in[2], 1, &segment, &memory);
      if (ret != kIOReturnSuccess) return ret;
      OSSafeReleaseNULL(ivars->heldMap);
      ret = memory->CreateMapping(in[3], 0, in[4], in[5], in[6], &ivars->heldMap);
      memory->release();  // the map keeps the memory
      out[0] = static_cast<uint32_t>(ret);
      out[1] = ret == kIOReturnSuccess ? ivars->heldMap->GetAddress() : 0;
      out[2] = ret == kIOReturnSuccess ? ivars->heldMap->GetLength() : 0;
      a->scalarOutputCount = 3;
      return kIOReturnSuccess;
    }
    case kSelMapBuffer: {
      if (a->scalarInputCount != 6) return kIOReturnBadArgument;
      IOBufferMemoryDescriptor* buffer = nullptr;
      kern_return_t ret = IOBufferMemoryDescriptor::Create(in[0], in[1], 0, &buffer);
      if (ret != kIOReturnSuccess) return ret;
      buffer->SetLength(in[1]);
      OSSafeReleaseNULL(ivars->heldMap);
      ret = buffer->CreateMapping(in[2], 0, in[3], in[4], in[5], &ivars->heldMap);
      buffer->release();
      out[0] = static_cast<uint32_t>(ret);
      out[1] = ret == kIOReturnSuccess ? ivars->heldMap->GetAddress() : 0;
      out[2] = ret == kIOReturnSuccess ? ivars->heldMap->GetLength() : 0;
      a->scalarOutputCount = 3;
      return kIOReturnSuccess;
    }
    case kSelMapKeepsMemory: {
      IOBufferMemoryDescriptor* buffer = nullptr;
      kern_return_t ret =
          IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 16384, 0, &buffer);
      if (ret != kIOReturnSuccess) return ret;
      buffer->SetLength(16384);
      IOAddressSegment range{};
      buffer->GetAddressRange(&range);
      auto* bytes = reinterpret_cast<uint8_t*>(range.address);
      for (uint64_t i = 0; i < range.length; ++i) bytes[i] = Pattern(62, i);
      OSSafeReleaseNULL(ivars->heldMap);
      ret = buffer->CreateMapping(0, 0, 0, 0, 0, &ivars->heldMap);
      out[0] = static_cast<uint64_t>(buffer->getRetainCount());
      buffer->release();  // only the map holds it now
      if (ret != kIOReturnSuccess) return ret;
      out[1] = ivars->heldMap->GetAddress();
      out[2] = ivars->heldMap->GetLength();
      a->scalarOutputCount = 3;
      return kIOReturnSuccess;
    }
    case kSelBufferCreate: {
      if (a->scalarInputCount != 3 || a->scalarOutputCount < kBufferCount)
        return kIOReturnBadArgument;
      for (uint32_t i = 0; i < kBufferCount; ++i) out[i] = 0;
      IOBufferMemoryDescriptor* buffer = nullptr;
      kern_return_t ret = IOBufferMemoryDescriptor::Create(in[0], in[1], 0, &buffer);
      out[kBufferCreateStatus] = static_cast<uint32_t>(ret);
      a->scalarOutputCount = kBufferCount;
      if (ret != kIOReturnSuccess) return kIOReturnSuccess;
      buffer->GetLength(&out[kBufferLengthAtCreate]);
      if (in[2] != kNoSetLength)
        out[kBufferSetLengthStatus] = static_cast<uint32_t>(buffer->SetLength(in[2]));
      buffer->GetLength(&out[kBufferLengthAfterSet]);
      IOAddressSegment range{};
      buffer->GetAddressRange(&range);
      if (range.length != 0) {
        // The range is the dext's own, writable memory.
        auto* bytes = reinterpret_cast<uint8_t*>(range.address);
        bytes[0] = 0xa5;
        bytes[range.length - 1] = bytes[0];
      }
      out[kBufferRangeAddress] = range.address;
      out[kBufferRangeLength] = range.length;
      buffer->release();
      return kIOReturnSuccess;
    }
    case kSelSubDescriptor: {
      if (a->scalarInputCount != 3 && a->scalarInputCount != 4) return kIOReturnBadArgument;
      IOAddressSegment range{};
      ivars->shared->GetAddressRange(&range);
      auto* bytes = reinterpret_cast<uint8_t*>(range.address);
      for (uint64_t i = 0; i < range.length; ++i) bytes[i] = Pattern(64, i);
      IOMemoryDescriptor* sub = nullptr;
      kern_return_t ret =
          IOMemoryDescriptor::CreateSubMemoryDescriptor(in[0], in[1], in[2], ivars->shared, &sub);
      for (uint32_t i = 0; i < 5; ++i) out[i] = 0;
      out[0] = static_cast<uint32_t>(ret);
      a->scalarOutputCount = 5;
      if (ret != kIOReturnSuccess) return kIOReturnSuccess;
      sub->GetLength(&out[1]);
      IOMemoryMap* map = nullptr;
      if (out[1] != 0 && sub->CreateMapping(0, 0, 0, 0, 0, &map) == kIOReturnSuccess) {
        const auto* mapped = reinterpret_cast<const uint8_t*>(map->GetAddress());
        out[2] = mapped[0];
        out[3] = mapped[map->GetLength() - 1];
        out[4] = map->GetAddress();
        if (a->scalarInputCount == 4 && in[3] != 0) {
          OSSafeReleaseNULL(ivars->heldMap);
          ivars->heldMap = map;  // kept for the test to look at
          map = nullptr;
        }
        OSSafeReleaseNULL(map);
      }
      sub->release();
      return kIOReturnSuccess;
    }
    case kSelConcatenate: {
      if (a->scalarInputCount != 6) return kIOReturnBadArgument;
      const IOAddressSegment segA{in[0], in[1]}, segB{in[2], in[3]};
      IOMemoryDescriptor* parts[3] = {};
      kern_return_t ret = CreateMemoryDescriptorFromClient(
          kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 1, &segA, &parts[0]);
      if (ret == kIOReturnSuccess) {
        ret = CreateMemoryDescriptorFromClient(
            kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 1, &segB, &parts[2]);
      }
      if (ret != kIOReturnSuccess) {
        OSSafeReleaseNULL(parts[0]);
        return ret;
      }
      IOMemoryDescriptor* const withNull[3] = {parts[0], nullptr, parts[2]};
      IOMemoryDescriptor* const two[2] = {parts[0], parts[2]};
      IOMemoryDescriptor* both = nullptr;
      ret = IOMemoryDescriptor::CreateWithMemoryDescriptors(in[4], in[5] ? 3 : 2,
                                                            in[5] ? withNull : two, &both);
      parts[0]->release();  // the concatenation keeps its parts
      parts[2]->release();
      out[0] = static_cast<uint32_t>(ret);
      out[1] = out[2] = 0;
      a->scalarOutputCount = 3;
      if (ret != kIOReturnSuccess) return kIOReturnSuccess;
      both->GetLength(&out[1]);
      IOMemoryMap* map = nullptr;
      ret = both->CreateMapping(kIOMemoryMapReadOnly, 0, 0, 0, 0, &map);
      if (ret == kIOReturnSuccess) {
        uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
        const auto* mapped = reinterpret_cast<const uint8_t*>(map->GetAddress());
        for (uint64_t i = 0; i < map->GetLength(); ++i)
          hash = (hash ^ mapped[i]) * 0x100000001b3ull;
        out[2] = hash;
        map->release();
      }
      both->release();
      return ret;
    }
    case kSelDmaCreate: {
      IODMACommandSpecification spec{};
      spec.maxAddressBits = in[1];
      IODMACommand* command = nullptr;
      out[0] = static_cast<uint32_t>(IODMACommand::Create(device, in[0], &spec, &command));
      OSSafeReleaseNULL(command);
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelPrepareEx: {
      if (a->scalarInputCount != 7 || a->scalarOutputCount < kPrepareExCount)
        return kIOReturnBadArgument;
      kern_return_t ret = kIOReturnSuccess;
      if (in[6] != 0) {
        IODMACommandSpecification spec{};
        spec.maxAddressBits = in[6];
        IODMACommand* command = nullptr;
        ret = IODMACommand::Create(device, 0, &spec, &command);
        if (ret != kIOReturnSuccess) return ret;
        ivars->dma->CompleteDMA(0);
        ivars->dma->release();
        ivars->dma = command;
        ivars->segmentCount = 0;
      }
      IOMemoryDescriptor* memory = nullptr;
      if (in[5] == kPrepareModeNew) {
        const IOAddressSegment segment{in[0], in[1]};
        ret = CreateMemoryDescriptorFromClient(in[2], 1, &segment, &memory);
        if (ret != kIOReturnSuccess) return ret;
      } else if (in[5] == kPrepareModeSame && ivars->heldMemory != nullptr) {
        memory = ivars->heldMemory;
        memory->retain();
      }
      IOAddressSegment segments[32] = {};
      uint64_t flags = 0;
      uint32_t count = static_cast<uint32_t>(in[3]);
      ret = ivars->dma->PrepareForDMA(in[4], memory, 0, 0, &flags, &count, segments);
      for (uint32_t i = 0; i < kPrepareExCount; ++i) out[i] = 0;
      out[kPrepareStatus] = static_cast<uint32_t>(ret);
      a->scalarOutputCount = kPrepareExCount;
      if (ret != kIOReturnSuccess) {
        OSSafeReleaseNULL(memory);
        return kIOReturnSuccess;
      }
      out[kPrepareSegments] = count;
      out[kPrepareFlags] = flags;
      for (uint32_t i = 0; i < count; ++i) {
        out[kPrepareBytes] += segments[i].length;
        if (segments[i].address + segments[i].length > out[kPrepareMaxEnd]) {
          out[kPrepareMaxEnd] = segments[i].address + segments[i].length;
        }
        ivars->segments[i] = segments[i];
      }
      out[kPrepareFirstAddress] = count ? segments[0].address : 0;
      ivars->segmentCount = count;
      OSSafeReleaseNULL(ivars->heldMemory);
      ivars->heldMemory = memory;
      return kIOReturnSuccess;
    }
    case kSelDeviceDmaAt: {
      uint8_t index = 0;
      if (a->scalarInputCount != 3) return kIOReturnBadArgument;
      device->GetBARInfo(0, &index, nullptr, nullptr);
      device->MemoryWrite64(index, probe::kDmaAddress, in[1]);
      device->MemoryWrite64(index, probe::kDmaLength, in[2]);
      device->MemoryWrite32(index, probe::kDmaCommand, static_cast<uint32_t>(in[0]));
      uint32_t status = 0;
      device->MemoryRead32(index, probe::kDmaStatus, &status);
      out[0] = status;
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelRaiseGetLast:
    case kSelRaiseDisable: {
      if (ivars->source == nullptr) return kIOReturnNotReady;
      uint8_t index = 0;
      device->GetBARInfo(0, &index, nullptr, nullptr);
      const uint64_t before = mach_absolute_time();
      for (uint64_t i = 0; i < in[1]; ++i) {
        device->MemoryWrite32(index, probe::kRaise, static_cast<uint32_t>(in[0]));
      }
      const uint64_t after = mach_absolute_time();
      if (selector == kSelRaiseDisable) {
        ConformanceUserClient_IVars* v = ivars;
        out[0] = static_cast<uint32_t>(ivars->source->SetEnableWithCompletion(false, ^{
          v->completionSaw = v->interrupts;
          v->completionRan = 1;
        }));
        a->scalarOutputCount = 1;
        return kIOReturnSuccess;
      }
      out[0] = static_cast<uint32_t>(ivars->source->GetLastInterrupt(&out[1], &out[2]));
      out[3] = before;
      out[4] = after;
      a->scalarOutputCount = 5;
      return kIOReturnSuccess;
    }
    case kSelGetLast:
      if (ivars->source == nullptr) return kIOReturnNotReady;
      out[0] = static_cast<uint32_t>(ivars->source->GetLastInterrupt(&out[1], &out[2]));
      out[3] = ivars->completionRan;
      out[4] = ivars->completionSaw;
      a->scalarOutputCount = 5;
      return kIOReturnSuccess;
    case kSelInterruptCancel:
      out[0] =
          ivars->source ? static_cast<uint32_t>(ivars->source->Cancel(nullptr)) : kIOReturnNotReady;
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    case kSelInterruptType: {
      uint64_t type = ~0ull;
      out[0] = static_cast<uint32_t>(
          IOInterruptDispatchSource::GetInterruptType(device, static_cast<uint32_t>(in[0]), &type));
      out[1] = type;
      a->scalarOutputCount = 2;
      return kIOReturnSuccess;
    }
    case kSelRaiseMany: {
      uint8_t index = 0;
      device->GetBARInfo(0, &index, nullptr, nullptr);
      for (uint64_t i = 0; i < in[1]; ++i)
        device->MemoryWrite32(index, probe::kRaise, static_cast<uint32_t>(in[0]));
      return kIOReturnSuccess;
    }
    case kSelMemoryRead32: {
      uint32_t value = 0;
      device->MemoryRead32(static_cast<uint8_t>(in[0]), in[1], &value);
      out[0] = value;
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelSetCommand: {
      uint16_t command = 0;
      device->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand, static_cast<uint16_t>(in[0]));
      device->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
      out[0] = command;
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelBarInfo: {
      uint8_t index = 0, barType = 0;
      uint64_t size = 0;
      out[0] = static_cast<uint32_t>(
          device->GetBARInfo(static_cast<uint8_t>(in[0]), &index, &size, &barType));
      out[1] = index;
      out[2] = size;
      out[3] = barType;
      a->scalarOutputCount = 4;
      return kIOReturnSuccess;
    }
    case kSelSharedByte: {
      if (a->scalarInputCount < 1 || in[0] >= kSharedBufferSize) return kIOReturnBadArgument;
      IOAddressSegment range{};
      ivars->shared->GetAddressRange(&range);
      auto* bytes = reinterpret_cast<uint8_t*>(range.address);
      out[0] = bytes[in[0]];
      if (a->scalarInputCount > 1) bytes[in[0]] = static_cast<uint8_t>(in[1]);
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelSessionRules: {
      if (a->scalarInputCount < 1 || a->scalarOutputCount < kSessionCount) {
        return kIOReturnBadArgument;
      }
      IOService* const forClients[] = {ivars->driver, this, NULL};
      for (uint32_t i = 0; i < 3; ++i) {
        IOMemoryDescriptor* memory = NULL;
        out[kSessionCopyOpener + i] = static_cast<uint32_t>(
            device->_CopyDeviceMemoryWithIndex(in[0], &memory, forClients[i]));
        OSSafeReleaseNULL(memory);
      }
      IOMemoryDescriptor* memory = NULL;
      out[kSessionCopyPastRom] =
          static_cast<uint32_t>(device->_CopyDeviceMemoryWithIndex(7, &memory, ivars->driver));
      OSSafeReleaseNULL(memory);
      out[kSessionOpenOther] = static_cast<uint32_t>(device->Open(this, 0));
      out[kSessionOpenOwnerAgain] = static_cast<uint32_t>(device->Open(ivars->driver, 0));
      a->scalarOutputCount = kSessionCount;
      return kIOReturnSuccess;
    }
    case kSelFindWhileClosed: {
      if (a->scalarOutputCount < kClosedCount) return kIOReturnBadArgument;
      device->Close(ivars->driver, 0);
      uint64_t offset = 0;
      out[kClosedFindStatus] =
          static_cast<uint32_t>(device->FindPCICapability(kIOPCICapabilityIDMSI, 0, &offset));
      out[kClosedFindOffset] = offset;
      out[kClosedReopenStatus] = static_cast<uint32_t>(device->Open(ivars->driver, 0));
      a->scalarOutputCount = kClosedCount;
      return kIOReturnSuccess;
    }
    default: {
      bool handled = false;
      kern_return_t ret = MultiMemoryExternalMethod(selector, a, &handled);
      if (!handled) ret = MemPciExternalMethod(device, selector, a, &handled);
      return handled ? ret : kIOReturnBadArgument;  // else an unknown selector
    }
  }
}
