// OSAction (xnu iokit/DriverKit/OSAction.iig; Apple's generated OSAction.h, iig 16.4): a callback
// bound to a target object and one of its TYPE(...) methods, with a zeroed reference area of the
// size asked at creation. Interrupt, timer and data-queue sources and async user-client
// completions are all delivered through one.
//
// The emulation delivers an action by calling, on a dispatch queue, a function the generated
// CreateAction<Method> hands over (CreateWithHandler). WillWait/Wait/EndWait are real: a waiter
// blocks until an invocation of the action has completed; an invocation due on the queue the
// waiter itself holds runs in the waiting thread (the queue is held by it anyway).
#pragma once

#include <DriverKit/OSObject.h>

#include <functional>

typedef void (^OSActionCancelHandler)(void);
typedef void (^OSActionAbortedHandler)(void);

struct OSActionWaitToken;
class OSString;

namespace fpgadext::emu {
struct ActionState;
}

class OSAction : public OSObject {
  OSDeclareEmulatedClass(OSAction)

 public:
  OSAction();

  // Apple's generated CreateAction<Method> calls these with iig message ids. The emulation has no
  // message ids to dispatch on, so an action made here can be waited for and cancelled, but an
  // invocation of it calls no method (see docs: OSAction).
  static kern_return_t Create(OSObject* target, uint64_t targetmsgid, uint64_t msgid,
                              size_t referenceSize, OSAction** action);
  static kern_return_t CreateWithTypeName(OSObject* target, uint64_t targetmsgid, uint64_t msgid,
                                          size_t referenceSize, OSString* typeName,
                                          OSAction** action);

  void free() override;

  // The zeroed reference area (referenceSize bytes), or NULL if referenceSize was 0.
  void* GetReference();
  // No invocation runs after this; `handler` runs once no invocation is running (at once, or
  // when the running one returns). A waiter returns kIOReturnAborted.
  kern_return_t Cancel(OSActionCancelHandler handler);
  kern_return_t SetAbortedHandler(OSActionAbortedHandler handler);

  // One waiter per action: a second WillWait before EndWait fails with kIOReturnBusy.
  kern_return_t WillWait(OSActionWaitToken** token);
  kern_return_t EndWait(OSActionWaitToken* token);
  // Blocks until an invocation that started after WillWait has completed (each completed
  // invocation satisfies one Wait), the action is cancelled or aborted (kIOReturnAborted), or
  // `deadline` in the kIOTimerClock* timebase `options` has passed (kIOReturnTimeout).
  // options == 0 or deadline == 0: no timeout.
  kern_return_t Wait(OSActionWaitToken* token, uint64_t options, uint64_t deadline);

  // Runs the aborted handler (on a Mac: when no other process references the action any more).
  void Aborted(OSDispatchMethod supermethod = nullptr);

  // Emulation (called by the code emu/iig/iig.py generates for TYPE methods): an action whose
  // invocation calls `handler(target, args...)`. `typeID` is IORPCMethodID("<Class>::<Method>")
  // of the method's TYPE(...).
  template <class R, class... P>
  static kern_return_t CreateWithHandler(OSObject* target, uint64_t typeID,
                                         R (*handler)(OSObject*, P...), size_t referenceSize,
                                         OSAction** action) {
    return CreateInternal(target, typeID, reinterpret_cast<void (*)()>(handler), referenceSize,
                          action);
  }

  // Emulation only: calls the handler in this thread if the action is of type `typeID` and not
  // cancelled, then wakes a waiter. kIOReturnBadArgument for another type, kIOReturnAborted
  // once cancelled.
  template <class R, class... P>
  kern_return_t EmulationInvoke(uint64_t typeID, P... args) {
    kern_return_t ret = EmulationBeginInvoke(typeID);
    if (ret != kIOReturnSuccess) return ret;
    reinterpret_cast<R (*)(OSObject*, P...)>(handler_)(target_, args...);
    EmulationEndInvoke();
    return kIOReturnSuccess;
  }
  // Emulation only: runs `invoke` (which calls EmulationInvoke) on `queue`, or in the thread of a
  // Wait on this action that holds `queue`, whichever comes first.
  void EmulationDeliver(IODispatchQueue* queue, std::function<void()> invoke);
  uint64_t EmulationTypeID() const { return typeID_; }
  OSObject* EmulationTarget() const { return target_; }

 protected:
  ~OSAction() override;

  // Set by the runtime's own OSAction subclasses (the kernel's async completion action).
  OSObject* target_ = nullptr;
  uint64_t typeID_ = 0;

 private:
  static kern_return_t CreateInternal(OSObject* target, uint64_t typeID, void (*handler)(),
                                      size_t referenceSize, OSAction** action);
  // Emulation only: starts / ends one invocation (counts it, checks type and cancellation).
  kern_return_t EmulationBeginInvoke(uint64_t typeID);
  void EmulationEndInvoke();

  void (*handler_)() = nullptr;
  void* reference_ = nullptr;
  size_t referenceSize_ = 0;
  fpgadext::emu::ActionState* state_ = nullptr;
};
