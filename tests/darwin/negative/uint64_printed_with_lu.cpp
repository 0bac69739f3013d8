// Rejected by the darwin check, builds on Linux: "%lu" matches uint64_t only where uint64_t is
// unsigned long. On a Mac it is unsigned long long ("%llu"), and format checking fails.
#include <stdint.h>
#include <stdio.h>

int Format(char* buffer, size_t size, uint64_t value) {
  return snprintf(buffer, size, "%lu", value);
}
