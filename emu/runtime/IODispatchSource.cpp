// IODispatchSource, the base of the sources, and IOServiceNotificationDispatchSource, which the
// emulation does not provide (Create fails with kIOReturnUnsupported).
#include <Block.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IODispatchSource.h>
#include <DriverKit/IOServiceNotificationDispatchSource.h>

#include "dispatch_source_internal.h"

void fpgadext::emu::RunAfterQueued(IODispatchQueue* queue, IODispatchSourceCancelHandler handler) {
  if (handler == nullptr) return;
  IODispatchSourceCancelHandler copy = Block_copy(handler);
  queue->EmulationAsync([copy] {
    copy();
    Block_release(copy);
  });
}

OSDefineAbstractMetaClass(IODispatchSource, OSObject);

bool IODispatchSource::init() {
  return OSObject::init();
}

void IODispatchSource::free() {
  OSObject::free();
}

// xnu IOUserServer.cpp: IODispatchSource::SetEnable_Impl.
kern_return_t IODispatchSource::SetEnable_Impl(bool enable) {
  return SetEnableWithCompletion(enable, nullptr);
}

kern_return_t IODispatchSource::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IODispatchSource*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("SetEnable"):
      return IORPCInvoke(rpc, &IODispatchSource::SetEnable_Impl,
                         [s](bool enable) { return s->IODispatchSource::SetEnable_Impl(enable); });
    case IORPCMethodID("Cancel"):
    case IORPCMethodID("SetEnableWithCompletion"):
    case IORPCMethodID("CheckForWork"):
      return kIOReturnUnsupported;  // pure virtual here
    default:
      return OSObject::_Dispatch(self, rpc);
  }
}

// ---- IOServiceNotificationDispatchSource ----

OSDefineAbstractMetaClass(IOServiceNotificationDispatchSource, IODispatchSource);

kern_return_t IOServiceNotificationDispatchSource::Create(
    OSDictionary* matching, uint64_t options, IODispatchQueue* queue,
    IOServiceNotificationDispatchSource** notification) {
  (void)matching, (void)options, (void)queue;
  if (notification != nullptr) *notification = nullptr;
  return kIOReturnUnsupported;
}

bool IOServiceNotificationDispatchSource::init() {
  return IODispatchSource::init();
}

void IOServiceNotificationDispatchSource::free() {
  IODispatchSource::free();
}

kern_return_t IOServiceNotificationDispatchSource::SetHandler_Impl(OSAction* action) {
  (void)action;
  return kIOReturnUnsupported;
}

kern_return_t IOServiceNotificationDispatchSource::DeliverNotifications(
    IOServiceNotificationBlock block) {
  (void)block;
  return kIOReturnUnsupported;
}

kern_return_t IOServiceNotificationDispatchSource::SetEnableWithCompletion_Impl(
    bool enable, IODispatchSourceCancelHandler handler) {
  (void)enable, (void)handler;
  return kIOReturnUnsupported;
}

kern_return_t IOServiceNotificationDispatchSource::Cancel_Impl(
    IODispatchSourceCancelHandler handler) {
  (void)handler;
  return kIOReturnUnsupported;
}

kern_return_t IOServiceNotificationDispatchSource::CheckForWork_Impl(bool synchronous) {
  (void)synchronous;
  return kIOReturnUnsupported;
}

kern_return_t IOServiceNotificationDispatchSource::_Dispatch(OSObject* self, const IORPC rpc) {
  return IODispatchSource::_Dispatch(self, rpc);
}
