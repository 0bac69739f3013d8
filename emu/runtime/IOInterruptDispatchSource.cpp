// IOInterruptDispatchSource: MSI/MSI-X vectors of an IOPCIDevice delivered, coalesced, to a
// handler on a queue (driverkit-semantics.md §5.2).
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOLib.h>
#include <PCIDriverKit/IOPCIDevice.h>

#include <Block.h>

#include "../kernel/kernel.h"

using fpgadext::emu::InterruptLine;

OSDefineMetaClass(IOInterruptDispatchSource, OSObject);

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
  auto* s = OSTypeAllocInit<IOInterruptDispatchSource>();
  if (s == nullptr) return kIOReturnNoMemory;
  auto* line = new InterruptLine;
  line->slot = pci->EmulationSlot();
  line->vector = sourceIndex - 1;
  line->source = s;
  queue->retain();
  line->queue = queue;
  s->line_ = line;
  IOReturn ret = line->slot->BindLine(line);
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
  fpgadext::emu::PciSlot* slot = pci->EmulationSlot();
  const uint32_t sourceIndex = index & kIOInterruptSourceIndexMask;
  if (sourceIndex == 0) {
    *interruptType = kIOInterruptTypeLevel;
    return kIOReturnSuccess;
  }
  if (sourceIndex - 1 >= slot->vectorCount()) return kIOReturnNoInterrupt;
  *interruptType = slot->interruptType();
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::SetHandler(OSAction* action) {
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

kern_return_t IOInterruptDispatchSource::SetEnable(bool enable) {
  std::lock_guard guard(line_->lock);
  if (line_->cancelled) return kIOReturnUnsupported;
  line_->enabled = enable;
  return kIOReturnSuccess;
}

kern_return_t IOInterruptDispatchSource::Cancel(IODispatchQueueCancelHandler handler) {
  {
    std::lock_guard guard(line_->lock);
    if (line_->cancelled) return kIOReturnSuccess;
    line_->cancelled = true;
    line_->enabled = false;
  }
  line_->slot->UnbindLine(line_);
  if (handler != nullptr) {
    // After every delivery already queued.
    IODispatchQueueCancelHandler copy = Block_copy(handler);
    line_->queue->EmulationAsync([copy] {
      copy();
      Block_release(copy);
    });
  }
  return kIOReturnSuccess;
}

void IOInterruptDispatchSource::EmulationSignal(uint64_t time) {
  {
    std::lock_guard guard(line_->lock);
    if (!line_->enabled || line_->cancelled || line_->handler == nullptr) return;  // lost
    ++line_->pending;
    line_->lastTime = time;
    if (line_->deliveryQueued) return;  // coalesced into the delivery already on its way
    line_->deliveryQueued = true;
  }
  retain();
  line_->queue->EmulationAsync([this] {
    uint64_t count, when;
    OSAction* handler;
    {
      std::lock_guard guard(line_->lock);
      count = line_->pending;
      when = line_->lastTime;
      line_->pending = 0;
      line_->deliveryQueued = false;
      handler = line_->cancelled ? nullptr : line_->handler;
      if (handler) handler->retain();
    }
    if (handler != nullptr && count != 0) {
      handler->EmulationInvoke<void>(kInterruptOccurredTypeID, handler, count, when);
    }
    OSSafeReleaseNULL(handler);
    release();
  });
}

void IOInterruptDispatchSource::free() {
  if (line_ != nullptr) {
    line_->slot->UnbindLine(line_);
    OSSafeReleaseNULL(line_->handler);
    OSSafeReleaseNULL(line_->queue);
    delete line_;
    line_ = nullptr;
  }
  OSObject::free();
}
