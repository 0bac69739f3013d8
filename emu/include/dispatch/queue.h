// Dispatch queues (libdispatch-1542.0.4 dispatch/queue.h); a subset: serial queues, the main
// queue (run by dispatch_main() or the main thread's CFRunLoop) and the global queues.
#ifndef __DISPATCH_QUEUE__
#define __DISPATCH_QUEUE__

#ifndef __DISPATCH_INDIRECT__
#error "Please #include <dispatch/dispatch.h> instead of this file directly."
#endif

#include <dispatch/object.h>
#include <dispatch/time.h>
#include <stddef.h>
#include <stdint.h>

DISPATCH_DECL(dispatch_queue);
DISPATCH_DECL_SUBCLASS(dispatch_queue_global, dispatch_queue);
DISPATCH_DECL_SUBCLASS(dispatch_queue_serial, dispatch_queue);
DISPATCH_DECL_SUBCLASS(dispatch_queue_main, dispatch_queue_serial);
DISPATCH_DECL_SUBCLASS(dispatch_queue_concurrent, dispatch_queue);
DISPATCH_DECL(dispatch_queue_attr);

#define DISPATCH_QUEUE_SERIAL NULL

#define DISPATCH_QUEUE_PRIORITY_HIGH 2
#define DISPATCH_QUEUE_PRIORITY_DEFAULT 0
#define DISPATCH_QUEUE_PRIORITY_LOW (-2)
#define DISPATCH_QUEUE_PRIORITY_BACKGROUND INT16_MIN
typedef long dispatch_queue_priority_t;

#define DISPATCH_CURRENT_QUEUE_LABEL NULL

#ifdef __cplusplus
extern "C" {
#endif

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
void dispatch_async_f(dispatch_queue_t queue, void* context, dispatch_function_t work);
void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block);
void dispatch_sync_f(dispatch_queue_t queue, void* context, dispatch_function_t work);
// Submits `block` to `queue` at `when` (never for DISPATCH_TIME_FOREVER).
void dispatch_after(dispatch_time_t when, dispatch_queue_t queue, dispatch_block_t block);
void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void* context,
                      dispatch_function_t work);

// The queue bound to the main thread: its blocks run only while the main thread is in
// dispatch_main() or runs its CFRunLoop.
dispatch_queue_main_t dispatch_get_main_queue(void);
// One concurrent queue per priority (DISPATCH_QUEUE_PRIORITY_* or a QoS class); flags must be 0.
dispatch_queue_global_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags);

dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr);
const char* dispatch_queue_get_label(dispatch_queue_t queue);

// Runs the main queue forever; never returns.
DISPATCH_NORETURN void dispatch_main(void);

#ifdef __cplusplus
}
#endif

#endif
