// Brings up the board (open the IOPCIDevice, enable memory space, find BAR 0) and moves bytes
// between card memory and the dext's memory with MMIO accesses of at most 32 bits, aligned to
// their size: device memory takes no unaligned or vector accesses on arm64, so no memcpy.
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSCollections.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <os/log.h>
#include <string.h>

#include "PortingDriver.h"

struct PortingDriver_IVars {
  IOPCIDevice* device;
  uint8_t cardIndex;  // BAR 0's memory index for MemoryRead32 and friends
  uint64_t cardSize;
};

bool PortingDriver::init() {
  if (!super::init()) return false;
  ivars = IONewZero(PortingDriver_IVars, 1);
  return ivars != nullptr;
}

void PortingDriver::free() {
  IOSafeDeleteNULL(ivars, PortingDriver_IVars, 1);
  super::free();
}

kern_return_t IMPL(PortingDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->device = OSDynamicCast(IOPCIDevice, provider);
  if (ivars->device == nullptr) return kIOReturnNoDevice;
  ivars->device->retain();
  ret = ivars->device->Open(this, 0);
  if (ret != kIOReturnSuccess) return ret;
  // Open leaves the Command register alone: memory space on, or BAR accesses go nowhere.
  uint16_t command = 0;
  ivars->device->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  ivars->device->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                      command | kIOPCICommandMemorySpace);
  uint8_t type = 0;
  ret = ivars->device->GetBARInfo(kPCIMemoryRangeBAR0, &ivars->cardIndex, &ivars->cardSize, &type);
  if (ret != kIOReturnSuccess) {
    os_log(OS_LOG_DEFAULT, "PortingDriver: no BAR 0 (0x%x)", ret);
    return ret;
  }
  os_log(OS_LOG_DEFAULT, "PortingDriver: card window of %llu bytes",
         static_cast<unsigned long long>(ivars->cardSize));
  return RegisterService();
}

kern_return_t IMPL(PortingDriver, Stop) {
  if (ivars->device != nullptr) {
    ivars->device->Close(this, 0);
    OSSafeReleaseNULL(ivars->device);
  }
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(PortingDriver, NewUserClient) {
  IOService* client = nullptr;
  kern_return_t ret = Create(this, "UserClientProperties", &client);
  if (ret != kIOReturnSuccess) return ret;
  *userClient = OSDynamicCast(IOUserClient, client);
  if (*userClient == nullptr) {
    client->release();
    return kIOReturnError;
  }
  return kIOReturnSuccess;
}

kern_return_t PortingDriver::CopyFromCard(uint64_t card, void* to, uint64_t length) {
  if (card > ivars->cardSize || length > ivars->cardSize - card) return kIOReturnOverrun;
  uint8_t* bytes = static_cast<uint8_t*>(to);
  uint64_t i = 0;
  while (i < length) {
    if ((card + i) % 4 == 0 && length - i >= 4) {
      uint32_t word = 0;
      ivars->device->MemoryRead32(ivars->cardIndex, card + i, &word);
      memcpy(bytes + i, &word, 4);
      i += 4;
    } else {
      ivars->device->MemoryRead8(ivars->cardIndex, card + i, bytes + i);
      i += 1;
    }
  }
  return kIOReturnSuccess;
}

kern_return_t PortingDriver::CopyToCard(uint64_t card, const void* from, uint64_t length) {
  if (card > ivars->cardSize || length > ivars->cardSize - card) return kIOReturnOverrun;
  const uint8_t* bytes = static_cast<const uint8_t*>(from);
  uint64_t i = 0;
  while (i < length) {
    if ((card + i) % 4 == 0 && length - i >= 4) {
      uint32_t word = 0;
      memcpy(&word, bytes + i, 4);
      ivars->device->MemoryWrite32(ivars->cardIndex, card + i, word);
      i += 4;
    } else {
      ivars->device->MemoryWrite8(ivars->cardIndex, card + i, bytes[i]);
      i += 1;
    }
  }
  return kIOReturnSuccess;
}

kern_return_t PortingDriver::CreateDMACommand(IODMACommand** command) {
  IODMACommandSpecification specification = {};
  specification.options = kIODMACommandSpecificationNoOptions;
  specification.maxAddressBits = 64;
  return IODMACommand::Create(ivars->device, kIODMACommandCreateNoOptions, &specification, command);
}
