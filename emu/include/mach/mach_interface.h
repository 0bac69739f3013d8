// The MIG user interfaces of the Mach kernel (libsyscall mach/mach_interface.h); only vm_map is
// emulated.
#ifndef _MACH_INTERFACE_H_
#define _MACH_INTERFACE_H_

#include <mach/vm_map.h>

#endif
