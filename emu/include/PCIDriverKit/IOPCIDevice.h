// IOPCIDevice (IOPCIFamily PCIDriverKit/IOPCIDevice.iig): the provider of a PCI dext.
//
// As on macOS: Open() does not enable memory space or bus mastering (the dext sets them in the
// Command register) and Close() clears both; memory accesses take a memory index (translate a
// BAR with GetBARInfo), are direct loads/stores with no offset check, and read all ones when the
// device is not open, the index is unknown or the function does not answer. Scalar out-parameters
// of the kernel methods (GetBARInfo, FindPCICapability, GetBusDeviceFunction, GetLinkSpeed) may be
// NULL, as iig's generated calls allow. What the emulated bus cannot do (resets, link training,
// ASPM, saving configuration space) returns kIOReturnUnsupported; see docs/emulation.md.
//
// Like Apple's header, this one does not bring in IOPCIFamilyDefinitions.h (the Command register
// bits, kIOInterruptTypePCIMessaged, ...): include <PCIDriverKit/PCIDriverKit.h> for those.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOTypes.h>

namespace fpgadext::emu {
class PciSlot;
}

// SaveDeviceState options.
enum IOPCISaveDeviceStateOptions {
  kPCIConfigShadowPermanent = 0x80000000,
};

// GetBARInfo `barIndex`.
enum IOPCIMemoryRange {
  kPCIMemoryRangeBAR0 = 0,
  kPCIMemoryRangeBAR1 = 1,
  kPCIMemoryRangeBAR2 = 2,
  kPCIMemoryRangeBAR3 = 3,
  kPCIMemoryRangeBAR4 = 4,
  kPCIMemoryRangeBAR5 = 5,
  kPCIMemoryRangeExpansionROM = 6,
};

// GetBARInfo `barType`.
enum IOPCIBARType {
  kPCIBARTypeM32 = 0x00,
  kPCIBARTypeIO = 0x01,
  kPCIBARTypeM64 = 0x04,
  kPCIBARTypeM32PF = 0x08,
  kPCIBARTypeM64PF = 0x0C,
};

// SetLinkSpeed/GetLinkSpeed: PCIe generations 1 to 5.
enum IOPCILinkSpeed {
  kPCILinkSpeed_2_5_GTs = 1,
  kPCILinkSpeed_5_GTs,
  kPCILinkSpeed_8_GTs,
  kPCILinkSpeed_16_GTs,
  kPCILinkSpeed_32_GTs,
};

class IOPCIDevice : public IOService {
  OSDeclareEmulatedClass(IOPCIDevice)

 public:
  bool init() override;
  void free() override;

  // Session. Open is exclusive: any second Open, even by the owner, gets kIOReturnNotOpen.
  kern_return_t Open(IOService* forClient, IOOptionBits options = 0);
  void Close(IOService* forClient, IOOptionBits options = 0);

  // Configuration space: all ones on a read when the device is not open or the access is out
  // of range or misaligned; such writes are dropped.
  void ConfigurationRead32(uint64_t offset, uint32_t* readData);
  void ConfigurationRead16(uint64_t offset, uint16_t* readData);
  void ConfigurationRead8(uint64_t offset, uint8_t* readData);
  void ConfigurationWrite32(uint64_t offset, uint32_t data);
  void ConfigurationWrite16(uint64_t offset, uint16_t data);
  void ConfigurationWrite8(uint64_t offset, uint8_t data);

