// <alloca.h> of the DriverKit SDK (Libc include/alloca.h, installed for DriverKit).
#ifndef _ALLOCA_H_
#define _ALLOCA_H_

#include <stddef.h>

#define alloca(size) __builtin_alloca(size)

#endif  // _ALLOCA_H_
