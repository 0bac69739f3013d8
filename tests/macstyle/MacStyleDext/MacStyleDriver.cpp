//
//  MacStyleDriver.cpp
//  MacStyleDext
//
//  Brings up the board the way Apple's PEX8733 sample does (open the IOPCIDevice, enable
//  memory space and bus leading, find capabilities, an interrupt source on the default queue)
//  and adds a timer, register access of every width and DMA for the user client.
//

#include <DriverKit/DriverKit.h>
#include <DriverKit/IOLib.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <os/log.h>

#include "MacStyleDMA.h"
#include "MacStyleDriver.h"
#include "MacStyleProtocol.h"
#include "XdmaBoardRegisters.h"

#define Log(fmt, ...) \
  os_log(OS_LOG_DEFAULT, "MacStyleDriver::%{public}s: " fmt, __FUNCTION__, ##__VA_ARGS__)

struct MacStyleDriver_IVars {
  IOPCIDevice* pciDevice;
  IODispatchQueue* defaultQueue;
  IOInterruptDispatchSource* interruptSource;
  OSAction* interruptAction;
  IOTimerDispatchSource* timerSource;
  OSAction* timerAction;
  IOLock* lock;          // guards the counters below
  IOLock* transferLock;  // one DMA transfer at a time

  uint8_t userMemoryIndex;
  uint8_t dmaMemoryIndex;
  uint8_t bypassMemoryIndex;
  uint64_t bypassBarSize;
  bool hasBypass;
  uint64_t userBarSize;
  uint8_t userBarType;
  uint64_t dmaBarSize;
  uint8_t bus;
  uint8_t device;
  uint8_t function;
  uint64_t msiOffset;
  uint64_t expressOffset;

  uint64_t interruptCount;
  uint64_t timerFirings;
  uint64_t timerTarget;
  uint64_t timerPeriodTicks;
};

static uint64_t MicrosecondsToTicks(uint64_t microseconds) {
  mach_timebase_info_data_t timebase = {};
  mach_timebase_info(&timebase);
  return microseconds * 1000 * timebase.denom / timebase.numer;
}

bool MacStyleDriver::init() {
  if (super::init() != true) {
    return false;
  }

  ivars = IONewZero(MacStyleDriver_IVars, 1);
  if (ivars == NULL) {
    return false;
  }

  ivars->lock = IOLockAlloc();
  ivars->transferLock = IOLockAlloc();
  return ivars->lock != NULL && ivars->transferLock != NULL;
}

void MacStyleDriver::free() {
  if (ivars != NULL) {
    if (ivars->lock != NULL) {
      IOLockFree(ivars->lock);
    }
    if (ivars->transferLock != NULL) {
      IOLockFree(ivars->transferLock);
    }
  }
  IOSafeDeleteNULL(ivars, MacStyleDriver_IVars, 1);
  super::free();
}

kern_return_t IMPL(MacStyleDriver, Start) {
  kern_return_t result = Start(provider, SUPERDISPATCH);
  if (result != kIOReturnSuccess) {
    return result;
  }

  ivars->pciDevice = OSDynamicCast(IOPCIDevice, provider);
  if (ivars->pciDevice == NULL) {
    Stop(provider);
    return kIOReturnNoDevice;
  }
  ivars->pciDevice->retain();

  result = ivars->pciDevice->Open(this, 0);
  if (result != kIOReturnSuccess) {
    Log("Open failed: 0x%x", result);
    OSSafeReleaseNULL(ivars->pciDevice);
    Stop(provider);
    return result;
  }

  result = ivars->pciDevice->GetBusDeviceFunction(&ivars->bus, &ivars->device, &ivars->function);
  if (result != kIOReturnSuccess) {
    Log("unable to get B:D:F: 0x%x", result);
    Stop(provider);
    return result;
  }

  uint16_t command = 0;
  ivars->pciDevice->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  ivars->pciDevice->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                         command | kIOPCICommandBusLead | kIOPCICommandMemorySpace);

  ivars->pciDevice->FindPCICapability(kIOPCICapabilityIDMSI, 0, &ivars->msiOffset);
  ivars->pciDevice->FindPCICapability(kIOPCICapabilityIDPCIExpress, 0, &ivars->expressOffset);

  result = ivars->pciDevice->GetBARInfo(kPCIMemoryRangeBAR0, &ivars->userMemoryIndex,
                                        &ivars->userBarSize, &ivars->userBarType);
  if (result == kIOReturnSuccess) {
    result = ivars->pciDevice->GetBARInfo(kPCIMemoryRangeBAR1, &ivars->dmaMemoryIndex,
                                          &ivars->dmaBarSize);
  }
  if (result != kIOReturnSuccess) {
    Log("the board's BARs are not there: 0x%x", result);
    Stop(provider);
    return result;
  }

  // The bypass BAR (a window on card memory) is optional on this board.
  ivars->hasBypass = ivars->pciDevice->GetBARInfo(kPCIMemoryRangeBAR2, &ivars->bypassMemoryIndex,
                                                  &ivars->bypassBarSize) == kIOReturnSuccess;

  uint32_t identifier = 0;
  ivars->pciDevice->MemoryRead32(ivars->userMemoryIndex, kUserRegId, &identifier);
  Log("user block 0x%08x at %02x:%02x.%x", identifier, ivars->bus, ivars->device, ivars->function);

  result = CopyDispatchQueue(kIOServiceDefaultQueueName, &ivars->defaultQueue);
  if (result != kIOReturnSuccess) {
    Log("failed to copy queue: 0x%x", result);
    Stop(provider);
    return result;
  }

  // MSI vector 0 is interrupt index 1; user line 0 of the board is steered to it.
  result = IOInterruptDispatchSource::Create(ivars->pciDevice, 1, ivars->defaultQueue,
                                             &ivars->interruptSource);
  if (result == kIOReturnSuccess) {
    result = CreateActionInterruptOccurred(sizeof(void*), &ivars->interruptAction);
  }
  if (result == kIOReturnSuccess) {
    result = ivars->interruptSource->SetHandler(ivars->interruptAction);
  }
  if (result != kIOReturnSuccess) {
    Log("failed to set up the interrupt source: 0x%x", result);
    Stop(provider);
    return result;
  }
  ivars->interruptSource->SetEnable(true);
  ivars->pciDevice->MemoryWrite32(ivars->dmaMemoryIndex, kXdmaIrqBlock + kXdmaIrqUserVector0, 0);
  ivars->pciDevice->MemoryWrite32(ivars->dmaMemoryIndex, kXdmaIrqBlock + kXdmaIrqUserEnableW1S, 1);

  result = IOTimerDispatchSource::Create(ivars->defaultQueue, &ivars->timerSource);
  if (result == kIOReturnSuccess) {
    result = CreateActionTimerOccurred(sizeof(void*), &ivars->timerAction);
  }
  if (result == kIOReturnSuccess) {
    result = ivars->timerSource->SetHandler(ivars->timerAction);
  }
  if (result != kIOReturnSuccess) {
    Log("failed to set up the timer: 0x%x", result);
    Stop(provider);
    return result;
  }
  ivars->timerSource->SetEnable(true);

  return RegisterService();
}

