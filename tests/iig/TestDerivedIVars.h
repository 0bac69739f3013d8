// TestDerived's instance variables; a dext defines them in its .cpp, the test reads them too.
#pragma once

#include <stdint.h>

struct TestDerived_IVars {
  uint64_t adds;
  uint32_t touches;
};
