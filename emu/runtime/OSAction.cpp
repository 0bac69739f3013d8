#include <Block.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSAction.h>

OSDefineMetaClass(OSAction, OSObject);

kern_return_t OSAction::CreateInternal(OSObject* target, uint64_t typeID, void (*handler)(),
                                       size_t referenceSize, OSAction** action) {
  if (target == nullptr || action == nullptr) return kIOReturnBadArgument;
  auto* a = OSTypeAllocInit<OSAction>();
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

void* OSAction::GetReference() { return reference_; }

kern_return_t OSAction::Cancel(OSActionCancelHandler handler) {
  cancelled_ = true;
  if (handler) handler();
  return kIOReturnSuccess;
}

kern_return_t OSAction::SetAbortedHandler(OSActionAbortedHandler handler) {
  if (aborted_) Block_release(aborted_);
  aborted_ = handler ? Block_copy(handler) : static_cast<OSActionAbortedHandler>(nullptr);
  return kIOReturnSuccess;
}

void OSAction::free() {
  if (aborted_) Block_release(aborted_);
  if (reference_) IOFree(reference_, referenceSize_);
  OSSafeReleaseNULL(target_);
  OSObject::free();
}
