// The conformance dext's selectors for IOPCIDevice and IODMACommand declarations
// (mempci_protocol.h), written against Apple's names and defaults only.
#include "MemPciMethods.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <string.h>

#include "mempci_protocol.h"

using namespace conformance;

namespace {

uint64_t First8(IOBufferMemoryDescriptor* buffer) {
  IOAddressSegment range{};
  buffer->GetAddressRange(&range);
  uint64_t value = 0;
  memcpy(&value, reinterpret_cast<const void*>(range.address), sizeof(value));
  return value;
}

kern_return_t SetOne(IOPCIDevice* device, const char* key, const OSMetaClassBase* value) {
  OSDictionary* properties = OSDictionary::withCapacity(1);
  if (properties == NULL) return kIOReturnNoMemory;
  properties->setObject(key, value);
  const kern_return_t ret = device->SetProperties(properties);
  OSSafeReleaseNULL(properties);
  return ret;
}

uint64_t HasProperty(IOPCIDevice* device, const char* key) {
  OSContainer* value = NULL;
  const kern_return_t ret = device->SearchProperty(key, "IOService", 0, &value);
  OSSafeReleaseNULL(value);
  return ret == kIOReturnSuccess;
}

kern_return_t MemoryWidth(IOPCIDevice* device, IOUserClientMethodArguments* a) {
  if (a->scalarInputCount < 5 || a->scalarOutputCount < kWidthCount) return kIOReturnBadArgument;
  const uint64_t* in = a->scalarInput;
  uint64_t* out = a->scalarOutput;
  const auto index = static_cast<uint8_t>(in[0]);
  const uint64_t offset = in[1];
  const uint64_t value = in[2];
  const auto options = static_cast<IOOptionBits>(in[4]);
  switch (in[3]) {
    case 8: {
      uint8_t r4 = 0, r3 = 0;
      device->MemoryWrite8(index, offset, static_cast<uint8_t>(value), options);
      device->MemoryRead8(index, offset, &r4, options);
      device->MemoryRead8(index, offset, &r3);
      out[kWidthRead4] = r4;
      out[kWidthRead3] = r3;
      break;
    }
    case 16: {
      uint16_t r4 = 0, r3 = 0;
      device->MemoryWrite16(index, offset, static_cast<uint16_t>(value), options);
      device->MemoryRead16(index, offset, &r4, options);
      device->MemoryRead16(index, offset, &r3);
      out[kWidthRead4] = r4;
      out[kWidthRead3] = r3;
      break;
    }
    case 32: {
      uint32_t r4 = 0, r3 = 0;
      device->MemoryWrite32(index, offset, static_cast<uint32_t>(value), options);
      device->MemoryRead32(index, offset, &r4, options);
      device->MemoryRead32(index, offset, &r3);
      out[kWidthRead4] = r4;
      out[kWidthRead3] = r3;
      break;
    }
    case 64: {
      uint64_t r4 = 0, r3 = 0;
      device->MemoryWrite64(index, offset, value, options);
      device->MemoryRead64(index, offset, &r4, options);
      device->MemoryRead64(index, offset, &r3);
      out[kWidthRead4] = r4;
      out[kWidthRead3] = r3;
      break;
    }
    default:
      return kIOReturnBadArgument;
  }
  uint64_t whole = 0;
  device->MemoryRead64(index, offset & ~7ull, &whole, kIOPCIAccessLatencyTolerantHint);
  out[kWidthRead64] = whole;
  a->scalarOutputCount = kWidthCount;
  return kIOReturnSuccess;
}

kern_return_t KernelMethods(IOPCIDevice* device, IOUserClientMethodArguments* a) {
  if (a->scalarOutputCount < kKernelCount) return kIOReturnBadArgument;
  uint64_t* out = a->scalarOutput;
  uint8_t function = 0xff, memoryIndex = 0xff, barType = 0;
  uint64_t size = 0, found = 0;
  IOPCILinkSpeed speed = kPCILinkSpeed_2_5_GTs;
  out[kKernelBdfNullOut] =
      static_cast<uint32_t>(device->GetBusDeviceFunction(NULL, NULL, &function));
  out[kKernelBarInfoDefaults] = static_cast<uint32_t>(device->GetBARInfo(0, &memoryIndex));
  out[kKernelBarInfoRom] = static_cast<uint32_t>(
      device->GetBARInfo(kPCIMemoryRangeExpansionROM, &memoryIndex, &size, &barType));
  out[kKernelBarInfoPastRom] =
      static_cast<uint32_t>(device->GetBARInfo(7, &memoryIndex, &size, &barType));
  out[kKernelFindMsiNullOut] =
      static_cast<uint32_t>(device->FindPCICapability(kIOPCICapabilityIDMSI, 0, NULL));
  out[kKernelFindExtended] = static_cast<uint32_t>(
      device->FindPCICapability(kIOPCIExpressCapabilityIDErrorReporting, 0, &found));
  out[kKernelHasPm] = static_cast<uint32_t>(device->HasPCIPowerManagement(kPCIPMCD3Support));
  out[kKernelEnablePm] =
      static_cast<uint32_t>(device->EnablePCIPowerManagement(kPCIPMCSPowerStateD3));
  out[kKernelSaveState] = static_cast<uint32_t>(device->SaveDeviceState());
  out[kKernelRestoreState] = static_cast<uint32_t>(device->RestoreDeviceState());
  out[kKernelSetLinkSpeedBad] =
      static_cast<uint32_t>(device->SetLinkSpeed(static_cast<IOPCILinkSpeed>(0)));
  out[kKernelSetLinkSpeed] = static_cast<uint32_t>(device->SetLinkSpeed(kPCILinkSpeed_8_GTs));
  out[kKernelGetLinkSpeed] = static_cast<uint32_t>(device->GetLinkSpeed(&speed));
  out[kKernelSetAspm] = static_cast<uint32_t>(device->SetASPMState(kIOPCILinkControlASPMBitsL1));
  out[kKernelConfigureDefaults] =
      static_cast<uint32_t>(device->ConfigureInterrupts(kIOInterruptTypePCIMessaged));
  out[kKernelFunctionNumber] = function;
  a->scalarOutputCount = kKernelCount;
  return kIOReturnSuccess;
}

kern_return_t SetPropertiesRules(IOPCIDevice* device, IOUserClientMethodArguments* a) {
  if (a->scalarOutputCount < kSetPropertiesCount) return kIOReturnBadArgument;
  uint64_t* out = a->scalarOutput;
  out[kSetPropertiesOther] =
      static_cast<uint32_t>(SetOne(device, "ConformanceKey", kOSBooleanTrue));
  OSNumber* number = OSNumber::withNumber(1ull, 32);
  out[kSetPropertiesNotBool] = static_cast<uint32_t>(SetOne(device, kIOPMPCISleepResetKey, number));
  OSSafeReleaseNULL(number);
  OSDictionary* both = OSDictionary::withCapacity(2);
  if (both == NULL) return kIOReturnNoMemory;
  both->setObject(kIOPMPCIConfigSpaceVolatileKey, kOSBooleanTrue);
  both->setObject("ConformanceKey", kOSBooleanTrue);
  out[kSetPropertiesFamily] = static_cast<uint32_t>(device->SetProperties(both));
  OSSafeReleaseNULL(both);
  out[kSetPropertiesFamilyKeySet] = HasProperty(device, kIOPMPCIConfigSpaceVolatileKey);
  out[kSetPropertiesOtherKeySet] = HasProperty(device, "ConformanceKey");
  a->scalarOutputCount = kSetPropertiesCount;
  return kIOReturnSuccess;
}

kern_return_t PerformOperation(IOPCIDevice* device, IOUserClientMethodArguments* a) {
  if (a->scalarInputCount < 5 || a->scalarOutputCount < kPerformCount) return kIOReturnBadArgument;
  const uint64_t* in = a->scalarInput;
  uint64_t* out = a->scalarOutput;
  IOBufferMemoryDescriptor* bufferA = NULL;
  IOBufferMemoryDescriptor* bufferB = NULL;
  IODMACommand* command = NULL;
  IOMemoryDescriptor* prepared = NULL;
  kern_return_t ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 4096, 0, &bufferA);
  if (ret == kIOReturnSuccess) {
    ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 4096, 0, &bufferB);
  }
  if (ret != kIOReturnSuccess) {
    OSSafeReleaseNULL(bufferA);
    return ret;
  }
  bufferA->SetLength(4096);
  bufferB->SetLength(4096);
  IOAddressSegment range{};
  bufferA->GetAddressRange(&range);
  auto* bytes = reinterpret_cast<uint8_t*>(range.address);
  for (unsigned i = 0; i < 4096; ++i) bytes[i] = static_cast<uint8_t>(i);
  bufferB->GetAddressRange(&range);
  memset(reinterpret_cast<void*>(range.address), 0x5A, 4096);

  IODMACommandSpecification spec{};
  spec.options = kIODMACommandSpecificationNoOptions;
  spec.maxAddressBits = 64;
  ret = IODMACommand::Create(device, kIODMACommandCreateNoOptions, &spec, &command);
  uint64_t flags = 0;
  uint32_t count = 32;
  IOAddressSegment segments[32] = {};
  if (ret == kIOReturnSuccess) {
    ret = command->PrepareForDMA(kIODMACommandPrepareForDMANoOptions, bufferA, 0, 0, &flags, &count,
                                 segments);
  }
  if (ret == kIOReturnSuccess) {
    const int before = static_cast<int>(bufferA->getRetainCount());
    uint64_t offset = 1, length = 0;
    kern_return_t got = command->GetPreparation(&offset, &length, &prepared);
    const int after = static_cast<int>(bufferA->getRetainCount());
    out[kPerformRetainDelta] = static_cast<uint64_t>(static_cast<int64_t>(after - before));
    out[kPerformPreparationMatch] = got == kIOReturnSuccess && prepared == bufferA;
    OSSafeReleaseNULL(prepared);

    out[kPerformStatus] = static_cast<uint32_t>(
        command->PerformOperation(in[0], in[1], in[2], in[3], in[4] ? bufferB : NULL));
    out[kPerformA] = First8(bufferA);
    out[kPerformB] = First8(bufferB);
    command->CompleteDMA(kIODMACommandCompleteDMANoOptions);
    a->scalarOutputCount = kPerformCount;
  }
  OSSafeReleaseNULL(command);
  OSSafeReleaseNULL(bufferB);
  OSSafeReleaseNULL(bufferA);
  return ret;
}

}  // namespace

kern_return_t MemPciExternalMethod(IOPCIDevice* device, uint64_t selector,
                                   IOUserClientMethodArguments* a, bool* handled) {
  *handled = true;
  switch (selector) {
    case kSelMemoryWidth:
      return MemoryWidth(device, a);
    case kSelReset: {
      if (a->scalarInputCount < 2 || a->scalarOutputCount < 1) return kIOReturnBadArgument;
      a->scalarOutput[0] =
          static_cast<uint32_t>(device->Reset(static_cast<IOOptionBits>(a->scalarInput[0]),
                                              static_cast<IOOptionBits>(a->scalarInput[1])));
      a->scalarOutputCount = 1;
      return kIOReturnSuccess;
    }
    case kSelKernelMethods:
      return KernelMethods(device, a);
    case kSelPerformOperation:
      return PerformOperation(device, a);
    case kSelSetProperties:
      return SetPropertiesRules(device, a);
    default:
      *handled = false;
      return kIOReturnBadArgument;
  }
}
