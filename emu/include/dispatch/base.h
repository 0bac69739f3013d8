// libdispatch's base definitions (libdispatch-1542.0.4 dispatch/base.h); a subset.
#ifndef __DISPATCH_BASE__
#define __DISPATCH_BASE__

#ifndef __DISPATCH_INDIRECT__
#error "Please #include <dispatch/dispatch.h> instead of this file directly."
#endif

#define DISPATCH_EXPORT extern
#define DISPATCH_NOTHROW __attribute__((__nothrow__))
#define DISPATCH_NORETURN __attribute__((__noreturn__))
#define DISPATCH_NONNULL_ALL __attribute__((__nonnull__))

typedef void (*dispatch_function_t)(void*);

#endif
