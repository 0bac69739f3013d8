// OSAction (iokit/DriverKit/OSAction.iig): a callback bound to a target object and a method of a
// given TYPE, with a zeroed reference area of the size asked at creation. Interrupt sources,
// timers and async user-client completions are all delivered through one.
#pragma once

#include <DriverKit/OSObject.h>

typedef void (^OSActionCancelHandler)(void);
typedef void (^OSActionAbortedHandler)(void);

class OSAction : public OSObject {
  OSDeclareEmulatedClass(OSAction)

 public:
  // What the generated CreateAction<Method> calls: `handler` calls target->Method_Impl(args...).
  // `typeID` is IORPCMethodID("<Class>::<Method>") of the method's TYPE(...).
  template <class R, class... P>
  static kern_return_t CreateWithHandler(OSObject* target, uint64_t typeID,
                                         R (*handler)(OSObject*, P...), size_t referenceSize,
                                         OSAction** action) {
    return CreateInternal(target, typeID, reinterpret_cast<void (*)()>(handler), referenceSize,
                          action);
  }

  // The zeroed reference area (referenceSize bytes), or nullptr if referenceSize was 0.
  void* GetReference();
  kern_return_t Cancel(OSActionCancelHandler handler);
  kern_return_t SetAbortedHandler(OSActionAbortedHandler handler);

  // Emulation only: calls the handler if the action is of type `typeID` and not cancelled.
  template <class R, class... P>
  kern_return_t EmulationInvoke(uint64_t typeID, P... args) {
    if (typeID_ != typeID || cancelled_ || handler_ == nullptr) return kIOReturnBadArgument;
    reinterpret_cast<R (*)(OSObject*, P...)>(handler_)(target_, args...);
    return kIOReturnSuccess;
  }
  uint64_t EmulationTypeID() const { return typeID_; }
  OSObject* EmulationTarget() const { return target_; }

  void free() override;

 protected:
  static kern_return_t CreateInternal(OSObject* target, uint64_t typeID, void (*handler)(),
                                      size_t referenceSize, OSAction** action);
  OSObject* target_ = nullptr;
  uint64_t typeID_ = 0;
  void (*handler_)() = nullptr;
  void* reference_ = nullptr;
  size_t referenceSize_ = 0;
  std::atomic<bool> cancelled_{false};
  OSActionAbortedHandler aborted_ = nullptr;
};
