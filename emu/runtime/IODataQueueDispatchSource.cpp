// IODataQueueDispatchSource: a single-producer, single-consumer queue in one memory area, laid
// out as xnu's iokit/System/IODataQueueDispatchSourceShared.h lays it out, with the same return
// codes and notification rules (DataAvailable when the queue stops being empty or an Enqueue
// finds it full; DataServiced on the Dequeue after a full Enqueue).
#include <new>

#include <DriverKit/IODataQueueDispatchSource.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOService.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>

namespace fpgadext::emu {
namespace {

// The area's header: 128 bytes, as on a Mac.
struct QueueHeader {
  std::atomic<uint32_t> head;  // consumer's offset into the entries
  std::atomic<uint32_t> tail;  // producer's offset into the entries
  std::atomic<uint8_t> needServiced;
  uint8_t reserved[119];
};
static_assert(sizeof(QueueHeader) == 128);

constexpr uint32_t kEntryHeader = sizeof(uint32_t);  // each entry's size field

constexpr uint64_t kDataAvailableTypeID = IORPCMethodID("IODataQueueDispatchSource::DataAvailable");
constexpr uint64_t kDataServicedTypeID = IORPCMethodID("IODataQueueDispatchSource::DataServiced");

// The data size padded to 4 bytes; false on overflow.
bool Padded(uint32_t size, uint32_t* padded) {
  if (size > UINT32_MAX - 3) return false;
  *padded = (size + 3) & ~3u;
  return true;
}

}  // namespace

struct DataQueueState {
  std::mutex lock;  // the handlers only; head and tail are the producer's and consumer's
  QueueHeader* header = nullptr;
  uint8_t* entries = nullptr;
  uint32_t queueSize = 0;            // bytes of entries
  IODispatchQueue* queue = nullptr;  // retained
  OSAction* available = nullptr;     // retained
  OSAction* serviced = nullptr;      // retained
  bool enabled = false;

  uint32_t SizeAt(uint32_t offset) const {
    uint32_t size;
    memcpy(&size, entries + offset, sizeof size);
    return size;
  }
  void SetSizeAt(uint32_t offset, uint32_t size) { memcpy(entries + offset, &size, sizeof size); }
};

}  // namespace fpgadext::emu

using fpgadext::emu::DataQueueState;
using fpgadext::emu::kEntryHeader;
using fpgadext::emu::Padded;

OSDefineMetaClass(IODataQueueDispatchSource, IODispatchSource);

kern_return_t IODataQueueDispatchSource::Create(uint64_t queueByteCount, IODispatchQueue* queue,
                                                IODataQueueDispatchSource** source) {
  if (queue == nullptr || source == nullptr) return kIOReturnBadArgument;
  // xnu IODataQueueDispatchSource::Create_Impl: a multiple of 4 that fits with the header.
  if ((queueByteCount & 3) != 0) return kIOReturnBadArgument;
  if (queueByteCount > UINT_MAX - sizeof(fpgadext::emu::QueueHeader)) return kIOReturnBadArgument;
  auto* s = OSTypeAllocInitEmulated<IODataQueueDispatchSource>();
  if (s == nullptr) return kIOReturnNoMemory;
  const size_t bytes = sizeof(fpgadext::emu::QueueHeader) + queueByteCount;
  void* area = IOMallocZero(bytes);
  if (area == nullptr) {
    s->release();
    return kIOReturnNoMemory;
  }
  s->state_->header = new (area) fpgadext::emu::QueueHeader{};
  s->state_->entries = static_cast<uint8_t*>(area) + sizeof(fpgadext::emu::QueueHeader);
  s->state_->queueSize = static_cast<uint32_t>(queueByteCount);
  queue->retain();
  s->state_->queue = queue;
  *source = s;
  return kIOReturnSuccess;
}

size_t IODataQueueDispatchSource::GetDataQueueEntryHeaderSize() {
  return kEntryHeader;
}

