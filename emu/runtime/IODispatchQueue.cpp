#include <Block.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOTimerDispatchSource.h>
#include <os/log.h>

#include <memory>

#include "dispatch_time.h"
#include "serial_queue.h"

OSDefineMetaClass(IODispatchQueue, OSObject);

namespace {

// Holds a reference to the queue and the block for as long as a queued work item exists (it may
// be dropped without running, once the queue is cancelled).
struct Pending {
  IODispatchQueue* queue;
  IODispatchBlock block;
  Pending(IODispatchQueue* q, IODispatchBlock b) : queue(q), block(nullptr) {
    if (b != nullptr) block = Block_copy(b);
    queue->retain();
  }
  ~Pending() {
    if (block) Block_release(block);
    queue->release();
  }
};

}  // namespace

kern_return_t IODispatchQueue::Create(const IODispatchQueueName name, uint64_t options,
                                      uint64_t priority, IODispatchQueue** queue) {
  (void)priority;
  // xnu's IODispatchQueue::Create_Impl (IOUserServer.cpp) accepts any options.
  if (queue == nullptr || name == nullptr) return kIOReturnBadArgument;
  auto* q = OSTypeAllocInitEmulated<IODispatchQueue>();
  if (q == nullptr) return kIOReturnNoMemory;
  q->queue_ = new fpgadext::emu::SerialQueue(name);
  q->options_ = options;
  *queue = q;
  return kIOReturnSuccess;
}

bool IODispatchQueue::init() {
  return OSObject::init();
}

bool IODispatchQueue::OnQueue() {
  return queue_ != nullptr && queue_->OnQueue();
}

const char* IODispatchQueue::GetName() {
  return EmulationName();
}

kern_return_t IODispatchQueue::Cancel(IODispatchQueueCancelHandler handler) {
  if (queue_ == nullptr) return kIOReturnNotReady;
  IODispatchQueueCancelHandler copy =
      handler ? Block_copy(handler) : static_cast<IODispatchQueueCancelHandler>(nullptr);
  queue_->Cancel([copy] {
    if (copy) {
      copy();
      Block_release(copy);
    }
  });
  return kIOReturnSuccess;
}

void IODispatchQueue::DispatchAsync(IODispatchBlock block) {
  // The queue is retained until the block completes.
  auto pending = std::make_shared<Pending>(this, block);
  EmulationAsync([pending] { pending->block(); });
}

void IODispatchQueue::DispatchAsync_f(void* context, IODispatchFunction function) {
  auto pending = std::make_shared<Pending>(this, nullptr);
  EmulationAsync([pending, context, function] { function(context); });
}

void IODispatchQueue::DispatchConcurrent(IODispatchBlock block) {
  if (!(options_ & kIODispatchQueueReentrant)) {
    os_log_fault(OS_LOG_DEFAULT,
                 "IODispatchQueue::DispatchConcurrent on %s, not created kIODispatchQueueReentrant",
                 EmulationName());
  }
  DispatchAsync(block);
}

void IODispatchQueue::DispatchConcurrent_f(void* context, IODispatchFunction function) {
  DispatchConcurrent(^{
    function(context);
  });
}

void IODispatchQueue::DispatchSync(IODispatchBlock block) {
  if (EmulationSync([block] { block(); }) != kIOReturnSuccess) {
    os_log_fault(OS_LOG_DEFAULT, "IODispatchQueue::DispatchSync on its own queue %s (deadlock)",
                 EmulationName());
  }
}

void IODispatchQueue::DispatchSync_f(void* context, IODispatchFunction function) {
  if (EmulationSync([context, function] { function(context); }) != kIOReturnSuccess) {
    os_log_fault(OS_LOG_DEFAULT, "IODispatchQueue::DispatchSync_f on its own queue %s (deadlock)",
                 EmulationName());
  }
}

void IODispatchQueue::Log(const char* message, IODispatchLogFunction output) {
  if (output == nullptr) return;
  fpgadext::emu::SerialQueue* current = fpgadext::emu::SerialQueue::Current();
  output("%s: %s\n", message ? message : "",
         current ? current->name().c_str() : "(not on a dispatch queue)");
}

kern_return_t IODispatchQueue::RunAction(IODispatchAction action) {
  kern_return_t result = kIOReturnNotReady;
  if (EmulationSync([&result, action] { result = action(); }) != kIOReturnSuccess) {
    os_log_fault(OS_LOG_DEFAULT, "IODispatchQueue::RunAction on its own queue %s (deadlock)",
                 EmulationName());
  }
  return result;
}

kern_return_t IODispatchQueue::SleepWithDeadline(void* event, uint64_t options, uint64_t deadline) {
  if (queue_ == nullptr) return kIOReturnNotReady;
  std::chrono::steady_clock::time_point until;
  const uint64_t clock = options & ~uint64_t{kIODispatchQueueSleepReuseEvent};
  const bool timed = clock != 0;  // "zero for no timeout"
  if (timed && !fpgadext::emu::DeadlineFromTimerClock(clock, deadline, &until)) {
    return kIOReturnBadArgument;
  }
  switch (queue_->Sleep(event, timed ? &until : nullptr)) {
    case fpgadext::emu::SerialQueue::SleepResult::kWoken:
      return kIOReturnSuccess;
    case fpgadext::emu::SerialQueue::SleepResult::kTimedOut:
      return kIOReturnTimeout;
    case fpgadext::emu::SerialQueue::SleepResult::kNotOnQueue:
      break;
  }
  os_log_fault(OS_LOG_DEFAULT, "IODispatchQueue::Sleep off the queue %s", EmulationName());
  return kIOReturnNotPermitted;
}

kern_return_t IODispatchQueue::SleepWithTimeout(void* event, uint64_t timeout) {
  // Apple does not say the unit: taken as mach_absolute_time() ticks, 0 for no timeout.
  if (timeout == 0) return SleepWithDeadline(event, 0, 0);
  return SleepWithDeadline(event, kIOTimerClockMachAbsoluteTime, mach_absolute_time() + timeout);
}

kern_return_t IODispatchQueue::Sleep(void* event, uint64_t timeout) {
  return SleepWithTimeout(event, timeout);
}

kern_return_t IODispatchQueue::Wakeup(void* event) {
  return WakeupWithOptions(event, 0);
}

kern_return_t IODispatchQueue::WakeupWithOptions(void* event, uint64_t options) {
  if (queue_ == nullptr) return kIOReturnNotReady;
  queue_->Wakeup(event, (options & kIODispatchQueueWakeupAll) != 0);
  return kIOReturnSuccess;
}

void IODispatchQueue::EmulationAsync(std::function<void()> work) {
  if (queue_ == nullptr || !queue_->Async(std::move(work))) {
    os_log_error(OS_LOG_DEFAULT, "IODispatchQueue %s: work dropped, queue cancelled",
                 EmulationName());
  }
}

kern_return_t IODispatchQueue::EmulationSync(const std::function<void()>& work) {
  if (queue_ == nullptr) return kIOReturnNotReady;
  return queue_->Sync(work) ? kIOReturnSuccess : kIOReturnBadArgument;
}

const char* IODispatchQueue::EmulationName() const {
  return queue_ ? queue_->name().c_str() : "(none)";
}

void IODispatchQueue::free() {
  fpgadext::emu::SerialQueue::Destroy(queue_);  // drains what is queued
  queue_ = nullptr;
  OSObject::free();
}
