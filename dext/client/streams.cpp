// A client's AXI-Stream channels (streams.h, docs/streams.md).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "client/streams.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>

#include "client/transfers.h"
#include "descriptor_host_memory.h"
#include "polling.h"
#include "stream_resources.h"

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;

namespace {

constexpr uint64_t kReceiveSpinNs = 2'000'000;  // keep polling this long after the last data
constexpr uint64_t kReceiveBackoffMs = 1;       // then poll every millisecond
constexpr uint32_t kCollectBatch = 32;          // completions per engine call
// A Send that makes no progress this long (the card's stream sink holds TREADY low) is stopped:
// the client's queue must not be held forever.
constexpr uint64_t kSendStallNs = 2'000'000'000;

uint64_t StreamNowNs() {
  static mach_timebase_info_data_t timebase;
  if (timebase.denom == 0) mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

protocol::StreamRingHeader* Header(StreamReceiver* r) {
  return reinterpret_cast<protocol::StreamRingHeader*>(r->base);
}

// The bus range of bytes [offset, offset + length) of a registered buffer, if one segment holds
// them all: a receive slot is one descriptor.
bool ContiguousRange(const PreparedSegments& prepared, uint64_t offset, uint64_t length,
                     uint64_t* bus) {
  uint64_t start = 0;
  for (uint32_t i = 0; i < prepared.count; ++i) {
    const engine::BusSegment& s = prepared.segments[i];
    if (offset < start + s.length) {
      if (offset - start + length > s.length) return false;
      *bus = s.address + (offset - start);
      return true;
    }
    start += s.length;
  }
  return false;
}

// The receiver's counters, in StreamCounter order (its own copy: never read back from the
// header, which the app can write).
void ReceiverCounters(const StreamReceiver* r, uint64_t* out) {
  out[protocol::kStreamPackets] = r->packets;
  out[protocol::kStreamBytes] = r->bytes;
  out[protocol::kStreamOverruns] = r->engine.starvations - r->atOpen.starvations;
  out[protocol::kStreamDropped] = 0;
  out[protocol::kStreamErrors] = r->failed;
  out[protocol::kStreamDescriptors] = r->engine.descriptors - r->atOpen.descriptors;
}

void PublishCounters(StreamReceiver* r) {
  uint64_t values[protocol::kStreamCounterCount];
  ReceiverCounters(r, values);
  for (uint32_t i = 0; i < protocol::kStreamCounterCount; ++i) {
    __atomic_store_n(&Header(r)->counters[i], values[i], __ATOMIC_RELAXED);
  }
}

}  // namespace

IOReturn Streams::Channels(DriverResources& board, IOUserClientMethodArguments* arguments) {
  StreamResources* streams = board.Streams();
  arguments->scalarOutput[protocol::kStreamChannelsToCard] =
      streams != nullptr ? streams->Channels(kToCard) : 0;
  arguments->scalarOutput[protocol::kStreamChannelsFromCard] =
      streams != nullptr ? streams->Channels(kFromCard) : 0;
  arguments->scalarOutputCount = 2;
  return kIOReturnSuccess;
}

IOReturn Streams::Open(IOUserClient* client, DriverResources& board, BufferTable& buffers,
                       IOUserClientMethodArguments* arguments) {
  StreamResources* streams = board.Streams();
  if (streams == nullptr) return kIOReturnUnsupported;
  const uint64_t* in = arguments->scalarInput;
  const uint64_t direction = in[protocol::kStreamOpenDirection];
  if (direction != protocol::kStreamToCard && direction != protocol::kStreamFromCard) {
    return kIOReturnBadArgument;
  }
  const bool receive = direction == protocol::kStreamFromCard;
  if (receive ? bool(receiver_) : sending_) return kIOReturnBusy;
  const uint32_t engineDirection = receive ? kFromCard : kToCard;
  uint32_t channel = 0;
  if (!receive) {
    IOReturn ret = streams->Claim(engineDirection, in[protocol::kStreamOpenChannel], &channel);
    if (ret != kIOReturnSuccess) return ret;
    sending_ = true;
    sendChannel_ = channel;
    sendBase_ = streams->Mover().Counters(engine::Direction::kHostToCard, channel);
    arguments->scalarOutput[protocol::kStreamOpenedChannel] = channel;
    arguments->scalarOutput[protocol::kStreamOpenedRingBytes] = 0;
    arguments->scalarOutputCount = 2;
    return kIOReturnSuccess;
  }
  // Receive: every argument checked before anything is taken.
  const uint64_t slots = in[protocol::kStreamOpenSlots];
  const uint64_t slotSize = in[protocol::kStreamOpenSlotSize];
  if (slots < protocol::kStreamMinSlots || slots > protocol::kStreamMaxSlots ||
      (slots & (slots - 1)) != 0 || slotSize == 0 ||
      slotSize % protocol::kStreamSlotGranularity != 0 || slotSize > protocol::kStreamMaxSlotSize) {
    return kIOReturnBadArgument;
  }
  const uint64_t id = in[protocol::kStreamOpenBuffer];
  RegisteredBuffer* b = buffers.Find(id);
  if (b == nullptr) return kIOReturnNotFound;
  if (!(b->direction & protocol::kBufferFromCard)) return kIOReturnNotPermitted;
  if (slots * slotSize > b->prepared.length) return kIOReturnBadArgument;
  StreamReceiver* r = receiver_.Emplace();
  r->slots = static_cast<uint32_t>(slots);
  r->bufferSlot = BufferTable::SlotOf(id);
  for (uint32_t i = 0; i < r->slots; ++i) {
    uint64_t bus = 0;
    if (!ContiguousRange(b->prepared, i * slotSize, slotSize, &bus)) {
      receiver_.Reset();
      return kIOReturnNoResources;  // a slot would need two descriptors
    }
    r->buffers[i] = engine::StreamBuffer{bus, static_cast<uint32_t>(slotSize)};
  }
  const uint64_t bytes = (protocol::StreamRingBytes(r->slots) + 16383) & ~16383ull;
  IOReturn ret =
      IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, bytes, 0, r->memory.attach());
  if (ret == kIOReturnSuccess) ret = r->memory->SetLength(bytes);
  IOAddressSegment range{};
  if (ret == kIOReturnSuccess) ret = r->memory->GetAddressRange(&range);
  if (ret == kIOReturnSuccess) {
    ret = IODispatchQueue::Create("fpgadext.stream", 0, 0, r->queue.attach());
  }
  if (ret == kIOReturnSuccess) {
    ret = streams->Claim(engineDirection, in[protocol::kStreamOpenChannel], &channel);
  }
  if (ret != kIOReturnSuccess) {
    receiver_.Reset();
    return ret;
  }
  r->channel = channel;
  r->base = reinterpret_cast<uint8_t*>(range.address);
  protocol::StreamRingHeader* header = Header(r);
  header->magic = protocol::kStreamMagic;
  header->slots = r->slots;
  header->slotSize = slotSize;
  header->completionOffset = sizeof(protocol::StreamRingHeader);
#ifdef FPGADEXT_RING_SANITIZER_TOKENS
  r->sanitizerToken = reinterpret_cast<uintptr_t>(r);
  header->sanitizerToken = r->sanitizerToken;
#endif
  engine::StreamMover* mover = &streams->Mover();
  r->atOpen = r->engine = mover->Counters(engine::Direction::kCardToHost, channel);
  ret = mover->StartReceive(channel, r->buffers, r->slots);
  if (ret != kIOReturnSuccess) {
    streams->Unclaim(engineDirection, channel);
    receiver_.Reset();
    return ret;
  }
  r->lastWorkNs = StreamNowNs();
  client->retain();
  r->queue->DispatchAsync(^{
    Service(client, mover, r);
    client->release();
  });
  arguments->scalarOutput[protocol::kStreamOpenedChannel] = channel;
  arguments->scalarOutput[protocol::kStreamOpenedRingBytes] = bytes;
  arguments->scalarOutputCount = 2;
  return kIOReturnSuccess;
}

