// PCIDriverKit/IOPCIFamilyDefinitions.h as the emulation provides it: the DriverKit branch
// (TARGET_OS_DRIVERKIT) of IOPCIFamily's IOKit/pci/IOPCIFamilyDefinitions.h — registry keys,
// configuration-space offsets and bits, capability IDs, power-management bits, AER offsets,
// link speeds, reset types and memory-access options. Values are Apple's (IOPCIFamily-726.0.5);
// configuration-space layouts are the PCI specification's.
//
// Apple's header also includes <TargetConditionals.h>, <os/availability.h> and
// <sys/_types/_uuid_t.h>; those are Darwin SDK headers the Linux build does not have, and this
// header declares nothing with them.
#pragma once

#include <DriverKit/IOLib.h>
#include <DriverKit/IOTypes.h>
#include <stddef.h>
#include <stdint.h>

// ---- Registry keys -----------------------------------------------------------------------
// Matching (personality) keys.
#define kIOPCIMatchKey "IOPCIMatch"
#define kIOPCIPrimaryMatchKey "IOPCIPrimaryMatch"
#define kIOPCISecondaryMatchKey "IOPCISecondaryMatch"
#define kIOPCIClassMatchKey "IOPCIClassMatch"

// Capability registers the family publishes as properties of the nub.
#define kIOPCIExpressCapabilitiesKey "IOPCIExpressCapabilities"
#define kIOPCIExpressLinkStatusKey "IOPCIExpressLinkStatus"
#define kIOPCIExpressLinkCapabilitiesKey "IOPCIExpressLinkCapabilities"
#define kIOPCIExpressDeviceCapabilitiesKey "IOPCIExpressDeviceCapabilities"
#define kIOPCIExpressSlotStatusKey "IOPCIExpressSlotStatus"
#define kIOPCIExpressSlotCapabilitiesKey "IOPCIExpressSlotCapabilities"
#define kIOPCIExpressRootCapabilitiesKey "IOPCIExpressRootCapabilities"
#define kIOPCIExpressDeviceCapabilities2Key "IOPCIExpressDeviceCapabilities2"
#define kIOPCIExpressLinkCapabilities2Key "IOPCIExpressLinkCapabilities2"
#define kIOPCIExpressSlotCapabilities2Key "IOPCIExpressSlotCapabilities2"
#define kIOPCIPowerManagementCapabilitiesKey "IOPCIPowerManagementCapabilities"
#define kIOPCIMSIMessageControlKey "IOPCIMSIMessageControl"
#define kIOPCIMSIXMessageControlKey "IOPCIMSIXMessageControl"
#define kIOPCIACSCapabilitiesKey "IOPCIACSCapabilities"
#define kIOPCIL1PMCapabilitiesKey "IOPCIL1PMCapabilities"
#define kIOPCIAERCapabilitiesKey "IOPCIAERCapabilities"
#define kIOPCIFPBCapabilitiesKey "IOPCIFPBCapabilities"
#define kIOPCIPTMCapabilitiesKey "IOPCIPTMCapabilities"

// Device memory.
#define kIOPCIDeviceMemoryArrayKey "IODeviceMemory"
#define kIOPCIDeviceMemoryMapBase "IOPCIDeviceMemoryMapBase"
#define kIOPCIDeviceMemoryMapSize "IOPCIDeviceMemoryMapSize"
#define kIOPCIDeviceMapperPageSize "IOPCIDeviceMapperPageSize"

// Thunderbolt and pause.
#define kIOPCITunnelCompatibleKey "IOPCITunnelCompatible"
#define kIOPCITunnelledKey "IOPCITunnelled"
#define kIOPCITunnelL1EnableKey "IOPCITunnelL1Enable"
#define kIOPCITunnelRootDeviceModelIDKey "IOPCITunnelRootDeviceModelID"
#define kIOPCITunnelRootDeviceVendorIDKey "IOPCITunnelRootDeviceVendorID"
#define kIOPCIPauseCompatibleKey "IOPCIPauseCompatible"

