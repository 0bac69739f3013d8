// The pause between two polls of the device that found nothing new (docs/engine.md, "Waiting").
//
// Short waits spin on mach_absolute_time: a DriverKit IODelay sleeps, and on a Mac a sleep can
// cost a scheduler tick, far longer than a small transfer. One pause first lets another thread
// run if one is waiting for this CPU (IODelay(0): a wait of no minimum length), then spins with
// the CPU's spin-wait hint until kPollPauseNs have passed since it began. Its length bounds how
// late a poll sees a completion; the caller's loop bounds the whole wait with its deadline.
#pragma once

#include <DriverKit/IOLib.h>
#include <stdint.h>

namespace fpgadext::dext {

inline constexpr uint64_t kPollPauseNs = 250;

// Tells the CPU this is a spin-wait loop (saves power, lets a sibling hardware thread run).
inline void SpinWaitHint() {
#if defined(__aarch64__)
  __builtin_arm_yield();
#elif defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// Not inlined, so that instruction counts can tell waiting from work (bench/callgrind_ops.py).
inline __attribute__((noinline)) void PollPause() {
  const uint64_t start = mach_absolute_time();
  IODelay(0);
  mach_timebase_info_data_t timebase{};
  mach_timebase_info(&timebase);
  if (timebase.numer == 0 || timebase.denom == 0) timebase = {1, 1};
  const uint64_t ticks = kPollPauseNs * timebase.denom / timebase.numer + 1;
  while (mach_absolute_time() - start < ticks) SpinWaitHint();
}

}  // namespace fpgadext::dext
