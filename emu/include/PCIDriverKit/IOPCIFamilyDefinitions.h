// Constants of PCIDriverKit (IOPCIFamily IOKit/pci/IOPCIFamilyDefinitions.h, PCIDriverKit/
// IOPCIDevice.iig). Configuration-space offsets and bits are the PCI specification's.
#pragma once

#include <stdint.h>

enum {
  kIOPCIConfigurationOffsetVendorID = 0x00,
  kIOPCIConfigurationOffsetDeviceID = 0x02,
  kIOPCIConfigurationOffsetCommand = 0x04,
  kIOPCIConfigurationOffsetStatus = 0x06,
  kIOPCIConfigurationOffsetRevisionID = 0x08,
  kIOPCIConfigurationOffsetClassCode = 0x09,
  kIOPCIConfigurationOffsetCacheLineSize = 0x0C,
  kIOPCIConfigurationOffsetLatencyTimer = 0x0D,
  kIOPCIConfigurationOffsetHeaderType = 0x0E,
  kIOPCIConfigurationOffsetBIST = 0x0F,
  kIOPCIConfigurationOffsetBaseAddress0 = 0x10,
  kIOPCIConfigurationOffsetBaseAddress1 = 0x14,
  kIOPCIConfigurationOffsetBaseAddress2 = 0x18,
  kIOPCIConfigurationOffsetBaseAddress3 = 0x1C,
  kIOPCIConfigurationOffsetBaseAddress4 = 0x20,
  kIOPCIConfigurationOffsetBaseAddress5 = 0x24,
  kIOPCIConfigurationOffsetSubSystemVendorID = 0x2C,
  kIOPCIConfigurationOffsetSubSystemID = 0x2E,
  kIOPCIConfigurationOffsetExpansionROMBase = 0x30,
  kIOPCIConfigurationOffsetCapabilitiesPointer = 0x34,
  kIOPCIConfigurationOffsetInterruptLine = 0x3C,
  kIOPCIConfigurationOffsetInterruptPin = 0x3D,
};

enum {
  kIOPCICommandIOSpace = 0x0001,
  kIOPCICommandMemorySpace = 0x0002,
  kIOPCICommandBusLead = 0x0004,
  kIOPCICommandBusMaster = kIOPCICommandBusLead,
  kIOPCICommandSpecialCycles = 0x0008,
  kIOPCICommandMemWrInvalidate = 0x0010,
  kIOPCICommandPaletteSnoop = 0x0020,
  kIOPCICommandParityError = 0x0040,
  kIOPCICommandAddressStepping = 0x0080,
  kIOPCICommandSERR = 0x0100,
  kIOPCICommandFastBack2Back = 0x0200,
  kIOPCICommandInterruptDisable = 0x0400,
};

enum {
  kIOPCICapabilityIDPowerManagement = 0x01,
  kIOPCICapabilityIDMSI = 0x05,
  kIOPCICapabilityIDVendorSpecific = 0x09,
  kIOPCICapabilityIDPCIExpress = 0x10,
  kIOPCICapabilityIDMSIX = 0x11,
};

// BAR indices for GetBARInfo, and the types it reports.
enum {
  kPCIMemoryRangeBAR0 = 0,
  kPCIMemoryRangeBAR1 = 1,
  kPCIMemoryRangeBAR2 = 2,
  kPCIMemoryRangeBAR3 = 3,
  kPCIMemoryRangeBAR4 = 4,
  kPCIMemoryRangeBAR5 = 5,
  kPCIMemoryRangeExpansionROM = 6,
};
enum {
  kPCIBARTypeM32 = 0x0,
  kPCIBARTypeIO = 0x1,
  kPCIBARTypeM64 = 0x4,
  kPCIBARTypeM32PF = 0x8,
  kPCIBARTypeM64PF = 0xC,
};

// MemoryRead/Write option: route the access through the kernel (IPC) instead of the mapping.
#define kIOPCIAccessLatencyTolerantHint 0x00000001u
