// Deadlines in the kIOTimerClock* timebases (IOTimerDispatchSource.h) as std::chrono time points,
// for IOTimerDispatchSource::WakeAtTime and OSAction::Wait.
#pragma once

#include <stdint.h>

#include <chrono>

namespace fpgadext::emu {

// False for a timebase that is not one of kIOTimerClock*. mach_absolute_time() and
// mach_continuous_time() are the same clock here (the emulated machine never sleeps), as are the
// raw uptime and monotonic clocks.
bool DeadlineFromTimerClock(uint64_t options, uint64_t deadline,
                            std::chrono::steady_clock::time_point* when);

}  // namespace fpgadext::emu
