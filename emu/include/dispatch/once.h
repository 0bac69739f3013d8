// One-time initialisation (libdispatch-1542.0.4 dispatch/once.h).
#ifndef __DISPATCH_ONCE__
#define __DISPATCH_ONCE__

#ifndef __DISPATCH_INDIRECT__
#error "Please #include <dispatch/dispatch.h> instead of this file directly."
#endif

#include <dispatch/base.h>
#include <dispatch/object.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Zero before the first call; ~0 once the block has run.
typedef intptr_t dispatch_once_t;

void dispatch_once(dispatch_once_t* predicate, dispatch_block_t block);
void dispatch_once_f(dispatch_once_t* predicate, void* context, dispatch_function_t function);

#ifdef __cplusplus
}
#endif

#endif