bool IODataQueueDispatchSource::init() {
  if (!IODispatchSource::init()) return false;
  state_ = new DataQueueState;
  return true;
}

void IODataQueueDispatchSource::Notify(OSAction* action, uint64_t typeID) {
  if (action == nullptr) return;
  // The handler runs on the queue of its target's method: an IOService's Default queue.
  IODispatchQueue* queue = nullptr;
  if (auto* service = OSDynamicCast(IOService, action->EmulationTarget())) {
    service->CopyDispatchQueue(kIOServiceDefaultQueueName, &queue);
  }
  if (queue == nullptr) {
    queue = state_->queue;
    queue->retain();
  }
  action->retain();
  action->EmulationDeliver(queue, [action, typeID] {
    action->EmulationInvoke<void>(typeID, action);
    action->release();
  });
  queue->release();
}

kern_return_t IODataQueueDispatchSource::SetDataAvailableHandler_Impl(OSAction* action) {
  if (action != nullptr && action->EmulationTypeID() != fpgadext::emu::kDataAvailableTypeID) {
    return kIOReturnBadArgument;
  }
  OSAction* old;
  {
    std::lock_guard guard(state_->lock);
    old = state_->available;
    if (action) action->retain();
    state_->available = action;
  }
  OSSafeReleaseNULL(old);
  // xnu: a handler set while data is waiting is told at once.
  if (action != nullptr && IsDataAvailable()) Notify(action, fpgadext::emu::kDataAvailableTypeID);
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::SetDataServicedHandler_Impl(OSAction* action) {
  if (action != nullptr && action->EmulationTypeID() != fpgadext::emu::kDataServicedTypeID) {
    return kIOReturnBadArgument;
  }
  OSAction* old;
  {
    std::lock_guard guard(state_->lock);
    old = state_->serviced;
    if (action) action->retain();
    state_->serviced = action;
  }
  OSSafeReleaseNULL(old);
  return kIOReturnSuccess;
}

void IODataQueueDispatchSource::SendDataAvailable(void) {
  OSAction* action;
  {
    std::lock_guard guard(state_->lock);
    action = state_->available;
    if (action) action->retain();
  }
  Notify(action, fpgadext::emu::kDataAvailableTypeID);
  OSSafeReleaseNULL(action);
}

void IODataQueueDispatchSource::SendDataServiced(void) {
  OSAction* action;
  {
    std::lock_guard guard(state_->lock);
    action = state_->serviced;
    if (action) action->retain();
  }
  if (action == nullptr) return;
  state_->header->needServiced.store(0, std::memory_order_relaxed);
  Notify(action, fpgadext::emu::kDataServicedTypeID);
  action->release();
}

bool IODataQueueDispatchSource::IsDataAvailable(void) {
  const auto* h = state_->header;
  return h->head.load(std::memory_order_relaxed) != h->tail.load(std::memory_order_acquire);
}

namespace {

// Where the entry at the consumer's `head` is: its offset (`head`, or 0 when it wrapped) and
// the offset after it. False if the area is corrupt.
bool LocateHead(const DataQueueState* s, uint32_t head, uint32_t* entry, uint32_t* next) {
  const uint32_t q = s->queueSize;
  if (head > q) return false;
  uint32_t padded = 0;
  // The entry is at `head` if its size field and its data both fit before the end.
  const bool sizeFits = q - head >= kEntryHeader;
  if (sizeFits && Padded(s->SizeAt(head), &padded) && q - head - kEntryHeader >= padded) {
    *entry = head;
    *next = head + kEntryHeader + padded;
    return true;
  }
  // Otherwise the producer wrapped it to the start of the area.
  if (q < kEntryHeader || !Padded(s->SizeAt(0), &padded) || q - kEntryHeader < padded) {
    return false;
  }
  *entry = 0;
  *next = kEntryHeader + padded;
  return true;
}

}  // namespace

kern_return_t IODataQueueDispatchSource::Peek(IODataQueueClientDequeueEntryBlock callback) {
  const uint32_t head = state_->header->head.load(std::memory_order_relaxed);
  const uint32_t tail = state_->header->tail.load(std::memory_order_acquire);
  if (head == tail) return kIOReturnUnderrun;
  uint32_t entry, next;
  if (!LocateHead(state_, head, &entry, &next)) return kIOReturnError;
  callback(state_->entries + entry + kEntryHeader, state_->SizeAt(entry));
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::Dequeue(IODataQueueClientDequeueEntryBlock callback) {
  bool sendDataServiced = false;
  const kern_return_t ret = DequeueWithCoalesce(&sendDataServiced, callback);
  if (sendDataServiced) SendDataServiced();
  return ret;
}

kern_return_t IODataQueueDispatchSource::DequeueWithCoalesce(
    bool* sendDataServiced, IODataQueueClientDequeueEntryBlock callback) {
  auto* h = state_->header;
  const uint32_t head = h->head.load(std::memory_order_relaxed);
  const uint32_t tail = h->tail.load(std::memory_order_acquire);
  if (head == tail) {
    if (h->needServiced.load(std::memory_order_relaxed)) *sendDataServiced = true;
    return kIOReturnUnderrun;
  }
  uint32_t entry, next;
  if (!LocateHead(state_, head, &entry, &next)) return kIOReturnError;
  callback(state_->entries + entry + kEntryHeader, state_->SizeAt(entry));
  if (h->needServiced.load(std::memory_order_relaxed)) *sendDataServiced = true;
  h->head.store(next, std::memory_order_release);
  // Emptying the queue: order the store against the producer's check of the head.
  if (next == tail) std::atomic_thread_fence(std::memory_order_seq_cst);
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::Enqueue(uint32_t dataSize,
                                                 IODataQueueClientEnqueueEntryBlock callback) {
  bool sendDataAvailable = false;
  const kern_return_t ret = EnqueueWithCoalesce(dataSize, &sendDataAvailable, callback);
  if (sendDataAvailable) SendDataAvailable();
  return ret;
}

kern_return_t IODataQueueDispatchSource::EnqueueWithCoalesce(
    uint32_t dataSize, bool* sendDataAvailable, IODataQueueClientEnqueueEntryBlock callback) {
  auto* h = state_->header;
  const uint32_t q = state_->queueSize;
  const uint32_t tail = h->tail.load(std::memory_order_relaxed);
  uint32_t head = h->head.load(std::memory_order_acquire);
  uint32_t padded;
  if (!Padded(dataSize, &padded) || padded > UINT32_MAX - kEntryHeader) return kIOReturnOverrun;
  const uint32_t entrySize = kEntryHeader + padded;
  if (tail > q || head > q) return kIOReturnError;

  uint32_t at;
  bool fits;
  if (tail >= head) {
    if (q - tail >= entrySize) {
      at = tail;
      fits = true;
    } else {
      // Wrap to the start, leaving the head strictly ahead of the new tail.
      at = 0;
      fits = head > entrySize;
    }
  } else {
    at = tail;
    fits = head - tail > entrySize;  // the tail never catches up with the head
  }
  if (!fits) {
    h->needServiced.store(1, std::memory_order_relaxed);  // DataServiced after the next Dequeue
    *sendDataAvailable = true;
    return kIOReturnOverrun;
  }
  callback(state_->entries + at + kEntryHeader, dataSize);
  state_->SetSizeAt(at, dataSize);
  if (at == 0 && tail != 0 && q - tail >= kEntryHeader) {
    // Leave a size at the old tail that does not fit there, so the consumer wraps as well.
    state_->SetSizeAt(tail, padded);
  }
  const uint32_t newTail = at + entrySize;
  h->tail.store(newTail, std::memory_order_release);
  if (tail != head) {
    // Pairs with the consumer's fence: either it sees the new tail or this sees it emptied.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    head = h->head.load(std::memory_order_relaxed);
  }
  if (tail == head) *sendDataAvailable = true;  // it was empty
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::CanEnqueueData(uint32_t dataSize) {
  return CanEnqueueData(dataSize, 1);
}

kern_return_t IODataQueueDispatchSource::CanEnqueueData(uint32_t dataSize, uint32_t entryCount) {
  const auto* h = state_->header;
  const uint32_t q = state_->queueSize;
  const uint32_t tail = h->tail.load(std::memory_order_relaxed);
  const uint32_t head = h->head.load(std::memory_order_acquire);
  uint32_t padded;
  if (!Padded(dataSize, &padded) || padded > UINT32_MAX - kEntryHeader) return kIOReturnOverrun;
  const uint32_t entrySize = kEntryHeader + padded;
  if (tail > q || head > q) return kIOReturnError;
  if (tail >= head) {
    // As xnu counts: entries that fit at the end, then at the start before the head.
    const uint32_t atEnd = (q - tail) / entrySize;
    const uint32_t atStart = head / entrySize;
    if (atEnd < entryCount && atEnd + atStart <= entryCount) return kIOReturnOverrun;
  } else if ((head - tail - 1) / entrySize < entryCount) {
    return kIOReturnOverrun;
  }
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::SetEnableWithCompletion_Impl(
    bool enable, IODispatchSourceCancelHandler handler) {
  (void)handler;  // xnu's shared implementation does not call it
  std::lock_guard guard(state_->lock);
  state_->enabled = enable;
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::Cancel_Impl(IODispatchSourceCancelHandler handler) {
  if (handler != nullptr) handler();  // xnu: at once, in the caller's thread
  return kIOReturnSuccess;
}

kern_return_t IODataQueueDispatchSource::CheckForWork_Impl(bool synchronous) {
  (void)synchronous;
  return kIOReturnNotReady;  // as xnu's
}

kern_return_t IODataQueueDispatchSource::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IODataQueueDispatchSource*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("SetDataAvailableHandler"):
      return IORPCInvoke(rpc, &IODataQueueDispatchSource::SetDataAvailableHandler_Impl,
                         [s](OSAction* a) {
                           return s->IODataQueueDispatchSource::SetDataAvailableHandler_Impl(a);
                         });
    case IORPCMethodID("SetDataServicedHandler"):
      return IORPCInvoke(rpc, &IODataQueueDispatchSource::SetDataServicedHandler_Impl,
                         [s](OSAction* a) {
                           return s->IODataQueueDispatchSource::SetDataServicedHandler_Impl(a);
                         });
    case IORPCMethodID("SetEnableWithCompletion"):
      return IORPCInvoke(rpc, &IODataQueueDispatchSource::SetEnableWithCompletion_Impl,
                         [s](bool e, IODispatchSourceCancelHandler h) {
                           return s->IODataQueueDispatchSource::SetEnableWithCompletion_Impl(e, h);
                         });
    case IORPCMethodID("Cancel"):
      return IORPCInvoke(rpc, &IODataQueueDispatchSource::Cancel_Impl,
                         [s](IODispatchSourceCancelHandler h) {
                           return s->IODataQueueDispatchSource::Cancel_Impl(h);
                         });
    default:
      return IODispatchSource::_Dispatch(self, rpc);
  }
}

void IODataQueueDispatchSource::free() {
  if (state_ != nullptr) {
    if (state_->header != nullptr) {
      state_->header->~QueueHeader();
      IOFree(state_->header, sizeof(fpgadext::emu::QueueHeader) + state_->queueSize);
    }
    OSSafeReleaseNULL(state_->available);
    OSSafeReleaseNULL(state_->serviced);
    OSSafeReleaseNULL(state_->queue);
    delete state_;
    state_ = nullptr;
  }
  IODispatchSource::free();
}
