// IOMemoryDescriptor (xnu iokit/DriverKit/IOMemoryDescriptor.iig): memory a dext can map or
// prepare for DMA — its own buffers, an app's address ranges, or device memory (BARs) — with the
// direction and mapping options and IOAddressSegment, which Apple declares here too.
// IOMemoryMap is only forward-declared, as in Apple's header: include <DriverKit/IOMemoryMap.h>
// to use a mapping.
#pragma once

#include <DriverKit/OSObject.h>

class IOService;
class IOMemoryMap;

// Create options: the direction of the I/O. "In" = the device (or the dext) writes into the
// memory; "Out" = the memory is read.
enum {
  kIOMemoryDirectionNone = 0x00000000,
  kIOMemoryDirectionIn = 0x00000001,
  kIOMemoryDirectionOut = 0x00000002,
  kIOMemoryDirectionOutIn = kIOMemoryDirectionIn | kIOMemoryDirectionOut,
  kIOMemoryDirectionInOut = kIOMemoryDirectionOutIn,
  kIOMemoryDisableCopyOnWrite = 0x00000010,
};

// CreateMapping options. The cache mode is bits 0xFF00; a value other than the five below is
// refused with kIOReturnBadArgument.
enum {
  kIOMemoryMapFixedAddress = 0x00000001,
  kIOMemoryMapReadOnly = 0x00000002,
  kIOMemoryMapGuardedMask = 0x0000001C,
  kIOMemoryMapGuardedDefault = 0x00000000,
  kIOMemoryMapGuardedNone = 0x00000004,
  kIOMemoryMapGuardedSmall = 0x00000008,
  kIOMemoryMapGuardedLarge = 0x0000000C,
  kIOMemoryMapCacheModeDefault = 0x00000000,
  kIOMemoryMapCacheModeInhibit = 0x00000100,
  kIOMemoryMapCacheModeCopyback = 0x00000200,
  kIOMemoryMapCacheModeWriteThrough = 0x00000400,
  kIOMemoryMapCacheModeRealTime = 0x00000800,
};

// One contiguous range: a virtual range in a task, or a device (bus) range from PrepareForDMA.
struct IOAddressSegment {
  uint64_t address;
  uint64_t length;
};

// The state IOMemoryDescriptor's private class extension reports (declared by Apple's header).
struct _IOMDPrivateState {
  uint64_t length;
  uint64_t options;
};

class IOMemoryDescriptor : public OSObject {
  OSDeclareEmulatedClass(IOMemoryDescriptor)

 public:
  bool init() override;
  void free() override;

  kern_return_t GetLength(uint64_t* returnLength);

  // Maps [offset, offset+length) into the dext (length 0 = to the end); alignment must be 0.
  // The mapping is read-only when kIOMemoryMapReadOnly is asked, or when the direction is
  // exactly kIOMemoryDirectionOut and the memory is not a buffer the dext created (client
  // memory, sub-descriptors, concatenations). Copy-on-write client memory is
  // mapped as a snapshot. Client ranges are checked here: unmapped or unreadable ones fail with
  // kIOReturnError. `supermethod` is iig's and ignored (a KERNEL class).
  kern_return_t CreateMapping(uint64_t options, uint64_t address, uint64_t offset, uint64_t length,
                              uint64_t alignment, IOMemoryMap** map,
                              OSDispatchMethod supermethod = nullptr);

  static kern_return_t CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions,
                                                 uint64_t offset, uint64_t length,
                                                 IOMemoryDescriptor* ofDescriptor,
                                                 IOMemoryDescriptor** memory)
      __attribute__((availability(driverkit, introduced = 20.0)));
  static kern_return_t CreateWithMemoryDescriptors(uint64_t memoryDescriptorCreateOptions,
                                                   uint32_t withDescriptorsCount,
                                                   IOMemoryDescriptor* const withDescriptors[32],
                                                   IOMemoryDescriptor** memory)
      __attribute__((availability(driverkit, introduced = 20.0)));

  // Emulation only: the kernel's memory object this descriptor names (emu/kernel/user_server.h,
  // MemoryId; 0: none), released when the descriptor goes.
  uint64_t EmulationMemory() const { return memory_; }
  void EmulationSetMemory(uint64_t memory) { memory_ = memory; }

 private:
  uint64_t memory_ = 0;
};
