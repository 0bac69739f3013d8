// IOInterruptDispatchSource: MSI/MSI-X vectors of an IOPCIDevice delivered, coalesced, to a
// handler on a queue (xnu iokit/DriverKit/IOInterruptDispatchSource.iig; kernel half of the rules
// in xnu iokit/Kernel/IOUserServer.cpp).
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOLib.h>
#include <PCIDriverKit/IOPCIDevice.h>

#include <fpgadext/emu/host_cost.h>

#include <mutex>

#include "../kernel/user_server.h"
#include "dispatch_source_internal.h"

namespace fpgadext::emu {

// A source's vector: which function and vector it receives, and its deliveries' state.
struct InterruptLine {
  userserver::PciFunctionHandle function = nullptr;
  uint32_t vector = 0;
  IODispatchQueue* queue = nullptr;  // retained
  OSAction* handler = nullptr;       // retained
  std::mutex lock;
  bool enabled = false;
  bool cancelled = false;
  bool deliveryQueued = false;
  uint64_t pending = 0;
  uint64_t lastTime = 0;
};

}  // namespace fpgadext::emu

using fpgadext::emu::InterruptLine;
using fpgadext::emu::RunAfterQueued;
namespace userserver = fpgadext::emu::userserver;

OSDefineMetaClass(IOInterruptDispatchSource, IODispatchSource);

