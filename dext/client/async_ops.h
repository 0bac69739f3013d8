// A client's async transfers (kSelectorReadAsync/WriteAsync, docs/ring.md "Async calls").
// Submit (on the ExternalMethod queue) checks the call, claims an op, makes the memory
// descriptor, begins the transfer (argument errors come back from the call itself) and hands
// the op to the client's async queue, keeping the OSAction. The async queue polls every active
// op, sends AsyncCompletion(status, {bytes, tag}) for those done, and re-queues itself while
// any still runs. The ExternalMethod queue never waits for an async transfer.
#pragma once

#include <atomic>

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "client/in_place.h"
#include "client/transfers.h"
#include "descriptor_host_memory.h"
#include "driver_resources.h"

namespace fpgadext::dext::client {

// One async transfer: claimed on the ExternalMethod queue (busy), polled and completed on the
// async queue, which then frees it. Its IODMACommands are made on first use and kept.
struct AsyncOp {
  std::atomic<bool> busy{false};
  bool active = false;  // async queue only: being polled
  uint32_t direction = 0;
  uint64_t tag = 0;
  IOAddressSegment range = {};
  OSSharedPtr<IOMemoryDescriptor> memory;
  OSSharedPtr<OSAction> action;
  WindowCommands commands;
  InPlace<DescriptorHostMemory> host;
  engine::TransferJob job;
};

class AsyncOps {
 public:
  AsyncOps() = default;
  AsyncOps(const AsyncOps&) = delete;
  AsyncOps& operator=(const AsyncOps&) = delete;

  // Every op runs for `channelClient` (the user client's, outliving Stop).
  [[nodiscard]] IOReturn Start(engine::ChannelClient* channelClient);
  // in: card address, app address, length, tag; arguments->completion required.
  IOReturn Submit(IOUserClient* client, DriverResources& board,
                  IOUserClientMethodArguments* arguments, uint32_t direction, uint32_t slots);
  // Every op still running is aborted and completed with kIOReturnAborted; the queue is drained.
  // Nothing touches the app's memory afterwards.
  void Stop(IOUserClient* client, DriverResources& board);

 private:
  void Poll(IOUserClient* client, DriverResources* board);
  void Finish(IOUserClient* client, DriverResources* board, AsyncOp& op, IOReturn status);

  AsyncOp ops_[protocol::kMaxAsyncInFlight];
  OSSharedPtr<IODispatchQueue> queue_;
  engine::ChannelClient* channelClient_ = nullptr;
  bool pollScheduled_ = false;  // async queue only
};

}  // namespace fpgadext::dext::client
