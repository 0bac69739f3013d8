// OSAction: creation, cancellation and the wait primitives (WillWait/Wait/EndWait).
#include <Block.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSAction.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "dispatch_time.h"
#include "serial_queue.h"

struct OSActionWaitToken {
  OSAction* action = nullptr;
  uint64_t completed = 0;  // invocations completed since WillWait and not yet waited for
};

namespace fpgadext::emu {

// An invocation on its way to a queue; it runs once, on the queue or in a waiting thread.
struct ActionDelivery {
  std::function<void()> invoke;
  SerialQueue* queue = nullptr;
  std::atomic<bool> claimed{false};
};

struct ActionState {
  std::mutex lock;
  std::condition_variable wake;
  OSActionWaitToken* token = nullptr;
  SerialQueue* waiterQueue = nullptr;  // the queue a thread blocked in Wait holds
  bool waiting = false;
  std::deque<std::shared_ptr<ActionDelivery>> deliveries;
  uint32_t inFlight = 0;
  bool cancelled = false;
  bool aborted = false;
  OSActionCancelHandler cancelHandler = nullptr;  // runs when the last invocation returns
  OSActionAbortedHandler abortedHandler = nullptr;

  // Claims `d` for the caller; false if another thread ran it already.
  bool Claim(const std::shared_ptr<ActionDelivery>& d) {
    if (d->claimed.exchange(true)) return false;
    std::lock_guard guard(lock);
    for (auto it = deliveries.begin(); it != deliveries.end(); ++it) {
      if (*it == d) {
        deliveries.erase(it);
        break;
      }
    }
    return true;
  }
};

}  // namespace fpgadext::emu

using fpgadext::emu::ActionDelivery;
using fpgadext::emu::ActionState;
using fpgadext::emu::SerialQueue;

OSDefineMetaClass(OSAction, OSObject);

OSAction::OSAction() : state_(new ActionState) {}

OSAction::~OSAction() {
  delete state_;
}

kern_return_t OSAction::CreateInternal(OSObject* target, uint64_t typeID, void (*handler)(),
                                       size_t referenceSize, OSAction** action) {
  if (target == nullptr || action == nullptr) return kIOReturnBadArgument;
  auto* a = OSTypeAllocInitEmulated<OSAction>();
  if (a == nullptr) return kIOReturnNoMemory;
  if (referenceSize != 0) {
    a->reference_ = IOMallocZero(referenceSize);
    if (a->reference_ == nullptr) {
      a->release();
      return kIOReturnNoMemory;
    }
    a->referenceSize_ = referenceSize;
  }
  target->retain();
  a->target_ = target;
  a->typeID_ = typeID;
  a->handler_ = handler;
  *action = a;
  return kIOReturnSuccess;
}

kern_return_t OSAction::Create(OSObject* target, uint64_t targetmsgid, uint64_t msgid,
                               size_t referenceSize, OSAction** action) {
  (void)targetmsgid;
  return CreateInternal(target, msgid, nullptr, referenceSize, action);
}

kern_return_t OSAction::CreateWithTypeName(OSObject* target, uint64_t targetmsgid, uint64_t msgid,
                                           size_t referenceSize, OSString* typeName,
                                           OSAction** action) {
  (void)typeName;
  return Create(target, targetmsgid, msgid, referenceSize, action);
}

void* OSAction::GetReference() {
  return reference_;
}

kern_return_t OSAction::EmulationBeginInvoke(uint64_t typeID) {
  std::lock_guard guard(state_->lock);
  if (typeID_ != typeID || handler_ == nullptr) return kIOReturnBadArgument;
  if (state_->cancelled) return kIOReturnAborted;
  ++state_->inFlight;
  return kIOReturnSuccess;
}

void OSAction::EmulationEndInvoke() {
  OSActionCancelHandler cancelHandler = nullptr;
  {
    std::lock_guard guard(state_->lock);
    --state_->inFlight;
    if (state_->token != nullptr) ++state_->token->completed;
    if (state_->inFlight == 0 && state_->cancelHandler != nullptr) {
      cancelHandler = state_->cancelHandler;
      state_->cancelHandler = nullptr;
    }
    state_->wake.notify_all();
  }
  if (cancelHandler != nullptr) {
    cancelHandler();
    Block_release(cancelHandler);
  }
}

