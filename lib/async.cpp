// Async transfers: started with one async driver call each (kSelectorReadAsync/WriteAsync),
// completed exactly once on the transport's serial completion queue — by the dext's completion,
// by a refusal found before it started, or by Device::Close for what is still in flight.
#include <fpgadext/protocol.h>

#include <iterator>

#include <condition_variable>

#include "session.h"

namespace fpgadext {

struct AsyncOperation::State {
  std::mutex lock;
  std::condition_variable changed;
  bool done = false;
  Status status;
  uint64_t bytes = 0;
  AsyncCallback callback;

  // The callback first: once Wait returns, the callback has run.
  void Complete(const Status& s, uint64_t moved) {
    if (callback) callback(s, moved);
    {
      std::lock_guard guard(lock);
      status = s;
      bytes = moved;
      done = true;
    }
    changed.notify_all();
  }
};

namespace {

void OnAsyncCompletion(void* refcon, int result, void** args, uint32_t count) {
  auto* table = static_cast<AsyncTable*>(refcon);
  if (count < protocol::kAsyncArgumentCount) return;
  const uint64_t bytes = reinterpret_cast<uintptr_t>(args[protocol::kAsyncBytes]);
  const uint64_t tag = reinterpret_cast<uintptr_t>(args[protocol::kAsyncTag]);
  AsyncTable::Pending pending;
  {
    std::lock_guard guard(table->lock);
    auto it = table->pending.find(tag);
    if (it == table->pending.end()) return;  // not ours (or completed at close already)
    pending = std::move(it->second);
    table->pending.erase(it);
  }
  Status status;
  if (result == kIOReturnOverrun) {
    status = Fail(result,
                  "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64
                  ": outside the card's 0x%" PRIx64 " bytes (%s)",
                  pending.what, pending.length, pending.card, table->cardMemorySize,
                  IOReturnName(result));
  } else if (result != kIOReturnSuccess) {
    status = Fail(result, "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 ": %s (%s)",
                  pending.what, pending.length, pending.card, Reason(result), IOReturnName(result));
  }
  pending.op->Complete(status, bytes);
}

// Completes `op` on `queue` (never on the caller's stack: callbacks always run on the queue).
void CompleteLater(dispatch_queue_t queue, std::shared_ptr<AsyncOperation::State> op,
                   Status status) {
  auto* work = new std::pair<std::shared_ptr<AsyncOperation::State>, Status>(std::move(op),
                                                                             std::move(status));
  dispatch_async(queue, ^{
    work->first->Complete(work->second, 0);
    delete work;
  });
}

// For operations on a Device that is not open: a queue of the process.
dispatch_queue_t FallbackQueue() {
  static dispatch_queue_t queue = dispatch_queue_create("fpgadext.closed", DISPATCH_QUEUE_SERIAL);
  return queue;
}

AsyncOperation StartAsync(Session* s, uint32_t selector, const char* what, uint64_t card,
                          const void* data, uint64_t length, AsyncCallback callback) {
  auto op = std::make_shared<AsyncOperation::State>();
  op->callback = std::move(callback);
  AsyncOperation handle(op);
  if (s == nullptr) {
    CompleteLater(FallbackQueue(), op, NotOpen());
    return handle;
  }
  dispatch_queue_t queue = s->transport->CompletionQueue();
  if (length != 0 && data == nullptr) {
    CompleteLater(
        queue, op,
        Fail(kIOReturnBadArgument, "async %s of 0x%" PRIx64 " bytes: null buffer", what, length));
    return handle;
  }
  if (s->gone()) {
    CompleteLater(queue, op, Gone(what));
    return handle;
  }
  if (Status r = s->CardRange(card, length); !r) {
    CompleteLater(queue, op, r);
    return handle;
  }
  AsyncTable& table = s->async;
  uint64_t tag;
  {
    std::lock_guard guard(table.lock);
    tag = table.nextTag++;
    table.pending[tag] = AsyncTable::Pending{op, what, card, length};
  }
  uint64_t in[protocol::kAsyncScalarTag + 1] = {};
  in[protocol::kAsyncScalarCard] = card;
  in[protocol::kAsyncScalarAddress] = reinterpret_cast<uintptr_t>(data);
  in[protocol::kAsyncScalarLength] = length;
  in[protocol::kAsyncScalarTag] = tag;
  const int ret = s->transport->CallAsync(selector, in, std::size(in), &OnAsyncCompletion, &table);
  if (ret != kIOReturnSuccess) {
    // Refused before it started: no completion will come.
    {
      std::lock_guard guard(table.lock);
      table.pending.erase(tag);
    }
    CompleteLater(queue, op,
                  ret == kIOReturnOverrun
                      ? Fail(ret,
                             "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64
                             ": outside the card's memory (%s)",
                             what, length, card, IOReturnName(ret))
                      : Fail(ret, "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 ": %s (%s)",
                             what, length, card, Reason(ret), IOReturnName(ret)));
  }
  return handle;
}

}  // namespace

void Session::AbortAsync() {
  dispatch_queue_t queue = transport->CompletionQueue();
  // Completions the dext sent at close are delivered first; what is left never will be.
  dispatch_sync(queue, ^{
                });
  std::map<uint64_t, AsyncTable::Pending> left;
  {
    std::lock_guard guard(async.lock);
    left.swap(async.pending);
  }
  auto* leftover = &left;
  dispatch_sync(queue, ^{
    for (auto& [tag, p] : *leftover) {
      p.op->Complete(Status(kIOReturnAborted, "the device was closed with the transfer in flight"),
                     0);
    }
  });
}

AsyncOperation Device::ReadAsync(uint64_t cardAddress, std::span<std::byte> destination,
                                 AsyncCallback callback) {
  return StartAsync(state_.get(), protocol::kSelectorReadAsync, "read", cardAddress,
                    destination.data(), destination.size(), std::move(callback));
}

AsyncOperation Device::WriteAsync(uint64_t cardAddress, std::span<const std::byte> source,
                                  AsyncCallback callback) {
  return StartAsync(state_.get(), protocol::kSelectorWriteAsync, "write", cardAddress,
                    source.data(), source.size(), std::move(callback));
}

bool AsyncOperation::done() const {
  if (!state_) return false;
  std::lock_guard guard(state_->lock);
  return state_->done;
}

Status AsyncOperation::Wait(std::chrono::nanoseconds timeout) const {
  if (!state_) return Status(kIOReturnBadArgument, "Wait: not an operation");
  std::unique_lock guard(state_->lock);
  const auto ready = [&] { return state_->done; };
  if (timeout == std::chrono::nanoseconds::max()) {
    state_->changed.wait(guard, ready);
  } else if (!state_->changed.wait_for(guard, timeout, ready)) {
    return Status(kIOReturnTimeout, "the operation has not completed yet");
  }
  return state_->status;
}

uint64_t AsyncOperation::bytes() const {
  if (!state_) return 0;
  std::lock_guard guard(state_->lock);
  return state_->bytes;
}

}  // namespace fpgadext
