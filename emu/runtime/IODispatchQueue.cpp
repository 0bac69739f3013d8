#include <Block.h>
#include <DriverKit/IODispatchQueue.h>
#include <os/log.h>

#include "serial_queue.h"

OSDefineMetaClass(IODispatchQueue, OSObject);

kern_return_t IODispatchQueue::Create(const IODispatchQueueName name, uint64_t options,
                                      uint64_t priority, IODispatchQueue** queue) {
  if (queue == nullptr || name == nullptr) return kIOReturnBadArgument;
  if (options & ~kIODispatchQueueReentrant) return kIOReturnBadArgument;
  auto* q = OSTypeAllocInit<IODispatchQueue>();
  if (q == nullptr) return kIOReturnNoMemory;
  q->queue_ = new fpgadext::emu::SerialQueue(name);
  *queue = q;
  return kIOReturnSuccess;
}

void IODispatchQueue::DispatchAsync(IODispatchBlock block) {
  IODispatchBlock copy = Block_copy(block);
  EmulationAsync([copy] {
    copy();
    Block_release(copy);
  });
}

void IODispatchQueue::DispatchSync(IODispatchBlock block) {
  if (EmulationSync([block] { block(); }) != kIOReturnSuccess) {
    os_log_fault(OS_LOG_DEFAULT, "IODispatchQueue::DispatchSync on its own queue %s (deadlock)",
                 EmulationName());
  }
}

bool IODispatchQueue::OnQueue() { return queue_ != nullptr && queue_->OnQueue(); }

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
