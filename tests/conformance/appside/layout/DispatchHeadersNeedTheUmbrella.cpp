// Must not compile: libdispatch's headers refuse to be included except through
// <dispatch/dispatch.h>.
#include <dispatch/queue.h>
