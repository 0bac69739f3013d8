// The few Mach names an IOKit app uses, for the emulated app side.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifndef FPGADEXT_EMU_KERN_RETURN_T
#define FPGADEXT_EMU_KERN_RETURN_T
typedef int kern_return_t;
#endif
#ifndef KERN_SUCCESS
#define KERN_SUCCESS 0
#endif

typedef uint32_t mach_port_t;
typedef mach_port_t task_port_t;
typedef mach_port_t task_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
typedef uintptr_t vm_address_t;
typedef uintptr_t vm_size_t;
typedef uint32_t natural_t;
typedef int boolean_t;

#define MACH_PORT_NULL ((mach_port_t)0)
#define MACH_SEND_INVALID_DEST 0x10000003
#define MIG_ARRAY_TOO_LARGE (-307)

#ifdef __cplusplus
extern "C" {
#endif
// The calling task's port name.
mach_port_t mach_task_self(void);
// Frees memory the kernel handed out (IOConnectCallMethod's variable-size output).
kern_return_t vm_deallocate(task_t task, vm_address_t address, vm_size_t size);
#ifdef __cplusplus
}
#endif
