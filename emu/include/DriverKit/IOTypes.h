// DriverKit's IOTypes.h (xnu iokit/DriverKit/IOTypes.h, its XNU_PLATFORM_DriverKit branch) as
// the emulation provides it: the scalar types of DriverKit and the kIOMaxBusStall* values.
//
// Names not found in Apple's DriverKit headers are deliberately absent (kIODirection*, which are
// kernel-only, IOAddressRange, IOIndex): dext code using them would build here and not on a Mac.
#pragma once

#include <stdint.h>

typedef uint32_t IOOptionBits;
typedef int32_t IOFixed;
typedef uint32_t IOVersion;
typedef uint32_t IOItemCount;
typedef uint32_t IOCacheMode;

typedef uint32_t IOByteCount32;
typedef uint64_t IOByteCount64;
typedef IOByteCount64 IOByteCount;

typedef uint32_t IOPhysicalAddress32;
typedef uint64_t IOPhysicalAddress64;
typedef uint32_t IOPhysicalLength32;
typedef uint64_t IOPhysicalLength64;
typedef IOPhysicalAddress64 IOPhysicalAddress;
typedef IOPhysicalLength64 IOPhysicalLength;

typedef uint64_t IOVirtualAddress;

enum {
  kIOMaxBusStall40usec = 40000,
  kIOMaxBusStall30usec = 30000,
  kIOMaxBusStall25usec = 25000,
  kIOMaxBusStall20usec = 20000,
  kIOMaxBusStall10usec = 10000,
  kIOMaxBusStall5usec = 5000,
  kIOMaxBusStallNone = 0,
};
