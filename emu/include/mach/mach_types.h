// Mach object types as user space sees them: every kernel object is a port name (xnu
// osfmk/mach/mach_types.h); a subset.
#ifndef _MACH_MACH_TYPES_H_
#define _MACH_MACH_TYPES_H_

#include <mach/clock_types.h>
#include <mach/kern_return.h>
#include <mach/message.h>
#include <mach/port.h>
#include <mach/vm_types.h>

typedef mach_port_t task_t;
typedef mach_port_t task_name_t;
typedef mach_port_t thread_t;
typedef mach_port_t ipc_space_t;
typedef mach_port_t host_t;
typedef task_t task_port_t;
typedef thread_t thread_port_t;
typedef host_t host_name_t;
typedef host_t host_name_port_t;

#define TASK_NULL ((task_t)0)
#define THREAD_NULL ((thread_t)0)

#endif