// Properties a driver may set on the nub (IOPCIDevice::SetProperties), and others it reads.
#define kIOPMPCIConfigSpaceVolatileKey "IOPMPCIConfigSpaceVolatile"
#define kIOPMPCISleepLinkDisableKey "IOPMPCISleepLinkDisable"
#define kIOPMPCISleepResetKey "IOPMPCISleepReset"
#define kIOPCIRetrainLinkMaskKey "IOPCIRetrainLinkMask"
#define kIOPCIRetrainLinkKey "IOPCIRetrainLink"
#define kIOPCIEndpointPrsnt "IOPCIEndpointPrsnt"
#define kIOPCIWaitForLinkUpKey "wait-for-link-up"
#define kIOPCIDeviceCrashResetType "IOPCIDeviceCrashResetType"
#define kIOPCIKernelMemoryAccess "IOPCIKernelMemoryAccess"

// ---- Interrupt types (IOPCIDevice::ConfigureInterrupts, GetInterruptType) -----------------
enum {
  kIOInterruptTypePCIMessaged = 0x00010000,
  kIOInterruptTypePCIMessagedX = 0x00020000,
};

// ---- Configuration header (type 0) --------------------------------------------------------
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
  kIOPCIConfigurationOffsetCardBusCISPtr = 0x28,
  kIOPCIConfigurationOffsetSubSystemVendorID = 0x2C,
  kIOPCIConfigurationOffsetSubSystemID = 0x2E,
  kIOPCIConfigurationOffsetExpansionROMBase = 0x30,
  kIOPCIConfigurationOffsetCapabilitiesPtr = 0x34,
  kIOPCIConfigurationOffsetInterruptLine = 0x3C,
  kIOPCIConfigurationOffsetInterruptPin = 0x3D,
  kIOPCIConfigurationOffsetMinimumGrant = 0x3E,
  kIOPCIConfigurationOffsetMaximumLatency = 0x3F,
};

// ---- Capability list: header offsets, capability IDs, extended capability IDs -------------
// An extended capability (configuration space from 0x100) is searched for with the negated
// PCI-SIG ID, as unsigned int.
enum {
  kIOPCICapabilityIDOffset = 0x00,
  kIOPCINextCapabilityOffset = 0x01,

  kIOPCICapabilityIDPowerManagement = 0x01,
  kIOPCICapabilityIDAGP = 0x02,
  kIOPCICapabilityIDVitalProductData = 0x03,
  kIOPCICapabilityIDSlotID = 0x04,
  kIOPCICapabilityIDMSI = 0x05,
  kIOPCICapabilityIDCPCIHotswap = 0x06,
  kIOPCICapabilityIDPCIX = 0x07,
  kIOPCICapabilityIDLDT = 0x08,
  kIOPCICapabilityIDVendorSpecific = 0x09,
  kIOPCICapabilityIDDebugPort = 0x0A,
  kIOPCICapabilityIDCPCIResourceControl = 0x0B,
  kIOPCICapabilityIDHotplug = 0x0C,
  kIOPCICapabilityIDAGP8 = 0x0E,
  kIOPCICapabilityIDSecure = 0x0F,
  kIOPCICapabilityIDPCIExpress = 0x10,
  kIOPCICapabilityIDMSIX = 0x11,
  kIOPCICapabilityIDSATAConfiguration = 0x12,
  kIOPCICapabilityIDAF = 0x13,
  kIOPCICapabilityIDEnhancedAllocation = 0x14,
  kIOPCICapabilityIDFPB = 0x15,

