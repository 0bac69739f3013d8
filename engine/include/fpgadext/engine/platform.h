// What an engine needs from its host besides registers and memory: a clock and a way to wait
// politely while polling. The dext fills it from IOLib (mach_absolute_time, IODelay); tests from
// std::chrono. Engines own no threads (DESIGN.md decision 4): they poll on the caller's thread.
#pragma once

#include <stdint.h>

namespace fpgadext::engine {

struct Platform {
  uint64_t (*nowNs)();  // monotonic nanoseconds
  void (*relax)();      // called between polls that found nothing new (e.g. a µs delay)
};

}  // namespace fpgadext::engine
