// libkern's integer types for user space (xnu libkern/libkern/OSTypes.h): the sized types come
// from <MacTypes.h>; this header adds UInt and SInt.
#include <MacTypes.h>

#ifndef _OS_OSTYPES_H
#define _OS_OSTYPES_H

#define OSTYPES_K64_REV 2

typedef unsigned int UInt;
typedef signed int SInt;

#endif