  kIOPCIExpressCapabilityIDErrorReporting = -0x01u,
  kIOPCIExpressCapabilityIDVirtualChannel = -0x02u,
  kIOPCIExpressCapabilityIDDeviceSerialNumber = -0x03u,
  kIOPCIExpressCapabilityIDPowerBudget = -0x04u,
  kIOPCIExpressCapabilityIDRCLinkDeclaration = -0x05u,
  kIOPCIExpressCapabilityIDRCInternalLinkCtrl = -0x06u,
  kIOPCIExpressCapabilityIDRCECEndpointAssociation = -0x07u,
  kIOPCIExpressCapabilityIDMFVC = -0x08u,
  kIOPCIExpressCapabilityIDVC_MFVCPresent = -0x09u,
  kIOPCIExpressCapabilityIDRootComplexRegBlock = -0x0Au,
  kIOPCIExpressCapabilityIDVSEC = -0x0Bu,
  kIOPCIExpressCapabilityIDCAC = -0x0Cu,
  kIOPCIExpressCapabilityIDAccessControlServices = -0x0Du,
  kIOPCIExpressCapabilityIDAlternativeRoutingID = -0x0Eu,
  kIOPCIExpressCapabilityIDATS = -0x0Fu,
  kIOPCIExpressCapabilityIDSRIOV = -0x10u,
  kIOPCIExpressCapabilityIDMRIOV = -0x11u,
  kIOPCIExpressCapabilityIDMulticast = -0x12u,
  kIOPCIExpressCapabilityIDPRI = -0x13u,
  kIOPCIExpressCapabilityIDAMD = -0x14u,
  kIOPCIExpressCapabilityIDResizableBAR = -0x15u,
  kIOPCIExpressCapabilityIDDPA = -0x16u,
  kIOPCIExpressCapabilityIDTPHRequester = -0x17u,
  kIOPCIExpressCapabilityIDLatencyTolerenceReporting = -0x18u,
  kIOPCIExpressCapabilityIDSPCIe = -0x19u,
  kIOPCIExpressCapabilityIDPMUX = -0x1Au,
  kIOPCIExpressCapabilityIDPASID = -0x1Bu,
  kIOPCIExpressCapabilityIDLNR = -0x1Cu,
  kIOPCIExpressCapabilityIDDPC = -0x1Du,
  kIOPCIExpressCapabilityIDL1PMSubstates = -0x1Eu,
  kIOPCIExpressCapabilityIDPrecisionTimeManagement = -0x1Fu,
  kIOPCIExpressCapabilityIDMPCIe = -0x20u,
  kIOPCIExpressCapabilityIDFRSQueueing = -0x21u,
  kIOPCIExpressCapabilityIDReadinessTimeReporting = -0x22u,
  kIOPCIExpressCapabilityIDDVSEC = -0x23u,
  kIOPCIExpressCapabilityIDVFResizableBAR = -0x24u,
  kIOPCIExpressCapabilityIDDataLinkFeature = -0x25u,
  kIOPCIExpressCapabilityIDPL16GTs = -0x26u,
  kIOPCIExpressCapabilityIDLaneMarginingRx = -0x27u,
  kIOPCIExpressCapabilityIDHierarchyID = -0x28u,
  kIOPCIExpressCapabilityIDNPEM = -0x29u,
  kIOPCIExpressCapabilityIDPL32GTs = -0x2Au,
  kIOPCIExpressCapabilityIDAlternateProtocol = -0x2Bu,
  kIOPCIExpressCapabilityIDSFI = -0x2Cu,
};

// ---- Command and Status registers ---------------------------------------------------------
// kIOPCICommandBusMaster is an older name of kIOPCICommandBusLead (Apple marks it deprecated on
// macOS and iOS, not on DriverKit).
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
  kIOPCIStatusInterrupt = 0x0008,
  kIOPCIStatusCapabilities = 0x0010,
  kIOPCIStatusPCI66 = 0x0020,
  kIOPCIStatusUDF = 0x0040,
  kIOPCIStatusFastBack2Back = 0x0080,
  kIOPCIStatusDevSel0 = 0x0000,
  kIOPCIStatusDevSel1 = 0x0200,
  kIOPCIStatusDevSel2 = 0x0400,
  kIOPCIStatusDevSel3 = 0x0600,
  kIOPCIStatusTargetAbortCapable = 0x0800,
  kIOPCIStatusTargetAbortActive = 0x1000,
  kIOPCIStatusLeadAbortActive = 0x2000,
  kIOPCIStatusMasterAbortActive = kIOPCIStatusLeadAbortActive,
  kIOPCIStatusSERRActive = 0x4000,
  kIOPCIStatusParityErrActive = 0x8000,
};

// ---- Type 1 (bridge) header offsets -------------------------------------------------------
enum {
  kPCI2PCIOffsetPrimaryBus = 0x18,
  kPCI2PCIOffsetSecondaryBus = 0x19,
  kPCI2PCIOffsetSubordinateBus = 0x1A,
  kPCI2PCIOffsetSecondaryLT = 0x1B,
  kPCI2PCIOffsetIORange = 0x1C,
  kPCI2PCIOffsetMemoryRange = 0x20,
  kPCI2PCIOffsetPrefetchMemoryRange = 0x24,
  kPCI2PCIOffsetPrefetchUpperBase = 0x28,
  kPCI2PCIOffsetPrefetchUpperLimit = 0x2C,
  kPCI2PCIOffsetUpperIORange = 0x30,
  kPCI2PCIOffsetBridgeControl = 0x3E,
};