kern_return_t IMPL(MacStyleDriver, Stop) {
  if (ivars->timerSource != NULL) {
    ivars->timerSource->SetEnable(false);
  }
  if (ivars->interruptSource != NULL) {
    ivars->interruptSource->SetEnable(false);
  }
  if (ivars->pciDevice != NULL) {
    ivars->pciDevice->MemoryWrite32(ivars->dmaMemoryIndex, kXdmaIrqBlock + kXdmaIrqUserEnableW1C,
                                    1);
    uint16_t command = 0;
    ivars->pciDevice->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
    ivars->pciDevice->ConfigurationWrite16(
        kIOPCIConfigurationOffsetCommand,
        command & ~(kIOPCICommandBusLead | kIOPCICommandMemorySpace));
    ivars->pciDevice->Close(this, 0);
  }
  OSSafeReleaseNULL(ivars->timerAction);
  OSSafeReleaseNULL(ivars->timerSource);
  OSSafeReleaseNULL(ivars->interruptAction);
  OSSafeReleaseNULL(ivars->interruptSource);
  OSSafeReleaseNULL(ivars->defaultQueue);
  OSSafeReleaseNULL(ivars->pciDevice);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(MacStyleDriver, NewUserClient) {
  IOService* client = NULL;
  kern_return_t result = Create(this, "UserClientProperties", &client);
  if (result != kIOReturnSuccess) {
    Log("failed to create the user client: 0x%x", result);
    return result;
  }
  *userClient = OSDynamicCast(IOUserClient, client);
  if (*userClient == NULL) {
    client->release();
    return kIOReturnError;
  }
  return kIOReturnSuccess;
}

void IMPL(MacStyleDriver, InterruptOccurred) {
  // Acknowledge the board's line so that its next assertion is a new edge.
  ivars->pciDevice->MemoryWrite32(ivars->userMemoryIndex, kUserRegIrqClear, 1);

  IOLockLock(ivars->lock);
  ivars->interruptCount += count;
  IOLockUnlock(ivars->lock);
}

void IMPL(MacStyleDriver, TimerOccurred) {
  // The count becomes visible to the user client only once the board has seen it.
  IOLockLock(ivars->lock);
  uint64_t firings = ivars->timerFirings + 1;
  ivars->pciDevice->MemoryWrite32(ivars->userMemoryIndex, kUserRegScratch3,
                                  static_cast<uint32_t>(firings));
  ivars->timerFirings = firings;
  bool again = firings < ivars->timerTarget;
  uint64_t period = ivars->timerPeriodTicks;
  IOLockUnlock(ivars->lock);

  if (again) {
    ivars->timerSource->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time() + period, 0);
  }
}

