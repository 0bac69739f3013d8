// IOTimerDispatchSource: one thread of the runtime keeps the armed deadlines of every timer
// source and, when one passes, has the source deliver TimerOccurred on its queue.
#include <DriverKit/IOLib.h>
#include <DriverKit/IOTimerDispatchSource.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "dispatch_source_internal.h"
#include "dispatch_time.h"

namespace fpgadext::emu {

bool DeadlineFromTimerClock(uint64_t options, uint64_t deadline,
                            std::chrono::steady_clock::time_point* when) {
  using namespace std::chrono;
  uint64_t monotonicNs;
  switch (options) {
    case kIOTimerClockMachAbsoluteTime:
    case kIOTimerClockMachContinuousTime:
      // Ticks of 24 MHz on CLOCK_MONOTONIC (IOLib.h): ns = ticks * 125 / 3.
      monotonicNs = static_cast<uint64_t>(static_cast<unsigned __int128>(deadline) * 125 / 3);
      break;
    case kIOTimerClockUptimeRaw:
    case kIOTimerClockMonotonicRaw:
      monotonicNs = deadline;
      break;
    case kIOTimerClockRealTime: {
      const int64_t nowReal =
          duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
      const auto delta = static_cast<int64_t>(deadline) - nowReal;
      *when = steady_clock::now() + nanoseconds(delta);
      return true;
    }
    default:
      return false;
  }
  // steady_clock is CLOCK_MONOTONIC on Linux, the clock mach_absolute_time() reads.
  const uint64_t maxNs = static_cast<uint64_t>(INT64_MAX);
  *when = steady_clock::time_point(nanoseconds(monotonicNs > maxNs ? maxNs : monotonicNs));
  return true;
}

struct TimerState {
  std::mutex lock;
  IODispatchQueue* queue = nullptr;  // retained
  OSAction* handler = nullptr;       // retained
  uint64_t generation = 0;           // of the armed deadline
  bool armed = false;
  bool enabled = true;
  bool firedWhileDisabled = false;
  bool cancelled = false;
};

namespace {

// The armed deadlines of all timer sources. An armed source is retained until it fires or is
// disarmed.
class TimerThread {
 public:
  static TimerThread& Get() {
    static TimerThread instance;
    return instance;
  }
  void Arm(IOTimerDispatchSource* source, uint64_t generation,
           std::chrono::steady_clock::time_point when) {
    std::lock_guard guard(lock_);
    auto it = armed_.find(source);
    if (it == armed_.end()) {
      source->retain();
      armed_.emplace(source, Entry{when, generation});
    } else {
      it->second = Entry{when, generation};
    }
    wake_.notify_one();
  }
  void Disarm(IOTimerDispatchSource* source) {
    {
      std::lock_guard guard(lock_);
      if (armed_.erase(source) == 0) return;
    }
    source->release();
  }