// ---- PCI Bus Power Management ------------------------------------------------------------
// Power Management Capabilities register bits (HasPCIPowerManagement's `state`).
enum {
  kPCIPMCPMESupportFromD3Cold = 0x8000,
  kPCIPMCPMESupportFromD3Hot = 0x4000,
  kPCIPMCPMESupportFromD2 = 0x2000,
  kPCIPMCPMESupportFromD1 = 0x1000,
  kPCIPMCPMESupportFromD0 = 0x0800,
  kPCIPMCD2Support = 0x0400,
  kPCIPMCD1Support = 0x0200,
  kPCIPMCD3Support = 0x0001,
};

// Power Management Control/Status register bits (EnablePCIPowerManagement's `state`).
enum {
  kPCIPMCSPMEStatus = 0x8000,
  kPCIPMCSPMEEnable = 0x0100,
  kPCIPMCSPowerStateMask = 0x0003,
  kPCIPMCSPowerStateD3 = 0x0003,
  kPCIPMCSPowerStateD2 = 0x0002,
  kPCIPMCSPowerStateD1 = 0x0001,
  kPCIPMCSPowerStateD0 = 0x0000,
  kPCIPMCSDefaultEnableBits = (~(IOOptionBits)0),
  kPCIPMCSPMEDisableInS3 = 0x00010000,
  kPCIPMCSPMEWakeReason = 0x00020000,
};

// ---- PCI Express slot registers -----------------------------------------------------------
enum {
  kIOPCISlotCapabilitiesBitAttentionButtonPresent = (1 << 0),
  kIOPCISlotCapabilitiesBitPowerControllerPresent = (1 << 1),
  kIOPCISlotCapabilitiesBitMRLSensorPresent = (1 << 2),
  kIOPCISlotCapabilitiesBitAttentionIndicatorPresent = (1 << 3),
  kIOPCISlotCapabilitiesBitPowerIndicatorPresent = (1 << 4),
  kIOPCISlotCapabilitiesBitHotPlugSurprise = (1 << 5),
  kIOPCISlotCapabilitiesBitHotPlugCapable = (1 << 6),
  kIOPCISlotCapabilitiesBitElectromechanicalInterlockPresent = (1 << 17),
  kIOPCISlotCapabilitiesBitNoCommandCompletedSupport = (1 << 18),
};

enum {
  kIOPCISlotStatusAttentionButtonPressed = (1 << 0),
  kIOPCISlotStatusPowerFaultDetected = (1 << 1),
  kIOPCISlotStatusMRLSensorChanged = (1 << 2),
  kIOPCISlotStatusPresenceDetectChanged = (1 << 3),
  kIOPCISlotStatusCommandCompleted = (1 << 4),
  kIOPCISlotStatusMRLSensorState = (1 << 5),
  kIOPCISlotStatusPresenceDetectState = (1 << 6),
  kIOPCISlotStatusElectromechanicalInterlockState = (1 << 7),
  kIOPCISlotStatusDataLinkLayerStateChanged = (1 << 8),
};

// ---- Advanced Error Reporting -------------------------------------------------------------
// Register offsets inside the AER extended capability.
enum {
  kIOPCIAERCapCapHeaderOffset = 0x00,
  kIOPCIAERCapUncErrStatusOffset = 0x04,
  kIOPCIAERCapUncErrMaskOffset = 0x08,
  kIOPCIAERCapUncErrSeverityOffset = 0x0C,
  kIOPCIAERCapCorErrStatusOffset = 0x10,
  kIOPCIAERCapCorErrMaskOffset = 0x14,
  kIOPCIAERCapCapControlOffset = 0x18,
  kIOPCIAERCapHdrLogDW0Offset = 0x1C,
  kIOPCIAERCapHdrLogDW1Offset = 0x20,
  kIOPCIAERCapHdrLogDW2Offset = 0x24,
  kIOPCIAERCapHdrLogDW3Offset = 0x28,
  kIOPCIAERCapRootErrCmdOffset = 0x2C,
  kIOPCIAERCapRootErrStatusOffset = 0x30,
  kIOPCIAERCapErrSourceIDOffset = 0x34,
  kIOPCIAERCapTLPPrefixLogDW0Offset = 0x38,
  kIOPCIAERCapTLPPrefixLogDW1Offset = 0x3C,
  kIOPCIAERCapTLPPrefixLogDW2Offset = 0x40,
  kIOPCIAERCapTLPPrefixLogDW3Offset = 0x44,
};

