//
//  MacStyleUserClient.cpp
//  MacStyleDext
//
//  External methods reached with IOConnectCallScalarMethod / IOConnectCallStructMethod,
//  checked by IOUserClient's dispatch table before they run.
//

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSData.h>
#include <string.h>

#include "MacStyleDriver.h"
#include "MacStyleProtocol.h"
#include "MacStyleUserClient.h"

struct MacStyleUserClient_IVars {
  MacStyleDriver* driver;
};

namespace {

kern_return_t GetInfo(OSObject* target, void* reference, IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  return driver->CopyInfo(arguments->scalarOutput, arguments->scalarOutputCount);
}

kern_return_t WriteRead32(OSObject* target, void* reference,
                          IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  uint32_t readBack = 0;
  kern_return_t result = driver->WriteRead32(
      arguments->scalarInput[0], static_cast<uint32_t>(arguments->scalarInput[1]), &readBack);
  arguments->scalarOutput[0] = readBack;
  return result;
}

kern_return_t Access64(OSObject* target, void* reference, IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  uint64_t readBack = 0;
  uint32_t upper = 0;
  kern_return_t result = driver->Access64(arguments->scalarInput[0], &readBack, &upper);
  arguments->scalarOutput[0] = readBack;
  arguments->scalarOutput[1] = upper;
  return result;
}

kern_return_t StartTimer(OSObject* target, void* reference,
                         IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  if (arguments->scalarInput[0] > UINT32_MAX) {
    return kIOReturnBadArgument;
  }
  return driver->StartTimer(static_cast<uint32_t>(arguments->scalarInput[0]),
                            arguments->scalarInput[1]);
}

kern_return_t RaiseInterrupt(OSObject* target, void* reference,
                             IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  return driver->RaiseInterrupt();
}

kern_return_t CardToHost(OSObject* target, void* reference,
                         IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  MacStyleCardRange range = {};
  if (arguments->structureInput == NULL) {
    return kIOReturnBadArgument;
  }
  memcpy(&range, arguments->structureInput->getBytesNoCopy(), sizeof(range));
  if (range.length == 0 || range.length > kMacStyleMaxTransfer ||
      range.length > arguments->structureOutputMaximumSize) {
    return kIOReturnBadArgument;
  }

  uint8_t bytes[kMacStyleMaxTransfer];
  kern_return_t result = driver->Transfer(true, range.cardAddress, bytes, range.length);
  if (result != kIOReturnSuccess) {
    return result;
  }
  arguments->structureOutput = OSData::withBytes(bytes, range.length);
  return arguments->structureOutput != NULL ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t HostToCard(OSObject* target, void* reference,
                         IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  const uint64_t cardAddress = arguments->scalarInput[0];
  const uint64_t length = arguments->scalarInput[1];
  const uint64_t seed = arguments->scalarInput[2];
  if (length == 0 || length > kMacStyleMaxTransfer) {
    return kIOReturnBadArgument;
  }

  uint8_t bytes[kMacStyleMaxTransfer];
  for (uint64_t i = 0; i < length; i++) {
    bytes[i] = MacStylePattern(seed, i);
  }
  return driver->Transfer(false, cardAddress, bytes, static_cast<uint32_t>(length));
}

kern_return_t NarrowWrites(OSObject* target, void* reference,
                           IOUserClientMethodArguments* arguments) {
  MacStyleDriver* driver = reinterpret_cast<MacStyleDriver*>(reference);
  uint64_t readBack = 0;
  uint8_t byte1 = 0;
  uint16_t lastHalf = 0;
  kern_return_t result = driver->NarrowWrites(arguments->scalarInput[0], arguments->scalarInput[1],
                                              &readBack, &byte1, &lastHalf);
  arguments->scalarOutput[0] = readBack;
  arguments->scalarOutput[1] = byte1;
  arguments->scalarOutput[2] = lastHalf;
  return result;
}

const IOUserClientMethodDispatch sMethods[kMacStyleMethodCount] = {
    // function, checkCompletionExists, scalar in, structure in, scalar out, structure out
    {&GetInfo, 0, 0, 0, kMacStyleInfoCount, 0},
    {&WriteRead32, 0, 2, 0, 1, 0},
    {&Access64, 0, 1, 0, 2, 0},
    {&StartTimer, 0, 2, 0, 0, 0},
    {&RaiseInterrupt, 0, 0, 0, 0, 0},
    {&CardToHost, 0, 0, sizeof(MacStyleCardRange), 0, kIOUserClientVariableStructureSize},
    {&HostToCard, 0, 3, 0, 0, 0},
    {&NarrowWrites, 0, 2, 0, 3, 0},
};

}  // namespace

bool MacStyleUserClient::init() {
  if (super::init() != true) {
    return false;
  }
  ivars = IONewZero(MacStyleUserClient_IVars, 1);
  return ivars != NULL;
}

void MacStyleUserClient::free() {
  IOSafeDeleteNULL(ivars, MacStyleUserClient_IVars, 1);
  super::free();
}

kern_return_t IMPL(MacStyleUserClient, Start) {
  kern_return_t result = Start(provider, SUPERDISPATCH);
  if (result != kIOReturnSuccess) {
    return result;
  }
  ivars->driver = OSDynamicCast(MacStyleDriver, provider);
  if (ivars->driver == NULL) {
    Stop(provider);
    return kIOReturnNoDevice;
  }
  ivars->driver->retain();
  return kIOReturnSuccess;
}

kern_return_t IMPL(MacStyleUserClient, Stop) {
  OSSafeReleaseNULL(ivars->driver);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t MacStyleUserClient::ExternalMethod(uint64_t selector,
                                                 IOUserClientMethodArguments* arguments,
                                                 const IOUserClientMethodDispatch* dispatch,
                                                 OSObject* target, void* reference) {
  if (selector >= kMacStyleMethodCount) {
    return kIOReturnBadArgument;
  }
  if (ivars->driver == NULL) {
    return kIOReturnNotAttached;
  }
  return super::ExternalMethod(selector, arguments, &sMethods[selector], this, ivars->driver);
}
