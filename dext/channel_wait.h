// The channel pool's wait seam (engine::ChannelWaitSeam) on DriverKit: a transfer waiting for a
// channel sleeps instead of spinning (docs/engine.md "Scheduling").
//
// DriverKit has no condition variable in IOLib.h (IOLockSleep/IOLockWakeup are kernel IOKit,
// xnu iokit/IOKit/IOLocks.h; the dext SDK's IOLib.h has only the locks). Its blocking wait is
// IODispatchQueue::SleepWithDeadline / WakeupWithOptions (xnu iokit/DriverKit/IODispatchQueue.iig):
// a block running on a queue created kIODispatchQueueReentrant sleeps on an event and gives the
// queue up meanwhile; a block on the same queue wakes it. So the seam owns one such queue: a
// waiter runs a block on it that checks the pool's event word and sleeps on it; a wake runs a
// block that wakes every sleeper. The word is checked on the queue, and the wake runs there
// after the word changed, so a change between the check and the sleep cannot be missed.
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOTimerDispatchSource.h>
#include <fpgadext/engine/channel_pool.h>
#include <stdint.h>

#include <atomic>

namespace fpgadext::dext {

// The queue the seam sleeps on; release it after the pool is gone.
[[nodiscard]] inline kern_return_t CreateChannelWaitQueue(IODispatchQueue** queue) {
  return IODispatchQueue::Create("fpgadext.channels", kIODispatchQueueReentrant, 0, queue);
}

namespace channel_wait_detail {

// Platform::nowNs time (mach_absolute_time in ns) back to mach_absolute_time ticks, saturating.
inline uint64_t TicksFromNs(uint64_t ns) {
  mach_timebase_info_data_t timebase{};
  mach_timebase_info(&timebase);
  if (timebase.numer == 0 || timebase.denom == 0) return ns;
  const unsigned __int128 ticks =
      static_cast<unsigned __int128>(ns) * timebase.denom / timebase.numer;
  return ticks > ~uint64_t{0} ? ~uint64_t{0} : static_cast<uint64_t>(ticks);
}

inline void Wait(void* context, const std::atomic<uint32_t>* word, uint32_t seen,
                 uint64_t deadlineNs) {
  IODispatchQueue* queue = static_cast<IODispatchQueue*>(context);
  const uint64_t deadline = TicksFromNs(deadlineNs);
  void* event = const_cast<std::atomic<uint32_t>*>(word);
  queue->DispatchSync(^{
    while (word->load(std::memory_order_acquire) == seen && mach_absolute_time() < deadline) {
      // Woken, timed out, or refused: the caller looks at the pool again either way (a refusal
      // would make it poll, never hang).
      if (queue->SleepWithDeadline(event, kIOTimerClockMachAbsoluteTime, deadline) !=
          kIOReturnSuccess) {
        break;
      }
    }
  });
}

inline void Wake(void* context, const std::atomic<uint32_t>* word) {
  IODispatchQueue* queue = static_cast<IODispatchQueue*>(context);
  void* event = const_cast<std::atomic<uint32_t>*>(word);
  queue->DispatchSync(^{
    queue->WakeupWithOptions(event, kIODispatchQueueWakeupAll);
  });
}

}  // namespace channel_wait_detail

// The seam for ChannelPool::SetWaitSeam, sleeping on `queue` (from CreateChannelWaitQueue).
inline engine::ChannelWaitSeam ChannelWaitSeamOn(IODispatchQueue* queue) {
  engine::ChannelWaitSeam seam;
  seam.context = queue;
  seam.wait = channel_wait_detail::Wait;
  seam.wake = channel_wait_detail::Wake;
  return seam;
}

}  // namespace fpgadext::dext
