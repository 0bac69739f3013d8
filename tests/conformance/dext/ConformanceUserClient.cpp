#include "ConformanceUserClient.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSData.h>
#include <PCIDriverKit/PCIDriverKit.h>

#include "../probe_registers.h"
#include "ConformanceDriver.h"
#include "conformance_protocol.h"

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

uint8_t Pattern(uint64_t seed, uint64_t i) { return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8)); }

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

kern_return_t IMPL(ConformanceUserClient, Stop) {
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
      return ivars->driver->GetDevice()->_CopyDeviceMemoryWithIndex(index, memory, this);
    }
    case kMemNoSetLength:
      ivars->noLength->retain();
      *memory = ivars->noLength;
      return kIOReturnSuccess;
    default:
      return kIOReturnBadArgument;
  }
}

void IMPL(ConformanceUserClient, InterruptOccurred) {
  ivars->deliveries += 1;
  ivars->interrupts += count;
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
      if (a->structureInput) flags |= kHasStructureInput, inputLength = a->structureInput->getLength();
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
      kern_return_t ret = a->structureInputDescriptor->CreateMapping(0, 0, 0, 0, 0, &ivars->heldMap);
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
      for (uint32_t i = 0; ret == kIOReturnSuccess && i < count; ++i) bytes += ivars->segments[i].length;
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
        if (ret == kIOReturnSuccess) ret = CreateActionInterruptOccurred(0, &ivars->interruptAction);
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
      a->scalarOutputCount = 2;
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
      out[0] = static_cast<uint32_t>(device->ConfigureInterrupts(
          static_cast<uint32_t>(in[0]), static_cast<uint32_t>(in[1]), static_cast<uint32_t>(in[2]), 0));
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
    default:
      return kIOReturnBadArgument;  // unknown selector
  }
}