void Streams::StopReceiver(IOUserClient* client, DriverResources& board) {
  StreamReceiver* r = receiver_.get();
  if (r == nullptr) return;
  r->stopping.store(true, std::memory_order_release);
  r->queue->DispatchSync(^{
    if (r->waiter) {
      uint64_t arguments[1] = {r->published};
      client->AsyncCompletion(r->waiter.get(), kIOReturnAborted, arguments, 1);
      r->waiter.reset();
    }
  });
  r->queue->DispatchSync(^{
      // a service pass queued by the one before: it returns at once
  });
  StreamResources* streams = board.Streams();
  // The channel stops before the buffer can be unregistered: the card never writes a slot after
  // this (if it did not stop, its memory stays prepared: the registration is kept busy).
  (void)streams->Mover().Stop(engine::Direction::kCardToHost, r->channel);
  streams->Unclaim(kFromCard, r->channel);
  receiver_.Reset();  // the app's mapping keeps its own reference to the ring
}

IOReturn Streams::Close(IOUserClient* client, DriverResources& board, uint64_t direction) {
  if (direction == protocol::kStreamToCard) {
    if (!sending_) return kIOReturnNotFound;
    (void)board.Streams()->Mover().Stop(engine::Direction::kHostToCard, sendChannel_);
    board.Streams()->Unclaim(kToCard, sendChannel_);
    sending_ = false;
    return kIOReturnSuccess;
  }
  if (direction != protocol::kStreamFromCard) return kIOReturnBadArgument;
  if (!receiver_) return kIOReturnNotFound;
  StopReceiver(client, board);
  return kIOReturnSuccess;
}