kern_return_t IOInterruptDispatchSource::Create(IOService* provider, uint32_t index,
                                                IODispatchQueue* queue,
                                                IOInterruptDispatchSource** source) {
  auto* pci = OSDynamicCast(IOPCIDevice, provider);
  if (pci == nullptr || queue == nullptr || source == nullptr || pci->EmulationSlot() == nullptr) {
    return kIOReturnBadArgument;
  }
  const uint32_t sourceIndex = index & kIOInterruptSourceIndexMask;
  // Index 0 is the legacy pin; for IOPCIDevices only message-signalled sources (1…) exist.
  if (sourceIndex == 0) return kIOReturnUnsupported;
  auto* s = OSTypeAllocInitEmulated<IOInterruptDispatchSource>();
  if (s == nullptr) return kIOReturnNoMemory;
  auto* line = new InterruptLine;
  line->function = pci->EmulationSlot();
  line->vector = sourceIndex - 1;
  queue->retain();
  line->queue = queue;
  s->line_ = line;
  IOReturn ret = userserver::BindInterrupt(line->function, line->vector, s);
  if (ret != kIOReturnSuccess) {
    s->release();
    return ret;
  }
  *source = s;
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::GetInterruptType(IOService* provider, uint32_t index,
                                                          uint64_t* interruptType) {
  auto* pci = OSDynamicCast(IOPCIDevice, provider);
  if (pci == nullptr || interruptType == nullptr || pci->EmulationSlot() == nullptr) {
    return kIOReturnBadArgument;
  }
  userserver::PciFunctionHandle function = pci->EmulationSlot();
  const uint32_t sourceIndex = index & kIOInterruptSourceIndexMask;
  if (sourceIndex == 0) {
    *interruptType = kIOInterruptDispatchSourceTypeLevel;
    return kIOReturnSuccess;
  }
  if (sourceIndex - 1 >= userserver::VectorCount(function)) return kIOReturnNoInterrupt;
  *interruptType = userserver::InterruptType(function);
  return kIOReturnSuccess;
}

bool IOInterruptDispatchSource::init() {
  return IODispatchSource::init();
}

kern_return_t IOInterruptDispatchSource::SetHandler_Impl(OSAction* action) {
  if (action == nullptr || action->EmulationTypeID() != kInterruptOccurredTypeID) {
    return kIOReturnBadArgument;
  }
  std::lock_guard guard(line_->lock);
  if (line_->cancelled) return kIOReturnUnsupported;
  action->retain();
  if (line_->handler) line_->handler->release();
  line_->handler = action;
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::SetEnableWithCompletion_Impl(
    bool enable, IODispatchSourceCancelHandler handler) {
  {
    std::lock_guard guard(line_->lock);
    // xnu: no change is success (even once cancelled); a change after Cancel is refused.
    if (enable != line_->enabled) {
      if (line_->cancelled) return kIOReturnUnsupported;
      line_->enabled = enable;
    }
  }
  RunAfterQueued(line_->queue, handler);
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::Cancel_Impl(IODispatchSourceCancelHandler handler) {
  {
    std::lock_guard guard(line_->lock);
    if (line_->cancelled) return kIOReturnSuccess;
    line_->cancelled = true;
    line_->enabled = false;
  }
  userserver::UnbindInterrupt(line_->function, line_->vector, this);
  RunAfterQueued(line_->queue, handler);  // after every delivery already queued
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::GetLastInterrupt_Impl(uint64_t* count, uint64_t* time) {
  std::lock_guard guard(line_->lock);
  if (count != nullptr) *count = line_->pending;
  if (time != nullptr) *time = line_->lastTime;
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::CheckForWork_Impl(bool synchronous) {
  // Delivers what is pending in the caller's thread; waiting for an interrupt is not emulated.
  if (synchronous) return kIOReturnUnsupported;
  {
    std::lock_guard guard(line_->lock);
    if (line_->cancelled || line_->pending == 0 || line_->handler == nullptr) {
      return kIOReturnNotReady;
    }
  }
  Deliver();
  return kIOReturnSuccess;
}

void IOInterruptDispatchSource::Deliver() {
  uint64_t count, when;
  OSAction* handler;
  {
    std::lock_guard guard(line_->lock);
    count = line_->pending;
    when = line_->lastTime;
    line_->pending = 0;
    line_->deliveryQueued = false;
    handler = line_->cancelled ? nullptr : line_->handler;
    if (handler == nullptr || count == 0) return;
    handler->retain();
  }
  // A Mac's delivery of the interrupt to the dext's queue (docs/performance.md).
  fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kInterruptToDext);
  handler->EmulationInvoke<void>(kInterruptOccurredTypeID, handler, count, when);
  handler->release();
}

void IOInterruptDispatchSource::EmulationSignal(uint64_t time) {
  OSAction* handler;
  {
    std::lock_guard guard(line_->lock);
    if (!line_->enabled || line_->cancelled || line_->handler == nullptr) return;  // lost
    ++line_->pending;
    line_->lastTime = time;
    if (line_->deliveryQueued) return;  // coalesced into the delivery already on its way
    line_->deliveryQueued = true;
    handler = line_->handler;
    handler->retain();
  }
  retain();
  // Routed through the action so that a Wait on it can take the delivery.
  handler->EmulationDeliver(line_->queue, [this, handler] {
    Deliver();
    handler->release();
    release();
  });
}

kern_return_t IOInterruptDispatchSource::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOInterruptDispatchSource*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("SetHandler"):
      return IORPCInvoke(rpc, &IOInterruptDispatchSource::SetHandler_Impl, [s](OSAction* a) {
        return s->IOInterruptDispatchSource::SetHandler_Impl(a);
      });
    case IORPCMethodID("GetLastInterrupt"):
      return IORPCInvoke(rpc, &IOInterruptDispatchSource::GetLastInterrupt_Impl,
                         [s](uint64_t* c, uint64_t* t) {
                           return s->IOInterruptDispatchSource::GetLastInterrupt_Impl(c, t);
                         });
    case IORPCMethodID("SetEnableWithCompletion"):
      return IORPCInvoke(rpc, &IOInterruptDispatchSource::SetEnableWithCompletion_Impl,
                         [s](bool e, IODispatchSourceCancelHandler h) {
                           return s->IOInterruptDispatchSource::SetEnableWithCompletion_Impl(e, h);
                         });
    case IORPCMethodID("Cancel"):
      return IORPCInvoke(rpc, &IOInterruptDispatchSource::Cancel_Impl,
                         [s](IODispatchSourceCancelHandler h) {
                           return s->IOInterruptDispatchSource::Cancel_Impl(h);
                         });
    default:
      return IODispatchSource::_Dispatch(self, rpc);
  }
}

void IOInterruptDispatchSource::free() {
  if (line_ != nullptr) {
    userserver::UnbindInterrupt(line_->function, line_->vector, this);
    OSSafeReleaseNULL(line_->handler);
    OSSafeReleaseNULL(line_->queue);
    delete line_;
    line_ = nullptr;
  }
  IODispatchSource::free();
}