kern_return_t MacStyleDriver::CopyInfo(uint64_t* values, uint32_t count) {
  if (values == NULL || count < kMacStyleInfoCount) {
    return kIOReturnBadArgument;
  }

  uint32_t identifier = 0;
  uint16_t command = 0;
  uint32_t vendorDevice = 0;
  uint16_t idLow = 0;
  uint8_t idTop = 0;
  ivars->pciDevice->MemoryRead32(ivars->userMemoryIndex, kUserRegId, &identifier);
  ivars->pciDevice->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  ivars->pciDevice->ConfigurationRead32(kIOPCIConfigurationOffsetVendorID, &vendorDevice);
  ivars->pciDevice->MemoryRead16(ivars->userMemoryIndex, kUserRegId, &idLow,
                                 kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryRead8(ivars->userMemoryIndex, kUserRegId + 3, &idTop);

  uint8_t functionOnly = 0xFF;
  kern_return_t functionOnlyStatus =
      ivars->pciDevice->GetBusDeviceFunction(NULL, NULL, &functionOnly);

  values[kMacStyleInfoUserId] = identifier;
  values[kMacStyleInfoCommand] = command;
  values[kMacStyleInfoVendorDevice] = vendorDevice;
  values[kMacStyleInfoBus] = ivars->bus;
  values[kMacStyleInfoDevice] = ivars->device;
  values[kMacStyleInfoFunction] = ivars->function;
  values[kMacStyleInfoMsiOffset] = ivars->msiOffset;
  values[kMacStyleInfoExpressOffset] = ivars->expressOffset;
  values[kMacStyleInfoUserBarSize] = ivars->userBarSize;
  values[kMacStyleInfoUserBarType] = ivars->userBarType;
  values[kMacStyleInfoDmaBarSize] = ivars->dmaBarSize;
  values[kMacStyleInfoIdLow16] = idLow;
  values[kMacStyleInfoIdTopByte] = idTop;
  values[kMacStyleInfoFunctionOnlyStatus] = static_cast<uint32_t>(functionOnlyStatus);

  IOLockLock(ivars->lock);
  values[kMacStyleInfoInterrupts] = ivars->interruptCount;
  values[kMacStyleInfoTimerFirings] = ivars->timerFirings;
  IOLockUnlock(ivars->lock);
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::WriteRead32(uint64_t offset, uint32_t value, uint32_t* readBack) {
  if (offset + sizeof(uint32_t) > ivars->userBarSize || (offset & 3) != 0 || readBack == NULL) {
    return kIOReturnBadArgument;
  }
  ivars->pciDevice->MemoryWrite32(ivars->userMemoryIndex, offset, value,
                                  kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryRead32(ivars->userMemoryIndex, offset, readBack);
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::Access64(uint64_t value, uint64_t* readBack, uint32_t* upperWord) {
  if (readBack == NULL || upperWord == NULL) {
    return kIOReturnBadArgument;
  }
  ivars->pciDevice->MemoryWrite64(ivars->userMemoryIndex, kUserRegScratch0, value,
                                  kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryRead64(ivars->userMemoryIndex, kUserRegScratch0, readBack);
  ivars->pciDevice->MemoryRead32(ivars->userMemoryIndex, kUserRegScratch1, upperWord,
                                 kIOPCIAccessLatencyTolerantHint);
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::StartTimer(uint32_t firings, uint64_t periodMicroseconds) {
  if (firings == 0 || periodMicroseconds == 0) {
    return kIOReturnBadArgument;
  }
  const uint64_t period = MicrosecondsToTicks(periodMicroseconds);

  IOLockLock(ivars->lock);
  ivars->timerFirings = 0;
  ivars->timerTarget = firings;
  ivars->timerPeriodTicks = period;
  IOLockUnlock(ivars->lock);

  // The timer is scheduled from the queue it fires on.
  IOTimerDispatchSource* timer = ivars->timerSource;
  ivars->defaultQueue->DispatchAsync(^{
    timer->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time() + period, 0);
  });
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::RaiseInterrupt() {
  ivars->pciDevice->MemoryWrite32(ivars->userMemoryIndex, kUserRegIrqRaise, 1);
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::NarrowWrites(uint64_t offset, uint64_t value, uint64_t* readBack,
                                           uint8_t* byte1, uint16_t* lastHalf) {
  if (!ivars->hasBypass) {
    return kIOReturnUnsupported;
  }
  if ((offset & 7) != 0 || offset + sizeof(uint64_t) > ivars->bypassBarSize || readBack == NULL ||
      byte1 == NULL || lastHalf == NULL) {
    return kIOReturnBadArgument;
  }
  const uint8_t index = ivars->bypassMemoryIndex;
  ivars->pciDevice->MemoryWrite8(index, offset, static_cast<uint8_t>(value));
  ivars->pciDevice->MemoryWrite8(index, offset + 1, static_cast<uint8_t>(value >> 8),
                                 kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryWrite16(index, offset + 2, static_cast<uint16_t>(value >> 16));
  ivars->pciDevice->MemoryWrite16(index, offset + 4, static_cast<uint16_t>(value >> 32),
                                  kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryWrite16(index, offset + 6, static_cast<uint16_t>(value >> 48));
  ivars->pciDevice->MemoryRead64(index, offset, readBack, kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryRead8(index, offset + 1, byte1, kIOPCIAccessLatencyTolerantHint);
  ivars->pciDevice->MemoryRead16(index, offset + 6, lastHalf);
  return kIOReturnSuccess;
}

kern_return_t MacStyleDriver::Transfer(bool cardToHost, uint64_t cardAddress, void* bytes,
                                       uint32_t length) {
  IOLockLock(ivars->transferLock);
  kern_return_t result = MacStyleRunTransfer(ivars->pciDevice, ivars->dmaMemoryIndex, cardToHost,
                                             cardAddress, bytes, length);
  IOLockUnlock(ivars->transferLock);
  if (result != kIOReturnSuccess) {
    Log("%{public}s transfer of %u bytes at 0x%llx failed: 0x%x", cardToHost ? "C2H" : "H2C",
        length, static_cast<unsigned long long>(cardAddress), result);
  }
  return result;
}
