// Rejected by the darwin check, builds on Linux: there uint64_t is unsigned long, on a Mac it is
// unsigned long long, so a uint64_t* does not convert to an unsigned long*.
#include <stdint.h>

void TakesUnsignedLong(unsigned long* value);

void Caller() {
  uint64_t value = 0;
  TakesUnsignedLong(&value);
}
