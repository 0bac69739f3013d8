// App-side IOKit types (IOKit/IOTypes.h) for the emulated IOKitLib.
#pragma once

#include <IOKit/IOReturn.h>
#include <mach/mach.h>

typedef mach_port_t io_object_t;
typedef io_object_t io_connect_t;
typedef io_object_t io_iterator_t;
typedef io_object_t io_registry_entry_t;
typedef io_object_t io_service_t;
typedef char io_name_t[128];
typedef uint64_t io_user_reference_t;
typedef uint32_t IOOptionBits;

#define IO_OBJECT_NULL ((io_object_t)0)

// IOConnectMapMemory64 options.
enum {
  kIOMapAnywhere = 0x00000001,
  kIOMapCacheMask = 0x00000700,
  kIOMapDefaultCache = 0x00000000,
  kIOMapInhibitCache = 0x00000100,
  kIOMapWriteThruCache = 0x00000200,
  kIOMapCopybackCache = 0x00000300,
  kIOMapWriteCombineCache = 0x00000400,
  kIOMapReadOnly = 0x00001000,
  kIOMapReference = 0x00004000,
};

// IOConnectCallMethod: *outputStructCnt asking for a variable-size output.
#define kIOConnectMethodVarOutputSize ((size_t)-3)
