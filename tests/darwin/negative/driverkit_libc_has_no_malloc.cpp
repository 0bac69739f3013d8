// Rejected by the darwin check, builds on Linux: DriverKit's <stdlib.h> has no malloc (a dext
// allocates with IOMalloc or IONew).
#include <stdlib.h>

void* Allocate(size_t size) {
  return malloc(size);
}
