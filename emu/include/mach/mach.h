// The Mach umbrella header (libsyscall mach/mach.h), for the emulated app side. Like Apple's it
// brings in the types, the task port, the MIG interfaces and <mach/mig_errors.h>.
#ifndef _MACH_H_
#define _MACH_H_

#include <mach/mach_init.h>
#include <mach/mach_interface.h>
#include <mach/mach_types.h>
#include <mach/mig_errors.h>

#endif
