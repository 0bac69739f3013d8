// Counting semaphores (libdispatch-1542.0.4 dispatch/semaphore.h).
#ifndef __DISPATCH_SEMAPHORE__
#define __DISPATCH_SEMAPHORE__

#ifndef __DISPATCH_INDIRECT__
#error "Please #include <dispatch/dispatch.h> instead of this file directly."
#endif

#include <dispatch/object.h>
#include <dispatch/time.h>

DISPATCH_DECL(dispatch_semaphore);

#ifdef __cplusplus
extern "C" {
#endif

dispatch_semaphore_t dispatch_semaphore_create(intptr_t value);
// 0 when signalled, non-zero on timeout.
intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout);
intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema);

#ifdef __cplusplus
}
#endif

#endif
