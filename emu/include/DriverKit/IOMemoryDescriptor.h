// IOMemoryDescriptor (iokit/DriverKit/IOMemoryDescriptor.iig): memory a dext can map or prepare
// for DMA — its own buffers, an app's address ranges, or device memory (BARs).
#pragma once

#include <DriverKit/IOTypes.h>
#include <DriverKit/OSObject.h>

class IOMemoryMap;

namespace fpgadext::emu {
struct MemoryBacking;
}

class IOMemoryDescriptor : public OSObject {
  OSDeclareEmulatedClass(IOMemoryDescriptor)

 public:
  kern_return_t GetLength(uint64_t* returnLength);

  // Maps [offset, offset+length) into the dext (length 0 = to the end); alignment must be 0.
  // The mapping is read-only when kIOMemoryMapReadOnly is asked, or when the direction is
  // exactly kIOMemoryDirectionOut and the memory is not a buffer the dext created (client
  // memory, sub-descriptors, concatenations). Copy-on-write client memory is
  // mapped as a snapshot. Client ranges are checked here: unmapped or unreadable ones fail with
  // kIOReturnError.
  kern_return_t CreateMapping(uint64_t options, uint64_t address, uint64_t offset,
                              uint64_t length, uint64_t alignment, IOMemoryMap** map);

  static kern_return_t CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions,
                                                 uint64_t offset, uint64_t length,
                                                 IOMemoryDescriptor* ofDescriptor,
                                                 IOMemoryDescriptor** memory);
  static kern_return_t CreateWithMemoryDescriptors(uint64_t memoryDescriptorCreateOptions,
                                                   uint32_t withDescriptorsCount,
                                                   IOMemoryDescriptor* const withDescriptors[32],
                                                   IOMemoryDescriptor** memory);

  void free() override;

  // Emulation only.
  fpgadext::emu::MemoryBacking* EmulationBacking() const { return backing_; }
  void EmulationSetBacking(fpgadext::emu::MemoryBacking* backing) { backing_ = backing; }

 private:
  fpgadext::emu::MemoryBacking* backing_ = nullptr;
};

class IOMemoryMap : public OSObject {
  OSDeclareEmulatedClass(IOMemoryMap)

 public:
  uint64_t GetAddress() { return address_; }
  uint64_t GetLength() { return length_; }
  uint64_t GetOffset() { return offset_; }

  void free() override;

  // Emulation only: `unmap` is called from free() (munmap of a snapshot or alias), may be null.
  void EmulationSet(uint64_t address, uint64_t length, uint64_t offset, void (*unmap)(void*, uint64_t),
                    IOMemoryDescriptor* owner);
  // What free() undoes when it is not [address, address + length) itself.
  void EmulationSetUnmap(void (*unmap)(void*, uint64_t), void* address, uint64_t length);

 private:
  uint64_t address_ = 0;
  uint64_t length_ = 0;
  uint64_t offset_ = 0;
  void (*unmap_)(void*, uint64_t) = nullptr;
  void* unmapAddress_ = nullptr;
  uint64_t unmapLength_ = 0;
  IOMemoryDescriptor* owner_ = nullptr;  // retained: a map keeps its memory alive
};
