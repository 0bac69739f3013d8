// IOKit's MIG argument types (xnu osfmk/device/device_types.h), as 64-bit user space sees them.
#ifndef DEVICE_TYPES_H
#define DEVICE_TYPES_H

#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/port.h>
#include <stdint.h>

typedef char* io_buf_ptr_t;

// Like Apple's, the IOKit types exist only where IOKIT is defined (<IOKit/IOTypes.h> does).
#ifdef IOKIT
typedef char io_name_t[128];
typedef char io_string_t[512];
typedef char io_string_inband_t[4096];
typedef char io_struct_inband_t[4096];
typedef uint64_t io_user_scalar_t;
typedef uint64_t io_user_reference_t;
typedef io_user_scalar_t io_scalar_inband_t[16];
typedef io_user_reference_t io_async_ref_t[8];
typedef io_user_scalar_t io_scalar_inband64_t[16];
typedef io_user_reference_t io_async_ref64_t[8];

#ifndef __IOKIT_PORTS_DEFINED__
#define __IOKIT_PORTS_DEFINED__
typedef mach_port_t io_object_t;
#endif
#endif  // IOKIT

#endif
