// The vm_map MIG interface (vm_map.defs, generated mach/vm_map.h in the macOS SDK); a subset.
#ifndef _vm_map_user_
#define _vm_map_user_

#include <mach/mach_types.h>

#ifdef __cplusplus
extern "C" {
#endif

// Frees memory the kernel placed in the task (IOConnectCallMethod's variable-size output).
kern_return_t vm_deallocate(vm_map_t target_task, vm_address_t address, vm_size_t size);

#ifdef __cplusplus
}
#endif

#endif
