// Selectors of the conformance dext for the IOPCIDevice and IODMACommand declarations that
// follow Apple's headers (access widths with options, Reset, the kernel methods, PerformOperation
// options, GetPreparation, SetProperties): 80..89, handled by MemPciMethods.cpp.
#pragma once

#include <stdint.h>

namespace conformance {

enum MemPciSelector : uint32_t {
  // in: memory index, offset, value, width (8/16/32/64), options. Writes `value` with the
  // 4-argument MemoryWrite<width>, then reads back. out: kWidth* below.
  kSelMemoryWidth = 80,
  // in: type, options → out[0] = IOPCIDevice::Reset(type, options).
  kSelReset = 81,
  // out: kKernel* below (each an IOReturn unless noted).
  kSelKernelMethods = 82,
  // in: options, dmaOffset, length, dataOffset, with data (0/1). On a fresh 4 KiB buffer A
  // (byte i = i & 0xff) prepared for DMA and a 4 KiB buffer B (all 0x5A):
  // PerformOperation(options, dmaOffset, length, dataOffset, with data ? B : NULL).
  // out: kPerform* below.
  kSelPerformOperation = 83,
  // out: kSetProperties* below.
  kSelSetProperties = 84,
  // in: memory index (the probe's BAR0). out: kSession* below. Handled by the user client,
  // which knows both the driver (the device's opener) and itself (not the opener).
  kSelSessionRules = 85,
  // Close(driver), then FindPCICapability(MSI, 0, &offset), then Open(driver) again.
  // out: kClosed* below.
  kSelFindWhileClosed = 86,
};

enum SessionOutput : uint32_t {
  kSessionCopyOpener = 0,  // _CopyDeviceMemoryWithIndex(index, &m, driver)
  kSessionCopyOther,       // _CopyDeviceMemoryWithIndex(index, &m, the user client)
  kSessionCopyNull,        // _CopyDeviceMemoryWithIndex(index, &m, NULL)
  kSessionCopyPastRom,     // _CopyDeviceMemoryWithIndex(7, &m, driver)
  kSessionOpenOther,       // Open(the user client) while the driver has it open
  kSessionOpenOwnerAgain,  // Open(driver) while the driver has it open
  kSessionCount
};

enum ClosedOutput : uint32_t {
  kClosedFindStatus = 0,  // FindPCICapability(kIOPCICapabilityIDMSI) with the device closed
  kClosedFindOffset,      // the offset it found
  kClosedReopenStatus,    // Open(driver) afterwards
  kClosedCount
};

enum WidthOutput : uint32_t {
  kWidthRead4 = 0,  // MemoryRead<width> with the same options
  kWidthRead3,      // MemoryRead<width>, 3 arguments
  kWidthRead64,     // MemoryRead64 of the aligned 8 bytes around the offset
  kWidthCount
};

enum KernelOutput : uint32_t {
  kKernelBdfNullOut = 0,     // GetBusDeviceFunction(NULL, NULL, &function)
  kKernelBarInfoDefaults,    // GetBARInfo(0, &memoryIndex) (default barSize, barType)
  kKernelBarInfoRom,         // GetBARInfo(kPCIMemoryRangeExpansionROM, ...)
  kKernelBarInfoPastRom,     // GetBARInfo(7, ...)
  kKernelFindMsiNullOut,     // FindPCICapability(MSI, 0, NULL)
  kKernelFindExtended,       // FindPCICapability(kIOPCIExpressCapabilityIDErrorReporting, 0, &o)
  kKernelHasPm,              // HasPCIPowerManagement(kPCIPMCD3Support)
  kKernelEnablePm,           // EnablePCIPowerManagement(kPCIPMCSPowerStateD3)
  kKernelSaveState,          // SaveDeviceState()
  kKernelRestoreState,       // RestoreDeviceState()
  kKernelSetLinkSpeedBad,    // SetLinkSpeed((IOPCILinkSpeed)0)
  kKernelSetLinkSpeed,       // SetLinkSpeed(kPCILinkSpeed_8_GTs)
  kKernelGetLinkSpeed,       // GetLinkSpeed(&speed)
  kKernelSetAspm,            // SetASPMState(kIOPCILinkControlASPMBitsL1)
  kKernelConfigureDefaults,  // ConfigureInterrupts(kIOInterruptTypePCIMessaged)
  kKernelFunctionNumber,     // the function number GetBusDeviceFunction gave
  kKernelCount
};

enum SetPropertiesOutput : uint32_t {
  kSetPropertiesOther = 0,     // SetProperties({"ConformanceKey": true})
  kSetPropertiesNotBool,       // SetProperties({kIOPMPCISleepResetKey: OSNumber})
  kSetPropertiesFamily,        // SetProperties({kIOPMPCIConfigSpaceVolatileKey: true, other})
  kSetPropertiesFamilyKeySet,  // 1 if SearchProperty then finds kIOPMPCIConfigSpaceVolatileKey
  kSetPropertiesOtherKeySet,   // 1 if SearchProperty finds "ConformanceKey"
  kSetPropertiesCount
};

enum PerformOutput : uint32_t {
  kPerformStatus = 0,
  kPerformA,                 // bytes 0..7 of A after the call (little-endian)
  kPerformB,                 // bytes 0..7 of B after the call
  kPerformRetainDelta,       // retain count of A after GetPreparation minus before
  kPerformPreparationMatch,  // GetPreparation returned A
  kPerformCount
};

}  // namespace conformance
