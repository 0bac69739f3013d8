// Receiving on a stream (docs/streams.md): completions read from the receive ring with no
// driver call while data flows, one kSelectorStreamWait to sleep, slots handed back in order.
#include <fpgadext/protocol.h>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <shared_mutex>

#include "stream_impl.h"

namespace fpgadext {
namespace {

void OnStreamWait(void* refcon, int result, void**, uint32_t) {
  auto* waiter = static_cast<StreamWaiter*>(refcon);
  {
    std::lock_guard guard(waiter->lock);
    waiter->waiting = false;
    waiter->result = result;
  }
  waiter->woken.notify_all();
}

}  // namespace

StreamBuffer::StreamBuffer(StreamBuffer&& other) noexcept {
  *this = std::move(other);
}

StreamBuffer& StreamBuffer::operator=(StreamBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    stream_ = std::move(other.stream_);
    index_ = other.index_;
    slot_ = other.slot_;
    data_ = other.data_;
    endOfPacket_ = other.endOfPacket_;
    status_ = other.status_;
    other.data_ = {};
  }
  return *this;
}

void StreamBuffer::Release() {
  if (!stream_) return;
  {
    std::lock_guard guard(stream_->lock);
    if (stream_->header != nullptr) stream_->HandBack(index_);
  }
  stream_.reset();
  data_ = {};
}

Status Stream::Receive(std::chrono::nanoseconds timeout, StreamBuffer* buffer,
                       std::chrono::nanoseconds spin) {
  if (buffer == nullptr) return Status(kIOReturnBadArgument, "Receive: no StreamBuffer");
  buffer->Release();
  if (!valid()) return Status(kIOReturnNotOpen, "the stream is not open");
  StreamImpl& r = *impl_;
  if (r.direction != StreamDirection::kFromCard) {
    return Status(kIOReturnNotPermitted, "Receive on a stream to the card");
  }
  Session* attached = nullptr;
  const auto use = r.Attach(&attached);
  if (!use.owns_lock()) return Status(kIOReturnNotOpen, "the stream was closed");
  Session& device = *attached;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline =
      timeout > std::chrono::hours(24 * 365) ? Clock::time_point::max() : start + timeout;
  const auto spinUntil = start + std::min(spin, timeout);
  bool detached = false;  // the device closed the stream meanwhile: its ring is unmapped
  auto take = [&]() -> bool {
    std::lock_guard guard(r.lock);
    if (r.header == nullptr) {
      detached = true;
      return false;
    }
    if (r.Published() == r.taken) return false;
    const protocol::StreamCompletion c = r.completions[r.taken & (r.slots - 1)];
    const uint32_t slot = r.taken & (r.slots - 1);  // ours, never the app-visible copy's
    buffer->stream_ = impl_;
    buffer->index_ = r.taken;
    buffer->slot_ = slot;
    buffer->data_ = {r.base + uint64_t{slot} * r.slotSize, std::min(c.length, r.slotSize)};
    buffer->endOfPacket_ = (c.flags & protocol::kStreamEndOfPacket) != 0;
    buffer->status_ = c.status;
    ++r.taken;
    return true;
  };
  do {
    if (take()) return Status::Ok();
  } while (Clock::now() < spinUntil && !device.gone());
  StreamWaiter& waiter = device.streamWaiter;
  for (;;) {
    if (take()) return Status::Ok();
    if (detached) return Status(kIOReturnNotOpen, "the stream was closed while receiving");
    if (device.gone()) return Gone("receiving on a stream");
    uint32_t seen;
    {
      std::lock_guard guard(r.lock);
      seen = r.taken;
    }
    std::unique_lock guard(waiter.lock);
    if (!waiter.waiting) {
      waiter.waiting = true;
      waiter.result = kIOReturnSuccess;
      guard.unlock();
      uint64_t in[protocol::kStreamWaitSeen + 1] = {};
      in[protocol::kStreamWaitSeen] = seen;
      const int ret = device.transport->CallAsync(protocol::kSelectorStreamWait, in, std::size(in),
                                                  &OnStreamWait, &waiter);
      guard.lock();
      if (ret != kIOReturnSuccess) {
        waiter.waiting = false;
        if (ret == kIOReturnNoDevice) continue;
        return StreamCallError(ret, "waiting on the stream");
      }
    }
    const auto woken = [&] { return !waiter.waiting || device.gone(); };
    if (deadline == Clock::time_point::max()) {
      waiter.woken.wait(guard, woken);
    } else if (!waiter.woken.wait_until(guard, deadline, woken)) {
      guard.unlock();
      if (take()) return Status::Ok();
      return Status(kIOReturnTimeout, "nothing received in time");
    }
    if (!waiter.waiting && waiter.result != kIOReturnSuccess) {
      // The stream ended: what the dext published before its end is still handed out.
      const int result = waiter.result;
      guard.unlock();
      if (take()) return Status::Ok();
      if (detached) return Status(kIOReturnNotOpen, "the stream was closed while receiving");
      if (device.gone()) return Gone("receiving on a stream");
      return StreamCallError(result, "receiving on a stream");
    }
  }
}

Status Stream::ReceivePacket(std::chrono::nanoseconds timeout, std::vector<std::byte>* packet) {
  if (packet == nullptr) return Status(kIOReturnBadArgument, "ReceivePacket: no vector");
  if (!valid()) return Status(kIOReturnNotOpen, "the stream is not open");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    StreamBuffer piece;
    if (Status st = Receive(std::max(left, std::chrono::steady_clock::duration::zero()), &piece);
        !st) {
      return st;
    }
    const IOReturnCode code = piece.status();
    impl_->partial.insert(impl_->partial.end(), piece.data().begin(), piece.data().end());
    const bool end = piece.endOfPacket();
    piece.Release();
    if (code != kIOReturnSuccess) {
      impl_->partial.clear();
      return Fail(code, "a stream packet ended with an error: %s (%s)", Reason(code),
                  IOReturnName(code));
    }
    if (end) {
      *packet = std::move(impl_->partial);
      impl_->partial.clear();
      return Status::Ok();
    }
  }
}

uint32_t Stream::errors() const {
  if (!valid()) return 0;
  std::lock_guard guard(impl_->lock);  // Device::Close may be unmapping the ring
  if (impl_->header == nullptr) return 0;
  return __atomic_load_n(&impl_->header->errors, __ATOMIC_ACQUIRE);
}

}  // namespace fpgadext