 private:
  struct Entry {
    std::chrono::steady_clock::time_point when;
    uint64_t generation;
  };
  TimerThread() : thread_([this] { Run(); }) {}
  ~TimerThread() {
    {
      std::lock_guard guard(lock_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void Run() {
    std::unique_lock guard(lock_);
    while (!stop_) {
      if (armed_.empty()) {
        wake_.wait(guard);
        continue;
      }
      auto next = armed_.begin();
      for (auto it = armed_.begin(); it != armed_.end(); ++it) {
        if (it->second.when < next->second.when) next = it;
      }
      // A copy: the entry may be disarmed (erased) while the lock is released in the wait.
      const std::chrono::steady_clock::time_point when = next->second.when;
      if (std::chrono::steady_clock::now() < when) {
        wake_.wait_until(guard, when);
        continue;
      }
      IOTimerDispatchSource* source = next->first;
      const uint64_t generation = next->second.generation;
      armed_.erase(next);
      guard.unlock();
      source->EmulationFire(generation);
      source->release();
      guard.lock();
    }
  }

  std::mutex lock_;
  std::condition_variable wake_;
  std::map<IOTimerDispatchSource*, Entry> armed_;
  bool stop_ = false;
  std::thread thread_;
};

constexpr uint64_t kTimerOccurredTypeID = IORPCMethodID("IOTimerDispatchSource::TimerOccurred");

}  // namespace
}  // namespace fpgadext::emu

using fpgadext::emu::TimerState;
using fpgadext::emu::TimerThread;

OSDefineMetaClass(IOTimerDispatchSource, IODispatchSource);

kern_return_t IOTimerDispatchSource::Create(IODispatchQueue* queue,
                                            IOTimerDispatchSource** source) {
  if (queue == nullptr || source == nullptr) return kIOReturnBadArgument;
  auto* s = OSTypeAllocInitEmulated<IOTimerDispatchSource>();
  if (s == nullptr) return kIOReturnNoMemory;
  queue->retain();
  s->state_->queue = queue;
  *source = s;
  return kIOReturnSuccess;
}

bool IOTimerDispatchSource::init() {
  if (!IODispatchSource::init()) return false;
  state_ = new TimerState;
  return true;
}

kern_return_t IOTimerDispatchSource::SetHandler_Impl(OSAction* action) {
  if (action == nullptr || action->EmulationTypeID() != fpgadext::emu::kTimerOccurredTypeID) {
    return kIOReturnBadArgument;
  }
  std::lock_guard guard(state_->lock);
  if (state_->cancelled) return kIOReturnUnsupported;
  action->retain();
  if (state_->handler) state_->handler->release();
  state_->handler = action;
  return kIOReturnSuccess;
}

kern_return_t IOTimerDispatchSource::WakeAtTime_Impl(uint64_t options, uint64_t deadline,
                                                     uint64_t leeway) {
  (void)leeway;
  std::chrono::steady_clock::time_point when;
  if (!fpgadext::emu::DeadlineFromTimerClock(options, deadline, &when)) {
    return kIOReturnBadArgument;
  }
  uint64_t generation;
  {
    std::lock_guard guard(state_->lock);
    if (state_->cancelled) return kIOReturnUnsupported;
    generation = ++state_->generation;
    state_->armed = true;
    state_->firedWhileDisabled = false;  // the new deadline replaces one not yet delivered
  }
  TimerThread::Get().Arm(this, generation, when);
  return kIOReturnSuccess;
}

void IOTimerDispatchSource::EmulationFire(uint64_t generation) {
  {
    std::lock_guard guard(state_->lock);
    if (state_->cancelled || !state_->armed || generation != state_->generation) return;
    state_->armed = false;
    if (!state_->enabled) {
      state_->firedWhileDisabled = true;
      return;
    }
  }
  Deliver();
}

void IOTimerDispatchSource::Deliver() {
  // TimerOccurred's time is mach_absolute_time() when the timer fired.
  const uint64_t time = mach_absolute_time();
  OSAction* handler;
  {
    std::lock_guard guard(state_->lock);
    handler = state_->handler;
    if (handler == nullptr) return;  // fired with no handler: nothing to call
    handler->retain();
  }
  retain();
  handler->EmulationDeliver(state_->queue, [this, handler, time] {
    bool cancelled;
    {
      std::lock_guard guard(state_->lock);
      cancelled = state_->cancelled;
    }
    if (!cancelled) {
      handler->EmulationInvoke<void>(fpgadext::emu::kTimerOccurredTypeID, handler, time);
    }
    handler->release();
    release();
  });
}

kern_return_t IOTimerDispatchSource::SetEnableWithCompletion_Impl(
    bool enable, IODispatchSourceCancelHandler handler) {
  bool deliver = false;
  {
    std::lock_guard guard(state_->lock);
    if (state_->cancelled) return kIOReturnUnsupported;
    state_->enabled = enable;
    if (enable && state_->firedWhileDisabled) {
      state_->firedWhileDisabled = false;
      deliver = true;
    }
  }
  if (deliver) Deliver();
  fpgadext::emu::RunAfterQueued(state_->queue, handler);
  return kIOReturnSuccess;
}

kern_return_t IOTimerDispatchSource::Cancel_Impl(IODispatchSourceCancelHandler handler) {
  {
    std::lock_guard guard(state_->lock);
    if (state_->cancelled) return kIOReturnSuccess;
    state_->cancelled = true;
    state_->armed = false;
  }
  TimerThread::Get().Disarm(this);
  fpgadext::emu::RunAfterQueued(state_->queue, handler);  // after deliveries already queued
  return kIOReturnSuccess;
}

kern_return_t IOTimerDispatchSource::CheckForWork_Impl(bool synchronous) {
  (void)synchronous;
  return kIOReturnNotReady;
}

kern_return_t IOTimerDispatchSource::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOTimerDispatchSource*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("SetHandler"):
      return IORPCInvoke(rpc, &IOTimerDispatchSource::SetHandler_Impl,
                         [s](OSAction* a) { return s->IOTimerDispatchSource::SetHandler_Impl(a); });
    case IORPCMethodID("WakeAtTime"):
      return IORPCInvoke(rpc, &IOTimerDispatchSource::WakeAtTime_Impl,
                         [s](uint64_t o, uint64_t d, uint64_t l) {
                           return s->IOTimerDispatchSource::WakeAtTime_Impl(o, d, l);
                         });
    case IORPCMethodID("SetEnableWithCompletion"):
      return IORPCInvoke(rpc, &IOTimerDispatchSource::SetEnableWithCompletion_Impl,
                         [s](bool e, IODispatchSourceCancelHandler h) {
                           return s->IOTimerDispatchSource::SetEnableWithCompletion_Impl(e, h);
                         });
    case IORPCMethodID("Cancel"):
      return IORPCInvoke(rpc, &IOTimerDispatchSource::Cancel_Impl,
                         [s](IODispatchSourceCancelHandler h) {
                           return s->IOTimerDispatchSource::Cancel_Impl(h);
                         });
    default:
      return IODispatchSource::_Dispatch(self, rpc);
  }
}

void IOTimerDispatchSource::free() {
  if (state_ != nullptr) {
    OSSafeReleaseNULL(state_->handler);
    OSSafeReleaseNULL(state_->queue);
    delete state_;
    state_ = nullptr;
  }
  IODispatchSource::free();
}