void Streams::Stop(IOUserClient* client, DriverResources& board) {
  (void)Close(client, board, protocol::kStreamToCard);
  (void)Close(client, board, protocol::kStreamFromCard);
}

IOReturn Streams::Send(IOUserClient* client, DriverResources& board, Transfers& transfers,
                       IOUserClientMethodArguments* arguments) {
  if (!sending_) return kIOReturnNotOpen;
  const uint64_t address = arguments->scalarInput[protocol::kStreamSendAddress];
  const uint64_t length = arguments->scalarInput[protocol::kStreamSendLength];
  const uint64_t flags = arguments->scalarInput[protocol::kStreamSendFlags];
  if (flags & ~uint64_t{protocol::kStreamEndOfPacket}) return kIOReturnBadArgument;
  // XDMA cannot send an empty packet (a beat with TLAST and no byte is invalid: PG195): the
  // engine refuses length 0.
  if (length == 0 || address + length < address || length > protocol::kMaxTransferLength) {
    return kIOReturnBadArgument;
  }
  const IOAddressSegment segment{address, length};
  OSSharedPtr<IOMemoryDescriptor> memory;
  IOReturn ret = client->CreateMemoryDescriptorFromClient(
      kIOMemoryDirectionOut | kIOMemoryDisableCopyOnWrite, 1, &segment, memory.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = transfers.commands().Fill(board.Device(), transfers.slots());
  if (ret != kIOReturnSuccess) return ret;
  engine::StreamMover& mover = board.Streams()->Mover();
  uint64_t done = 0;
  {
    DescriptorHostMemory host(memory.get(), 0, length, transfers.commands().get(),
                              transfers.slots());
    const bool endOfPacket = (flags & protocol::kStreamEndOfPacket) != 0;
    ret = mover.Send(sendChannel_, host, 0, 0, length, endOfPacket);
    if (ret == kIOReturnBusy) {
      // This client's calls come one at a time, so no Send is in flight: a fault left the
      // channel busy (a hang whose engine a Stop did not yet find idle). Look again.
      (void)mover.Stop(engine::Direction::kHostToCard, sendChannel_);
      ret = mover.Send(sendChannel_, host, 0, 0, length, endOfPacket);
    }
    uint64_t lastProgress = StreamNowNs();
    uint64_t before = 0;
    while (ret == kIOReturnSuccess) {
      ret = mover.PollSend(sendChannel_, &done);
      if (ret != kIOReturnNotReady) break;
      ret = kIOReturnSuccess;
      const uint64_t now = StreamNowNs();
      if (done != before) {
        before = done;
        lastProgress = now;
      } else if (now - lastProgress > kSendStallNs) {
        ret = kIOReturnTimeout;
        break;
      }
      PollPause();
    }
    // After an error the channel stops (the engine's rule), which also gives every window back.
    if (ret != kIOReturnSuccess) {
      (void)mover.Stop(engine::Direction::kHostToCard, sendChannel_);
    }
  }
  arguments->scalarOutput[0] = done;
  arguments->scalarOutputCount = 1;
  return ret;
}

IOReturn Streams::Wait(IOUserClient* client, OSAction* completion, uint64_t index) {
  StreamReceiver* r = receiver_.get();
  if (r == nullptr) return kIOReturnNotFound;
  if (completion == nullptr) return kIOReturnBadArgument;
  IOReturn ret = kIOReturnSuccess;
  IOReturn* result = &ret;
  r->queue->DispatchSync(^{
    if (r->published != static_cast<uint32_t>(index) || r->failure != kIOReturnSuccess) {
      uint64_t now[1] = {r->published};
      client->AsyncCompletion(completion, r->failure, now, 1);
    } else if (r->waiter) {
      *result = kIOReturnBusy;  // one waiter at a time
    } else {
      r->waiter.reset(completion, OSRetain);
      r->waitIndex = static_cast<uint32_t>(index);
    }
  });
  return ret;
}

IOReturn Streams::Counters(DriverResources& board, IOUserClientMethodArguments* arguments) {
  const uint64_t direction = arguments->scalarInput[protocol::kStreamCountersDirection];
  uint64_t* out = arguments->scalarOutput;
  for (uint32_t i = 0; i < protocol::kStreamCounterCount; ++i) out[i] = 0;
  arguments->scalarOutputCount = protocol::kStreamCounterCount;
  if (direction == protocol::kStreamToCard) {
    if (!sending_) return kIOReturnNotFound;
    const engine::StreamCounters c =
        board.Streams()->Mover().Counters(engine::Direction::kHostToCard, sendChannel_);
    // Since this stream opened: the engine counts from its Probe.
    out[protocol::kStreamPackets] = c.packets - sendBase_.packets;
    out[protocol::kStreamBytes] = c.bytes - sendBase_.bytes;
    out[protocol::kStreamErrors] = c.errors - sendBase_.errors;
    out[protocol::kStreamDescriptors] = c.descriptors - sendBase_.descriptors;
    return kIOReturnSuccess;
  }
  if (direction != protocol::kStreamFromCard) return kIOReturnBadArgument;
  StreamReceiver* r = receiver_.get();
  if (r == nullptr) return kIOReturnNotFound;
  r->queue->DispatchSync(^{  // the receive queue drives the channel: read its counters there
    ReceiverCounters(r, out);
  });
  return kIOReturnSuccess;
}

IOReturn Streams::CopyMemory(IOMemoryDescriptor** memory) {
  if (!receiver_) return kIOReturnNotReady;
  IOBufferMemoryDescriptor* ring = receiver_->memory.get();
  ring->retain();  // +1: the kernel releases one reference
  *memory = ring;
  return kIOReturnSuccess;
}

// On the receive queue: hand back what the app released, collect what the card wrote, publish.
void Streams::Service(IOUserClient* client, engine::StreamMover* mover, StreamReceiver* r) {
  if (r->stopping.load(std::memory_order_acquire)) return;
  protocol::StreamRingHeader* header = Header(r);
  auto* completions =
      reinterpret_cast<protocol::StreamCompletion*>(r->base + sizeof(protocol::StreamRingHeader));
  const uint32_t mask = r->slots - 1;
  const uint32_t errorsBefore = r->errors;
  bool worked = false;
  // 1. Slots the app handed back go to the card again. Its index is loaded once.
  const uint32_t head = __atomic_load_n(&header->cqHead, __ATOMIC_ACQUIRE);
  protocol::RingSanitizerAcquire(r->sanitizerToken);
  bool bogus = false;
  const uint32_t back = StreamConsumerIndex::Accept(head, r->handedBack, r->published, &bogus);
  if (bogus) r->errors |= protocol::kStreamErrorConsumerIndex;
  for (uint32_t i = 0; i < back && r->failure == kIOReturnSuccess; ++i) {
    const IOReturn reposted = mover->Repost(r->channel, r->handedBack & mask);
    if (reposted != kIOReturnSuccess) r->failure = reposted;
    ++r->handedBack;
    worked = true;
  }
  // 2. What the card wrote, in slot order.
  while (r->failure == kIOReturnSuccess) {
    engine::StreamCompletion got[kCollectBatch];
    uint32_t n = 0;
    const IOReturn collected = mover->Collect(r->channel, got, kCollectBatch, &n);
    for (uint32_t i = 0; i < n; ++i) {
      protocol::StreamCompletion c{};
      c.slot = r->published & mask;
      c.flags = got[i].flags & protocol::kStreamEndOfPacket;
      c.length = got[i].length;
      c.status = got[i].buffer == c.slot ? kIOReturnSuccess : kIOReturnInternalError;
      if (c.status != kIOReturnSuccess) ++r->failed;
      r->bytes += c.length;
      if (c.flags & protocol::kStreamEndOfPacket) ++r->packets;
      __builtin_memcpy(&completions[c.slot], &c, sizeof(c));
      ++r->published;
    }
    if (n != 0) {
      worked = true;
      protocol::RingSanitizerRelease(r->sanitizerToken);
      __atomic_store_n(&header->cqTail, r->published, __ATOMIC_RELEASE);
    }
    if (collected != kIOReturnSuccess && collected != kIOReturnNotReady) {
      r->failure = collected;  // the engine stopped the channel; the stream stays failed
      ++r->failed;
      r->errors |= protocol::kStreamErrorChannel;
    }
    if (collected != kIOReturnSuccess || n < kCollectBatch) break;
  }
  r->engine = mover->Counters(engine::Direction::kCardToHost, r->channel);
  PublishCounters(r);
  if (r->errors != errorsBefore) __atomic_store_n(&header->errors, r->errors, __ATOMIC_RELEASE);
  const uint64_t now = StreamNowNs();
  if (r->waiter && (r->published != r->waitIndex || r->failure != kIOReturnSuccess)) {
    uint64_t arguments[1] = {r->published};
    client->AsyncCompletion(r->waiter.get(), r->failure, arguments, 1);
    r->waiter.reset();
  }
  if (worked) {
    r->lastWorkNs = now;
  } else if (now - r->lastWorkNs > kReceiveSpinNs) {
    IOSleep(kReceiveBackoffMs);  // idle: poll at 1 kHz
  } else {
    PollPause();
  }
  client->retain();
  r->queue->DispatchAsync(^{
    Service(client, mover, r);
    client->release();
  });
}

}  // namespace fpgadext::dext::client
