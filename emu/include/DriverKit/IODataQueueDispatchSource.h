// IODataQueueDispatchSource (xnu iokit/DriverKit/IODataQueueDispatchSource.iig; shared
// implementation in xnu iokit/System/IODataQueueDispatchSourceShared.h): a single-producer,
// single-consumer queue of variable-sized entries in one memory area, with DataAvailable and
// DataServiced notifications.
//
// The area is laid out as on a Mac: a 128-byte header (head and tail offsets, a "producer waits"
// flag), then entries of a 4-byte size followed by the data padded to 4 bytes; an entry that
// does not fit before the end of the area wraps to its start, and the tail never catches up with
// the head (one byte of the area always stays free).
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>

typedef void (^IODataQueueClientEnqueueEntryBlock)(void* data, size_t dataSize);
typedef void (^IODataQueueClientDequeueEntryBlock)(const void* data, size_t dataSize);

#define IODataQueueDispatchSource_SetDataAvailableHandler_Args OSAction* action
#define IODataQueueDispatchSource_SetDataServicedHandler_Args OSAction* action
#define IODataQueueDispatchSource_DataAvailable_Args OSAction* action
#define IODataQueueDispatchSource_DataServiced_Args OSAction* action

namespace fpgadext::emu {
struct DataQueueState;
}

class IODataQueueDispatchSource : public IODispatchSource {
  OSDeclareEmulatedClass(IODataQueueDispatchSource)

 public:
  // A queue of `queueByteCount` bytes of entries (a multiple of 4, else kIOReturnBadArgument)
  // (+1). `queue` is where the handlers would run if their target had no queue of its own; the
  // handlers run on the queue of their action's target (an IOService's Default queue).
  static kern_return_t Create(uint64_t queueByteCount, IODispatchQueue* queue,
                              IODataQueueDispatchSource** source);
  // The bytes each entry takes besides its data (4).
  static size_t GetDataQueueEntryHeaderSize();
  bool init() override;
  void free() override;

  // Consumer: DataAvailable runs when the queue becomes non-empty (and at once if it is not
  // empty when the handler is set). The action must come from a method declared
  // TYPE(IODataQueueDispatchSource::DataAvailable).
  kern_return_t SetDataAvailableHandler(OSAction* action, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetDataAvailableHandler, action);
  }
  // Producer: DataServiced runs after a Dequeue that follows a failed (full) Enqueue. The action
  // must come from a method declared TYPE(IODataQueueDispatchSource::DataServiced).
  kern_return_t SetDataServicedHandler(OSAction* action, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetDataServicedHandler, action);
  }

  // Consumer side.
  bool IsDataAvailable(void);
  // kIOReturnSuccess after calling `callback` with the next entry, kIOReturnUnderrun if empty,
  // kIOReturnError if the area is corrupt.
  kern_return_t Peek(IODataQueueClientDequeueEntryBlock callback);
  kern_return_t Dequeue(IODataQueueClientDequeueEntryBlock callback);
  // Dequeue without sending DataServiced; sets *sendDataServiced when it would have been sent.
  kern_return_t DequeueWithCoalesce(bool* sendDataServiced,
                                    IODataQueueClientDequeueEntryBlock callback);
  void SendDataServiced(void);

  // Producer side: kIOReturnSuccess after `callback` filled the entry, kIOReturnOverrun if the
  // queue is full (DataServiced will follow the next Dequeue), kIOReturnError if corrupt.
  kern_return_t Enqueue(uint32_t dataSize, IODataQueueClientEnqueueEntryBlock callback);
  kern_return_t EnqueueWithCoalesce(uint32_t dataSize, bool* sendDataAvailable,
                                    IODataQueueClientEnqueueEntryBlock callback);
  // kIOReturnSuccess if `entryCount` (default 1) entries of `dataSize` fit, else kIOReturnOverrun.
  kern_return_t CanEnqueueData(uint32_t dataSize);
  kern_return_t CanEnqueueData(uint32_t dataSize, uint32_t entryCount);
  void SendDataAvailable(void);

  virtual kern_return_t SetDataAvailableHandler_Impl(OSAction* action);
  virtual kern_return_t SetDataServicedHandler_Impl(OSAction* action);
  // Records the state only: a Mac's data queue delivers whatever the enable state (xnu
  // IODataQueueDispatchSourceShared.h).
  kern_return_t SetEnableWithCompletion_Impl(bool enable,
                                             IODispatchSourceCancelHandler handler) override;
  kern_return_t Cancel_Impl(IODispatchSourceCancelHandler handler) override;

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

 private:
  kern_return_t CheckForWork_Impl(bool synchronous) override;
  void Notify(OSAction* action, uint64_t typeID);

  fpgadext::emu::DataQueueState* state_ = nullptr;
};
