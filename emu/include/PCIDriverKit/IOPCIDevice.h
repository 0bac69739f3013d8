// IOPCIDevice (IOPCIFamily PCIDriverKit/IOPCIDevice.iig): the provider of a PCI dext.
//
// As on macOS: Open() does not enable memory space or bus mastering (the dext sets them in the
// Command register) and Close() clears both; memory accesses take a memory index (translate a
// BAR with GetBARInfo), are direct loads/stores with no offset check, and read all ones when the
// device is not open, the index is unknown or the function does not answer.
#pragma once

#include <DriverKit/IOService.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>

class IOMemoryDescriptor;

namespace fpgadext::emu {
class PciSlot;
}

class IOPCIDevice : public IOService {
  OSDeclareEmulatedClass(IOPCIDevice)

 public:
  kern_return_t Open(IOService* forClient, IOOptionBits options = 0);
  void Close(IOService* forClient, IOOptionBits options = 0);

  void ConfigurationRead32(uint64_t offset, uint32_t* readData);
  void ConfigurationRead16(uint64_t offset, uint16_t* readData);
  void ConfigurationRead8(uint64_t offset, uint8_t* readData);
  void ConfigurationWrite32(uint64_t offset, uint32_t data);
  void ConfigurationWrite16(uint64_t offset, uint16_t data);
  void ConfigurationWrite8(uint64_t offset, uint8_t data);

  void MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t* readData);
  void MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t* readData);
  void MemoryRead16(uint8_t memoryIndex, uint64_t offset, uint16_t* readData);
  void MemoryRead8(uint8_t memoryIndex, uint64_t offset, uint8_t* readData);
  void MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data);
  void MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data);
  void MemoryWrite16(uint8_t memoryIndex, uint64_t offset, uint16_t data);
  void MemoryWrite8(uint8_t memoryIndex, uint64_t offset, uint8_t data);
  void MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t* readData, IOOptionBits options);
  void MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t* readData, IOOptionBits options);
  void MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data, IOOptionBits options);
  void MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data, IOOptionBits options);

  kern_return_t GetBARInfo(uint8_t barIndex, uint8_t* memoryIndex, uint64_t* barSize,
                           uint8_t* barType);
  kern_return_t FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                  uint64_t* foundCapabilityOffset);
  kern_return_t GetBusDeviceFunction(uint8_t* returnBusNumber, uint8_t* returnDeviceNumber,
                                     uint8_t* returnFunctionNumber);
  kern_return_t ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired,
                                    uint32_t numRequested, IOOptionBits options);
  // The device memory (a BAR) with that memory index, +1; for sharing a BAR with an app.
  kern_return_t _CopyDeviceMemoryWithIndex(uint64_t memoryIndex, IOMemoryDescriptor** memory,
                                           IOService* forClient);

  // Emulation only.
  fpgadext::emu::PciSlot* EmulationSlot() const { return slot_; }
  void EmulationSetSlot(fpgadext::emu::PciSlot* slot) { slot_ = slot; }
  // Closes the device if `client` still has it open (the kernel's crash recovery).
  void EmulationCloseFor(IOService* client);

 private:
  fpgadext::emu::PciSlot* slot_ = nullptr;
  IOService* opener_ = nullptr;
};
