// DriverKit's IOTypes.h as the emulation provides it: the scalar types of xnu
// iokit/DriverKit/IOTypes.h (its XNU_PLATFORM_DriverKit branch) plus the memory option constants
// and IOAddressSegment, which Apple declares in IOMemoryDescriptor.iig. They live here so that
// every emulated header (IOMemoryDescriptor.h, IODMACommand.h, IOUserClient.h) can share one
// definition: those headers include this one and must not redefine the names.
//
// Names not found in Apple's DriverKit headers are deliberately absent (kIODirection*, which are
// kernel-only, IOAddressRange, and a kIOVMPageSize constant): dext code using them would build here
// and not on a Mac.
#pragma once

#include <DriverKit/OSObject.h>  // IOOptionBits, IOIndex, IOVirtualAddress, IOByteCount, IOPhysicalAddress
#include <stdint.h>

typedef int32_t IOFixed;
typedef uint32_t IOVersion;
typedef uint32_t IOItemCount;
typedef uint32_t IOCacheMode;

typedef uint32_t IOByteCount32;
typedef uint64_t IOByteCount64;

typedef uint32_t IOPhysicalAddress32;
typedef uint64_t IOPhysicalAddress64;
typedef uint32_t IOPhysicalLength32;
typedef uint64_t IOPhysicalLength64;
typedef IOPhysicalLength64 IOPhysicalLength;

enum {
  kIOMaxBusStall40usec = 40000,
  kIOMaxBusStall30usec = 30000,
  kIOMaxBusStall25usec = 25000,
  kIOMaxBusStall20usec = 20000,
  kIOMaxBusStall10usec = 10000,
  kIOMaxBusStall5usec = 5000,
  kIOMaxBusStallNone = 0,
};

// IOMemoryDescriptor / IOBufferMemoryDescriptor / CreateMemoryDescriptorFromClient options.
// "In" = the device (or dext) writes into the memory; "Out" = the memory is read.
enum {
  kIOMemoryDirectionNone = 0x00000000,
  kIOMemoryDirectionIn = 0x00000001,
  kIOMemoryDirectionOut = 0x00000002,
  kIOMemoryDirectionOutIn = kIOMemoryDirectionIn | kIOMemoryDirectionOut,
  kIOMemoryDirectionInOut = kIOMemoryDirectionOutIn,
  kIOMemoryDisableCopyOnWrite = 0x00000010,
};

// IOMemoryDescriptor::CreateMapping options. The kernel takes the cache mode from bits 0xFF00 and
// rejects any value other than the five below with kIOReturnBadArgument.
enum {
  kIOMemoryMapFixedAddress = 0x00000001,
  kIOMemoryMapReadOnly = 0x00000002,
  kIOMemoryMapGuardedMask = 0x0000001C,
  kIOMemoryMapGuardedDefault = 0x00000000,  // = Small
  kIOMemoryMapGuardedNone = 0x00000004,
  kIOMemoryMapGuardedSmall = 0x00000008,
  kIOMemoryMapGuardedLarge = 0x0000000C,
  kIOMemoryMapCacheModeDefault = 0x00000000,
  kIOMemoryMapCacheModeInhibit = 0x00000100,
  kIOMemoryMapCacheModeCopyback = 0x00000200,
  kIOMemoryMapCacheModeWriteThrough = 0x00000400,
  kIOMemoryMapCacheModeRealTime = 0x00000800,
};

// One contiguous range: a virtual range in a task, or a device (IOVA) range from PrepareForDMA.
// Same layout as the kernel's IOAddressRange (a kernel name, so not declared here).
struct IOAddressSegment {
  uint64_t address;
  uint64_t length;
};

// The VM page size a dext sees (a global variable in DriverKit, set by the runtime). The
// emulation reports 16384, the page size of Apple Silicon, whatever the Linux host uses, so that
// page arithmetic written for a Mac is exercised as on a Mac.
extern "C" uint64_t IOVMPageSize;
