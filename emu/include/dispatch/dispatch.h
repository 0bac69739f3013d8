// libdispatch's umbrella header (libdispatch-1542.0.4 dispatch/dispatch.h), for the emulated app
// side. Partial by design: queues, time, semaphores, groups and once (docs/emulation.md).
#ifndef __DISPATCH_PUBLIC__
#define __DISPATCH_PUBLIC__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DISPATCH_API_VERSION 20181008

#ifndef __DISPATCH_INDIRECT__
#define __DISPATCH_INDIRECT__
#endif

#include <dispatch/base.h>
#include <dispatch/group.h>
#include <dispatch/object.h>
#include <dispatch/once.h>
#include <dispatch/queue.h>
#include <dispatch/semaphore.h>
#include <dispatch/time.h>

#undef __DISPATCH_INDIRECT__

#endif
