// IOTimerDispatchSource (closed DriverKit SDK; not in xnu. Names, values and signatures from the
// SDK's generated IOTimerDispatchSource.h as published, iig DriverKit-107.100.6, and Apple's
// DriverKit documentation): delivers a timer to an OSAction on a dispatch queue.
//
// Each WakeAtTime arms the timer once, replacing a deadline not yet reached; when the deadline
// passes, TimerOccurred(action, mach_absolute_time()) runs on the source's queue.
#pragma once

#include <DriverKit/IODispatchQueue.h>

// WakeAtTime() `options`: the timebase of `deadline` and `leeway`.
enum {
  kIOTimerClockUptimeRaw = 0x88ull,           // nanoseconds of CLOCK_UPTIME_RAW
  kIOTimerClockMonotonicRaw = 0x84ull,        // nanoseconds of CLOCK_MONOTONIC_RAW
  kIOTimerClockRealTime = 0x80ull,            // nanoseconds since the Epoch
  kIOTimerClockWallTime = 0x80ull,            // same as kIOTimerClockRealTime
  kIOTimerClockMachAbsoluteTime = 0xC8ull,    // mach_absolute_time() ticks
  kIOTimerClockMachContinuousTime = 0xC4ull,  // mach_continuous_time() ticks
};

#define IOTimerDispatchSource_Create_Args IODispatchQueue *queue, IOTimerDispatchSource **source
#define IOTimerDispatchSource_SetHandler_Args OSAction* action
#define IOTimerDispatchSource_WakeAtTime_Args uint64_t options, uint64_t deadline, uint64_t leeway
#define IOTimerDispatchSource_TimerOccurred_Args OSAction *action, uint64_t time

namespace fpgadext::emu {
struct TimerState;
}

class IOTimerDispatchSource : public IODispatchSource {
  OSDeclareEmulatedClass(IOTimerDispatchSource)

 public:
  // A timer source delivering on `queue` (+1). It is enabled and not armed.
  static kern_return_t Create(IODispatchQueue* queue, IOTimerDispatchSource** source);
  bool init() override;
  void free() override;

  // The action to invoke; it must come from a method declared
  // TYPE(IOTimerDispatchSource::TimerOccurred) (kIOReturnBadArgument otherwise).
  kern_return_t SetHandler(OSAction* action, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetHandler, action);
  }
  // Arms the timer for `deadline` in the timebase `options` (one of kIOTimerClock*; another
  // value is kIOReturnBadArgument), replacing a deadline not yet reached. `leeway` may only delay
  // a firing and is ignored here. kIOReturnUnsupported once cancelled.
  kern_return_t WakeAtTime(uint64_t options, uint64_t deadline, uint64_t leeway,
                           OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(WakeAtTime, options, deadline, leeway);
  }

  virtual kern_return_t SetHandler_Impl(OSAction* action);
  virtual kern_return_t WakeAtTime_Impl(uint64_t options, uint64_t deadline, uint64_t leeway);
  // A deadline reached while disabled fires when the source is enabled again.
  kern_return_t SetEnableWithCompletion_Impl(bool enable,
                                             IODispatchSourceCancelHandler handler) override;
  kern_return_t Cancel_Impl(IODispatchSourceCancelHandler handler) override;

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

  // Emulation only: the timer thread calls this when the armed deadline `generation` passes.
  void EmulationFire(uint64_t generation);

 private:
  kern_return_t CheckForWork_Impl(bool synchronous) override;
  void Deliver();

  fpgadext::emu::TimerState* state_ = nullptr;
};