void OSAction::EmulationDeliver(IODispatchQueue* queue, std::function<void()> invoke) {
  auto delivery = std::make_shared<ActionDelivery>();
  delivery->invoke = std::move(invoke);
  delivery->queue = queue->EmulationSerialQueue();
  {
    std::lock_guard guard(state_->lock);
    state_->deliveries.push_back(delivery);
    if (state_->waiting && state_->waiterQueue == delivery->queue) state_->wake.notify_all();
  }
  retain();
  queue->EmulationAsync([this, delivery] {
    if (state_->Claim(delivery)) delivery->invoke();
    release();
  });
}

kern_return_t OSAction::Cancel(OSActionCancelHandler handler) {
  bool runNow;
  {
    std::lock_guard guard(state_->lock);
    state_->cancelled = true;
    state_->wake.notify_all();
    runNow = state_->inFlight == 0;
    if (!runNow && handler != nullptr) {
      if (state_->cancelHandler != nullptr) Block_release(state_->cancelHandler);
      state_->cancelHandler = Block_copy(handler);
    }
  }
  if (runNow && handler != nullptr) handler();
  return kIOReturnSuccess;
}

kern_return_t OSAction::SetAbortedHandler(OSActionAbortedHandler handler) {
  std::lock_guard guard(state_->lock);
  if (state_->abortedHandler) Block_release(state_->abortedHandler);
  state_->abortedHandler = nullptr;
  if (handler != nullptr) state_->abortedHandler = Block_copy(handler);
  return kIOReturnSuccess;
}

void OSAction::Aborted(OSDispatchMethod supermethod) {
  (void)supermethod;
  OSActionAbortedHandler handler;
  {
    std::lock_guard guard(state_->lock);
    state_->aborted = true;
    state_->wake.notify_all();
    handler = nullptr;
    if (state_->abortedHandler != nullptr) handler = Block_copy(state_->abortedHandler);
  }
  if (handler != nullptr) {
    handler();
    Block_release(handler);
  }
}

kern_return_t OSAction::WillWait(OSActionWaitToken** token) {
  if (token == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(state_->lock);
  if (state_->token != nullptr) return kIOReturnBusy;
  state_->token = new OSActionWaitToken;
  state_->token->action = this;
  *token = state_->token;
  return kIOReturnSuccess;
}

kern_return_t OSAction::EndWait(OSActionWaitToken* token) {
  std::lock_guard guard(state_->lock);
  if (token == nullptr || token != state_->token || state_->waiting) return kIOReturnBadArgument;
  delete state_->token;
  state_->token = nullptr;
  return kIOReturnSuccess;
}

kern_return_t OSAction::Wait(OSActionWaitToken* token, uint64_t options, uint64_t deadline) {
  std::chrono::steady_clock::time_point until{};
  const bool timed = options != 0 && deadline != 0;
  if (timed && !fpgadext::emu::DeadlineFromTimerClock(options, deadline, &until)) {
    return kIOReturnBadArgument;
  }
  SerialQueue* mine = SerialQueue::Current();
  std::unique_lock guard(state_->lock);
  if (token == nullptr || token != state_->token || state_->waiting) return kIOReturnBadArgument;
  state_->waiting = true;
  state_->waiterQueue = mine;
  kern_return_t ret = kIOReturnSuccess;
  for (;;) {
    if (token->completed != 0) {
      --token->completed;
      ret = kIOReturnSuccess;
      break;
    }
    if (state_->cancelled || state_->aborted) {
      ret = kIOReturnAborted;
      break;
    }
    // An invocation due on the queue this thread holds can only run here.
    std::shared_ptr<ActionDelivery> local;
    if (mine != nullptr) {
      for (auto& d : state_->deliveries) {
        if (d->queue == mine && !d->claimed.load()) {
          local = d;
          break;
        }
      }
    }
    if (local != nullptr) {
      guard.unlock();
      if (state_->Claim(local)) local->invoke();
      guard.lock();
      continue;
    }
    if (!timed) {
      state_->wake.wait(guard);
    } else if (state_->wake.wait_until(guard, until) == std::cv_status::timeout &&
               token->completed == 0) {
      ret = kIOReturnTimeout;
      break;
    }
  }
  state_->waiting = false;
  state_->waiterQueue = nullptr;
  return ret;
}

void OSAction::free() {
  {
    std::lock_guard guard(state_->lock);
    if (state_->abortedHandler) Block_release(state_->abortedHandler);
    state_->abortedHandler = nullptr;
    if (state_->cancelHandler) Block_release(state_->cancelHandler);
    state_->cancelHandler = nullptr;
    delete state_->token;
    state_->token = nullptr;
  }
  if (reference_) IOFree(reference_, referenceSize_);
  reference_ = nullptr;
  OSSafeReleaseNULL(target_);
  OSObject::free();
}
