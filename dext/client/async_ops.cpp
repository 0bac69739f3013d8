// A client's async transfers (async_ops.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "client/async_ops.h"

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>

#include "polling.h"

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;

IOReturn AsyncOps::Start(engine::ChannelClient* channelClient) {
  channelClient_ = channelClient;
  return IODispatchQueue::Create("fpgadext.async", 0, 0, queue_.attach());
}

IOReturn AsyncOps::Submit(IOUserClient* client, DriverResources& board,
                          IOUserClientMethodArguments* arguments, uint32_t direction,
                          uint32_t slots) {
  OSAction* completion = arguments->completion;
  if (completion == nullptr) return kIOReturnBadArgument;  // the dispatch table checks it too
  if (!queue_) return kIOReturnNotReady;
  const uint64_t card = arguments->scalarInput[protocol::kAsyncScalarCard];
  const uint64_t address = arguments->scalarInput[protocol::kAsyncScalarAddress];
  const uint64_t length = arguments->scalarInput[protocol::kAsyncScalarLength];
  const uint64_t tag = arguments->scalarInput[protocol::kAsyncScalarTag];
  if (address + length < address || length > protocol::kMaxTransferLength || card + length < card) {
    return kIOReturnBadArgument;
  }
  if (length == 0) {
    uint64_t done[protocol::kAsyncArgumentCount] = {0, tag};
    client->AsyncCompletion(completion, kIOReturnSuccess, done, protocol::kAsyncArgumentCount);
    return kIOReturnSuccess;
  }
  uint32_t index = 0;
  for (; index < protocol::kMaxAsyncInFlight; ++index) {
    bool expected = false;
    if (ops_[index].busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) break;
  }
  if (index == protocol::kMaxAsyncInFlight) return kIOReturnNoResources;
  AsyncOp& op = ops_[index];
  IOReturn ret = op.commands.Fill(board.Device(), slots);
  const uint64_t options = (direction == kFromCard ? kIOMemoryDirectionIn : kIOMemoryDirectionOut) |
                           kIOMemoryDisableCopyOnWrite;
  op.range = IOAddressSegment{address, length};
  if (ret == kIOReturnSuccess) {
    ret = client->CreateMemoryDescriptorFromClient(options, 1, &op.range, op.memory.attach());
  }
  if (ret == kIOReturnSuccess) {
    op.host.Emplace(op.memory.get(), 0, length, op.commands.get(), op.commands.slots());
    op.direction = direction;
    op.tag = tag;
    ret = board.BeginTransfer(direction, card, op.host.get(), length, &op.job, 0, channelClient_);
  }
  if (ret != kIOReturnSuccess) {  // refused before anything started: the call says so
    op.host.Reset();
    op.memory.reset();
    op.busy.store(false, std::memory_order_release);
    return ret;
  }
  // The call's reference to the action ends when ExternalMethod returns.
  op.action.reset(completion, OSRetain);
  client->retain();
  AsyncOps* self = this;
  DriverResources* resources = &board;
  queue_->DispatchAsync(^{
    self->ops_[index].active = true;
    if (!self->pollScheduled_) self->Poll(client, resources);
    client->release();
  });
  return kIOReturnSuccess;
}

void AsyncOps::Finish(IOUserClient* client, DriverResources* board, AsyncOp& op, IOReturn status) {
  op.host.Reset();
  // The probe needs a command: make one again if the transfer handed slot 0 over.
  if (status != kWiringProtectionFailure ||
      op.commands.Fill(board->Device(), op.commands.slots()) == kIOReturnSuccess) {
    status = ReadFailureStatus(client, status, op.direction, op.range, op.commands.get()[0]);
  }
  op.memory.reset();
  uint64_t arguments[protocol::kAsyncArgumentCount] = {};
  arguments[protocol::kAsyncBytes] = op.job.done;
  arguments[protocol::kAsyncTag] = op.tag;
  client->AsyncCompletion(op.action.get(), status, arguments, protocol::kAsyncArgumentCount);
  op.action.reset();
  op.active = false;
  op.busy.store(false, std::memory_order_release);
}

// On the async queue: one pass over the active ops.
void AsyncOps::Poll(IOUserClient* client, DriverResources* board) {
  pollScheduled_ = false;
  bool running = false;
  bool progress = false;
  for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) {
    AsyncOp& op = ops_[i];
    if (!op.active) continue;
    const IOReturn r = board->PollTransfer(&op.job);
    if (r == kIOReturnNotReady) {
      running = true;
      continue;
    }
    Finish(client, board, op, r);
    progress = true;
  }
  if (!running) return;
  if (!progress) PollPause();  // as the planner's: a bounded spin, no sleep
  pollScheduled_ = true;
  client->retain();
  AsyncOps* self = this;
  queue_->DispatchAsync(^{
    self->Poll(client, board);
    client->release();
  });
}

void AsyncOps::Stop(IOUserClient* client, DriverResources& board) {
  if (!queue_) return;
  AsyncOps* self = this;
  DriverResources* resources = &board;
  // Runs after every op handed over before (the queue is serial): stop what still runs.
  queue_->DispatchSync(^{
    for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) {
      AsyncOp& op = self->ops_[i];
      if (!op.active) continue;
      resources->AbortTransfer(&op.job, kIOReturnAborted);
      self->Finish(client, resources, op, kIOReturnAborted);
    }
  });
  // A poll pass queued by a pass that ran before: it finds nothing and queues nothing more.
  queue_->DispatchSync(^{
  });
  queue_.reset();
  for (uint32_t i = 0; i < protocol::kMaxAsyncInFlight; ++i) ops_[i].commands.Clear();
}

}  // namespace fpgadext::dext::client