  // Device memory by memory index. `options` takes tIOPCIAccessOptions; any value behaves as
  // the 3-argument form (the kernel route and the mapping reach the same device here).
  void MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t* readData);
  void MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t* readData, IOOptionBits options);
  void MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t* readData);
  void MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t* readData, IOOptionBits options);
  void MemoryRead16(uint8_t memoryIndex, uint64_t offset, uint16_t* readData);
  void MemoryRead16(uint8_t memoryIndex, uint64_t offset, uint16_t* readData, IOOptionBits options);
  void MemoryRead8(uint8_t memoryIndex, uint64_t offset, uint8_t* readData);
  void MemoryRead8(uint8_t memoryIndex, uint64_t offset, uint8_t* readData, IOOptionBits options);
  void MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data);
  void MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data, IOOptionBits options);
  void MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data);
  void MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data, IOOptionBits options);
  void MemoryWrite16(uint8_t memoryIndex, uint64_t offset, uint16_t data);
  void MemoryWrite16(uint8_t memoryIndex, uint64_t offset, uint16_t data, IOOptionBits options);
  void MemoryWrite8(uint8_t memoryIndex, uint64_t offset, uint8_t data);
  void MemoryWrite8(uint8_t memoryIndex, uint64_t offset, uint8_t data, IOOptionBits options);

  // Kernel methods. The trailing `supermethod` is iig's; a KERNEL class has no dext-side
  // superclass implementation, so it is ignored.
  kern_return_t FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                  uint64_t* foundCapabilityOffset,
                                  OSDispatchMethod supermethod = nullptr);
  kern_return_t GetBusDeviceFunction(uint8_t* returnBusNumber, uint8_t* returnDeviceNumber,
                                     uint8_t* returnFunctionNumber,
                                     OSDispatchMethod supermethod = nullptr);
  kern_return_t HasPCIPowerManagement(uint64_t state, OSDispatchMethod supermethod = nullptr);
  kern_return_t EnablePCIPowerManagement(uint64_t state, OSDispatchMethod supermethod = nullptr);
  kern_return_t SaveDeviceState(IOOptionBits options = 0, OSDispatchMethod supermethod = nullptr);
  kern_return_t RestoreDeviceState(IOOptionBits options = 0,
                                   OSDispatchMethod supermethod = nullptr);
  kern_return_t GetBARInfo(uint8_t barIndex, uint8_t* memoryIndex, uint64_t* barSize = 0,
                           uint8_t* barType = 0, OSDispatchMethod supermethod = nullptr);
  kern_return_t SetLinkSpeed(IOPCILinkSpeed linkSpeed, bool retrain = false,
                             OSDispatchMethod supermethod = nullptr);
  kern_return_t GetLinkSpeed(IOPCILinkSpeed* linkSpeed, OSDispatchMethod supermethod = nullptr);
  kern_return_t ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired = 1,
                                    uint32_t numRequested = 1, IOOptionBits options = 0,
                                    OSDispatchMethod supermethod = nullptr);
  kern_return_t Reset(IOOptionBits type, IOOptionBits options = 0,
                      OSDispatchMethod supermethod = nullptr);
  kern_return_t SetASPMState(IOOptionBits aspmLinkControl, OSDispatchMethod supermethod = nullptr);

  // From Apple's private class extension (EXTENDS(IOPCIDevice) IOPCIDevicePrivate), public in
  // iig's output. _ManageSession opens (openClient true) or closes the session Open/Close use.
  // _CopyDeviceMemoryWithIndex: the device memory with that memory index, +1 (to share a BAR
  // with an app).
  kern_return_t _ManageSession(IOService* forClient, bool openClient, IOOptionBits openOptions,
                               OSDispatchMethod supermethod = nullptr);
  kern_return_t _CopyDeviceMemoryWithIndex(uint64_t memoryIndex, IOMemoryDescriptor** returnMemory,
                                           IOService* forClient,
                                           OSDispatchMethod supermethod = nullptr);

  // Emulation only.
  fpgadext::emu::PciSlot* EmulationSlot() const { return slot_; }
  void EmulationSetSlot(fpgadext::emu::PciSlot* slot) { slot_ = slot; }
  // Closes the device if `client` still has it open (the kernel's crash recovery).
  void EmulationCloseFor(IOService* client);
  bool EmulationIsOpen() const { return opener_ != nullptr; }

  // IOService overrides Apple's IOPCIDevice.iig declares. SetProperties takes only the family's
  // kIOPMPCIConfigSpaceVolatileKey, kIOPMPCISleepLinkDisableKey and kIOPMPCISleepResetKey with
  // a boolean value (kIOReturnSuccess if at least one was set, else kIOReturnBadArgument).
  // ClientCrashed succeeds; the device reset IOPCIFamily does for a crashed opener is not
  // emulated (the kernel closes the device for it, EmulationCloseFor).
 protected:
  kern_return_t SetProperties_Impl(OSDictionary* properties) override;
  kern_return_t ClientCrashed_Impl(IOService* client, uint64_t options) override;

 private:
  fpgadext::emu::PciSlot* slot_ = nullptr;
  IOService* opener_ = nullptr;
  uint32_t sleepControlBits_ = 0;  // what HasPCIPowerManagement/EnablePCIPowerManagement chose
};
