// IOKit's basic types for user space (xnu iokit/IOKit/IOTypes.h, the non-kernel, 64-bit branch):
// the io_object_t family of port names, the sized IO* integer types, the map options of
// <IOKit/IOMapTypes.h>, and kIOConnectMethodVarOutputSize.
#ifndef __IOKIT_IOTYPES_H
#define __IOKIT_IOTYPES_H

#ifndef IOKIT
#define IOKIT 1
#endif

#include <IOKit/IOReturn.h>
#include <libkern/OSTypes.h>
#include <mach/message.h>
#include <mach/vm_types.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef UInt32 IOOptionBits;
typedef SInt32 IOFixed;
typedef UInt32 IOVersion;
typedef UInt32 IOItemCount;
typedef UInt32 IOCacheMode;
typedef UInt32 IOByteCount32;
typedef UInt64 IOByteCount64;
typedef UInt32 IOPhysicalAddress32;
typedef UInt64 IOPhysicalAddress64;
typedef UInt32 IOPhysicalLength32;
typedef UInt64 IOPhysicalLength64;
typedef mach_vm_address_t IOVirtualAddress;

// User space on 64-bit Intel keeps the 32-bit IOByteCount and physical types; arm64 has 64-bit
// ones.
#if defined(__x86_64__)
typedef IOByteCount32 IOByteCount;
#define PRIIOByteCount PRIu32
typedef IOPhysicalAddress32 IOPhysicalAddress;
typedef IOPhysicalLength32 IOPhysicalLength;
#define IOPhysical32(hi, lo) (lo)
#define IOPhysSize 32
#else
typedef IOByteCount64 IOByteCount;
#define PRIIOByteCount PRIu64
typedef IOPhysicalAddress64 IOPhysicalAddress;
typedef IOPhysicalLength64 IOPhysicalLength;
#define IOPhysical32(hi, lo) ((UInt64)lo + ((UInt64)(hi) << 32))
#define IOPhysSize 64
#endif

typedef IOVirtualAddress IOLogicalAddress;

typedef struct {
  IOPhysicalAddress address;
  IOByteCount length;
} IOPhysicalRange;

typedef struct {
  IOVirtualAddress address;
  IOByteCount length;
} IOVirtualRange;

typedef IOVirtualRange IOAddressRange;

typedef struct {
  int value;
  const char* name;
} IONamedValue;

typedef unsigned int IOAlignment;

#define IO_NULL_VM_TASK ((vm_task_t)0)

#ifndef __IOKIT_PORTS_DEFINED__
#define __IOKIT_PORTS_DEFINED__
typedef mach_port_t io_object_t;
#endif

#ifdef __cplusplus
}
#endif
#include <device/device_types.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef io_object_t io_connect_t;
typedef io_object_t io_enumerator_t;
typedef io_object_t io_ident_t;
typedef io_object_t io_iterator_t;
typedef io_object_t io_registry_entry_t;
typedef io_object_t io_service_t;
typedef io_object_t uext_object_t;

#define IO_OBJECT_NULL ((io_object_t)0)

#ifdef __cplusplus
}
#endif
#include <IOKit/IOMapTypes.h>
#ifdef __cplusplus
extern "C" {
#endif

enum {
  kNanosecondScale = 1,
  kMicrosecondScale = 1000,
  kMillisecondScale = 1000 * 1000,
  kSecondScale = 1000 * 1000 * 1000,
  kTickScale = (kSecondScale / 100),
};

// IOConnectCallMethod: an *outputStructCnt of this value asks for a variable-size output.
enum {
  kIOConnectMethodVarOutputSize = -3,
};

typedef unsigned int IODeviceNumber;

#ifdef __cplusplus
}
#endif

enum {
  kIOMaxBusStall40usec = 40000,
  kIOMaxBusStall30usec = 30000,
  kIOMaxBusStall25usec = 25000,
  kIOMaxBusStall20usec = 20000,
  kIOMaxBusStall10usec = 10000,
  kIOMaxBusStall5usec = 5000,
  kIOMaxBusStallNone = 0,
};

#endif
