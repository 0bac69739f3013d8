// AXI-Stream channels (docs/streams.md): Device::OpenStream, Stream::Send, and the receive ring
// — slots of a registered buffer the dext keeps posted to the card, completions found in shared
// memory (kMemoryTypeStreamReceive) with no driver call per packet, slots handed back in order
// by advancing the ring's consumer index.
#include <fpgadext/protocol.h>

#include <cstdlib>
#include <cstring>
#include <iterator>

#include <algorithm>

#include "stream_impl.h"

namespace fpgadext {

namespace {

uint32_t Index(StreamDirection direction) {
  return direction == StreamDirection::kToCard ? 0 : 1;
}

}  // namespace

Status StreamCallError(int ret, const char* what) {
  return Fail(ret, "%s: %s (%s)", what, Reason(ret), IOReturnName(ret));
}

void Session::DetachStreams() {
  StreamImpl* detached[2];
  {
    std::lock_guard guard(lock);
    detached[0] = streams[0];
    detached[1] = streams[1];
    streams[0] = streams[1] = nullptr;
  }
  for (StreamImpl* s : detached) {
    if (s != nullptr) s->Stop();
  }
}

void Session::WakeStreamWaiter() {
  std::lock_guard guard(streamWaiter.lock);
  streamWaiter.woken.notify_all();
}

Status Device::StreamChannels(uint32_t* toCardMask, uint32_t* fromCardMask) {
  if (!state_) return NotOpen();
  Session& s = *state_;
  uint64_t out[protocol::kStreamChannelsFromCard + 1] = {};
  uint32_t count = std::size(out);
  if (s.capabilities & protocol::kCapabilityStreams) {
    if (s.gone()) return Gone("asking for stream channels");
    const int ret = s.transport->Call(protocol::kSelectorStreamChannels, nullptr, 0, out, &count);
    if (ret != kIOReturnSuccess) return StreamCallError(ret, "asking for stream channels");
  }
  if (toCardMask != nullptr) *toCardMask = static_cast<uint32_t>(out[0]);
  if (fromCardMask != nullptr) *fromCardMask = static_cast<uint32_t>(out[1]);
  return Status::Ok();
}

Status Device::OpenStream(StreamDirection direction, const StreamOptions& options, Stream* stream) {
  if (!state_) return NotOpen();
  if (stream == nullptr) return Status(kIOReturnBadArgument, "OpenStream: no Stream");
  if (direction != StreamDirection::kToCard && direction != StreamDirection::kFromCard) {
    return Status(kIOReturnBadArgument, "OpenStream: unknown direction");
  }
  (void)stream->Close();
  Session& s = *state_;
  if (!(s.capabilities & protocol::kCapabilityStreams)) {
    return Status(kIOReturnUnsupported, "the board has no AXI-Stream channels");
  }
  if (s.gone()) return Gone("opening a stream");
  const bool receive = direction == StreamDirection::kFromCard;
  {
    std::lock_guard guard(s.lock);
    if (s.streams[Index(direction)] != nullptr) {
      return Status(kIOReturnBusy, "this device has a stream of that direction already");
    }
  }
  auto impl = std::make_shared<StreamImpl>();
  impl->direction = direction;
  RegisteredBuffer* buffer = options.buffer;
  if (receive) {
    const uint64_t slots = options.slots;
    const uint64_t size = options.slotSize;
    if (slots < protocol::kStreamMinSlots || slots > protocol::kStreamMaxSlots ||
        (slots & (slots - 1)) != 0 || size == 0 || size % protocol::kStreamSlotGranularity != 0 ||
        size > protocol::kStreamMaxSlotSize) {
      return Fail(kIOReturnBadArgument,
                  "receive slots: %" PRIu64 " of %" PRIu64
                  " bytes; slots must be a power of two from %u to %u, slot sizes a multiple of "
                  "%" PRIu64 " bytes",
                  slots, size, protocol::kStreamMinSlots, protocol::kStreamMaxSlots,
                  protocol::kStreamSlotGranularity);
    }
    if (buffer == nullptr) {
      const uint64_t bytes = (slots * size + 16383) & ~uint64_t{16383};
      impl->ownMemory = std::aligned_alloc(16384, bytes);
      if (impl->ownMemory == nullptr) return Status(kIOReturnNoMemory, "no memory for the slots");
      std::memset(impl->ownMemory, 0, bytes);
      const Status r = Register({static_cast<std::byte*>(impl->ownMemory), bytes},
                                BufferDirection::kFromCard, &impl->ownBuffer);
      if (!r) return r;
      buffer = &impl->ownBuffer;
    } else if (!buffer->valid() || buffer->memory().size() < slots * size) {
      return Status(kIOReturnBadArgument,
                    "the receive buffer is not registered or shorter than slots × slotSize");
    }
  }
  uint64_t in[protocol::kStreamOpenSlots + 1] = {};
  in[protocol::kStreamOpenDirection] = static_cast<uint64_t>(direction);
  in[protocol::kStreamOpenChannel] =
      options.channel < 0 ? protocol::kStreamAnyChannel : static_cast<uint64_t>(options.channel);
  in[protocol::kStreamOpenBuffer] = receive ? buffer->id() : 0;
  in[protocol::kStreamOpenSlotSize] = receive ? options.slotSize : 0;
  in[protocol::kStreamOpenSlots] = receive ? options.slots : 0;
  uint64_t out[protocol::kStreamOpenedRingBytes + 1] = {};
  uint32_t count = std::size(out);
  int ret = s.transport->Call(protocol::kSelectorStreamOpen, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) {
    const char* reason = Reason(ret);
    if (ret == kIOReturnExclusiveAccess) {
      reason = "every stream channel of that direction is open already";
    } else if (ret == kIOReturnNotFound) {
      reason = "the board has no such stream channel";
    }
    return Fail(ret, "opening a %s stream: %s (%s)", receive ? "from-card" : "to-card", reason,
                IOReturnName(ret));
  }
  impl->channel = static_cast<uint32_t>(out[protocol::kStreamOpenedChannel]);
  if (receive) {
    uint64_t size = 0;
    ret = s.transport->Map(protocol::kMemoryTypeStreamReceive, &impl->address, &size);
    const auto* header =
        reinterpret_cast<protocol::StreamRingHeader*>(static_cast<uintptr_t>(impl->address));
    if (ret != kIOReturnSuccess || size < protocol::StreamRingBytes(options.slots) ||
        header->magic != protocol::kStreamMagic || header->slots != options.slots) {
      if (ret == kIOReturnSuccess) {
        (void)s.transport->Unmap(protocol::kMemoryTypeStreamReceive, impl->address);
      }
      uint64_t close[1] = {static_cast<uint64_t>(direction)};
      (void)s.transport->Call(protocol::kSelectorStreamClose, close, 1, nullptr, nullptr);
      return Fail(ret == kIOReturnSuccess ? kIOReturnNoMemory : ret,
                  "mapping the stream's receive ring failed (%s)", IOReturnName(ret));
    }
    impl->header = const_cast<protocol::StreamRingHeader*>(header);
    auto* ring = reinterpret_cast<const std::byte*>(header);
    impl->completions =
        reinterpret_cast<const protocol::StreamCompletion*>(ring + header->completionOffset);
    impl->slots = options.slots;
    impl->slotSize = options.slotSize;
    impl->base = buffer->memory().data();
    impl->token = header->sanitizerToken;
    impl->released.assign(options.slots, false);
  }
  impl->device = &s;
  {
    std::lock_guard guard(s.lock);
    s.streams[Index(direction)] = impl.get();
  }
  stream->impl_ = std::move(impl);
  return Status::Ok();
}

Stream::Stream() = default;
Stream::~Stream() {
  (void)Close();
}
Stream::Stream(Stream&& other) noexcept = default;
Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    (void)Close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

bool Stream::valid() const {
  if (!impl_) return false;
  std::lock_guard guard(impl_->lock);  // Device::Close detaches the stream on its own thread
  return impl_->device != nullptr;
}
StreamDirection Stream::direction() const {
  return impl_ ? impl_->direction : StreamDirection::kToCard;
}
uint32_t Stream::channel() const {
  return impl_ ? impl_->channel : 0;
}

Status Stream::Close() {
  if (!impl_) return Status::Ok();
  if (Session* s = impl_->device; s != nullptr) {
    {
      std::lock_guard guard(s->lock);
      s->streams[Index(impl_->direction)] = nullptr;
    }
    impl_->Stop();
  }
  impl_.reset();  // StreamBuffers still held keep the memory until they go
  return Status::Ok();
}

Status Stream::Send(std::span<const std::byte> data, bool endOfPacket) {
  if (!valid()) return Status(kIOReturnNotOpen, "the stream is not open");
  if (impl_->direction != StreamDirection::kToCard) {
    return Status(kIOReturnNotPermitted, "Send on a stream from the card");
  }
  Session* attached = nullptr;
  const auto use = impl_->Attach(&attached);  // Device::Close on another thread waits for us
  if (!use.owns_lock()) return Status(kIOReturnNotOpen, "the stream was closed");
  Session& s = *attached;
  if (s.gone()) return Gone("sending on a stream");
  uint64_t in[protocol::kStreamSendFlags + 1] = {};
  in[protocol::kStreamSendAddress] = reinterpret_cast<uintptr_t>(data.data());
  in[protocol::kStreamSendLength] = data.size();
  in[protocol::kStreamSendFlags] = endOfPacket ? protocol::kStreamEndOfPacket : 0;
  uint64_t out[1] = {};
  uint32_t count = 1;
  const int ret = s.transport->Call(protocol::kSelectorStreamSend, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "sending 0x%zx bytes on stream channel %u: %s (%s)", data.size(),
                impl_->channel, Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

Status Stream::Counters(StreamCounters* counters) const {
  if (counters == nullptr) return Status(kIOReturnBadArgument, "Counters: no StreamCounters");
  if (!valid()) return Status(kIOReturnNotOpen, "the stream is not open");
  Session* attached = nullptr;
  const auto use = impl_->Attach(&attached);
  if (!use.owns_lock()) return Status(kIOReturnNotOpen, "the stream was closed");
  Session& s = *attached;
  if (s.gone()) return Gone("reading stream counters");
  uint64_t in[protocol::kStreamCountersDirection + 1] = {};
  in[protocol::kStreamCountersDirection] = static_cast<uint64_t>(impl_->direction);
  uint64_t out[protocol::kStreamCounterCount] = {};
  uint32_t count = std::size(out);
  const int ret =
      s.transport->Call(protocol::kSelectorStreamCounters, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) return StreamCallError(ret, "reading stream counters");
  *counters = StreamCounters{out[protocol::kStreamPackets],  out[protocol::kStreamBytes],
                             out[protocol::kStreamOverruns], out[protocol::kStreamDropped],
                             out[protocol::kStreamErrors],   out[protocol::kStreamDescriptors]};
  return Status::Ok();
}

}  // namespace fpgadext