// Bit numbers in the Uncorrectable Error Status/Mask/Severity registers.
enum {
  kIOPCIUncorrectableErrorBitDataLinkProtocol = 4,
  kIOPCIUncorrectableErrorBitSurpriseDown = 5,
  kIOPCIUncorrectableErrorBitPoisonedTLP = 12,
  kIOPCIUncorrectableErrorBitFlowControlProtocol = 13,
  kIOPCIUncorrectableErrorBitCompletionTimeout = 14,
  kIOPCIUncorrectableErrorBitCompleterAbort = 15,
  kIOPCIUncorrectableErrorBitUnexpectedCompletion = 16,
  kIOPCIUncorrectableErrorBitReceiverOverflow = 17,
  kIOPCIUncorrectableErrorBitMalformedTLP = 18,
  kIOPCIUncorrectableErrorBitECRC = 19,
  kIOPCIUncorrectableErrorBitUnsupportedRequest = 20,
  kIOPCIUncorrectableErrorBitACSViolation = 21,
  kIOPCIUncorrectableErrorBitInternal = 22,
  kIOPCIUncorrectableErrorBitMCBlockedTLP = 23,
  kIOPCIUncorrectableErrorBitAtomicOpEgressBlocked = 24,
  kIOPCIUncorrectableErrorBitTLPPrefixBlocked = 25,
};

// Bit numbers in the Correctable Error Status/Mask registers.
enum {
  kIOPCICorrectableErrorBitReceiver = 0,
  kIOPCICorrectableErrorBitBadTLP = 6,
  kIOPCICorrectableErrorBitBadDLLP = 7,
  kIOPCICorrectableErrorBitReplayNumRollover = 8,
  kIOPCICorrectableErrorBitReplayTimerTimeout = 12,
  kIOPCICorrectableErrorBitAdvisoryNonFatal = 13,
  kIOPCICorrectableErrorBitCorrectedInternal = 14,
  kIOPCICorrectableErrorBitHeaderLogOverflow = 15,
};

// ---- Link speed, reset, ASPM, memory-access options ---------------------------------------
// The family's link-speed codes (PCIe generations 1 to 5); IOPCIDevice.h has IOPCILinkSpeed
// with the same values for SetLinkSpeed/GetLinkSpeed.
typedef enum tIOPCILinkSpeed {
  kIOPCILinkSpeed_2_5_GTs = 1,
  kIOPCILinkSpeed_5_GTs,
  kIOPCILinkSpeed_8_GTs,
  kIOPCILinkSpeed_16_GTs,
  kIOPCILinkSpeed_32_GTs,
} tIOPCILinkSpeed;

// IOPCIDevice::Reset `type`: exactly one of these.
typedef enum tIOPCIDeviceResetTypes {
  kIOPCIDeviceResetTypeHotReset = 0x00000001,
  kIOPCIDeviceResetTypeWarmReset = 0x00000002,
  kIOPCIDeviceResetTypeWarmResetDisable = 0x00000004,
  kIOPCIDeviceResetTypeWarmResetEnable = 0x00000008,
  kIOPCIDeviceResetTypeFunctionReset = 0x00000010,
} tIOPCIDeviceResetTypes;

// IOPCIDevice::Reset `options`.
typedef enum tIOPCIDeviceResetOptions {
  kIOPCIDeviceResetOptionNone = 0x00000000,
  kIOPCIDeviceResetOptionTerminate = 0x00000001,
} tIOPCIDeviceResetOptions;

// IOPCIDevice::SetASPMState `aspmLinkControl`.
enum tIOPCILinkControlASPMBits {
  kIOPCILinkControlASPMBitsDisabled = 0,
  kIOPCILinkControlASPMBitsL0s = (1 << 0),
  kIOPCILinkControlASPMBitsL1 = (1 << 1),
  kIOPCILinkControlASPMBitsL0sL1 = kIOPCILinkControlASPMBitsL0s | kIOPCILinkControlASPMBitsL1,
};

// `options` of the MemoryRead/MemoryWrite overloads that take them: the access is not
// latency-critical, so the system may route it through the kernel instead of the mapping.
typedef enum tIOPCIAccessOptions {
  kIOPCIAccessLatencyTolerantHint = (1 << 0),
} tIOPCIAccessOptions;
