// A client's submission ring (submission_ring.h, docs/ring.md).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "client/submission_ring.h"

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

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;
using engine::RingStep;

namespace {

constexpr uint64_t kRingSpinNs = 2'000'000;  // keep polling this long after the last entry
constexpr uint64_t kRingBackoffMs = 1;  // then, for an app that never rang the doorbell, every ms
constexpr uint32_t kRingBatch = 64;     // entries per pass before yielding the queue
constexpr uint64_t kChannelWaitNs = 100'000'000;  // for a channel a transfer holds a moment

uint64_t RingNowNs() {
  static mach_timebase_info_data_t timebase;
  if (timebase.denom == 0) mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

protocol::RingHeader* Header(RingState* ring) {
  return reinterpret_cast<protocol::RingHeader*>(ring->base);
}

// A channel whose engine did not stop goes to the pool's quarantine, not back to its free set.
void ReleaseRingChannels(DriverResources& board, const uint32_t channels[2],
                         const uint32_t stranded[2] = nullptr) {
  for (uint32_t d = 0; d < 2; ++d) {
    const uint32_t stuck = stranded != nullptr ? stranded[d] & channels[d] : 0;
    board.QuarantineChannels(d, stuck);
    board.ReleaseChannels(d, channels[d] & ~stuck);
  }
}

}  // namespace

IOReturn SubmissionRing::Create(IOUserClient* client, DriverResources& board, BufferTable& buffers,
                                engine::ChannelClient* channelClient, uint64_t entries,
                                uint64_t directions, uint64_t* size) {
  if (state_) return kIOReturnBusy;
  if (!engine::RingValidator::ValidGeometry(entries, directions)) return kIOReturnBadArgument;
  // One owning client per channel: take one per direction, or refuse. Never the last shared
  // channel of a direction (every client's transfers keep one): refused at once. A channel a
  // transfer of another client holds for a moment comes free soon: wait up to 100 ms for it.
  uint32_t channels[2] = {};
  const uint64_t deadline = RingNowNs() + kChannelWaitNs;
  for (uint32_t d = 0; d < 2; ++d) {
    const uint64_t bit = d == kToCard ? protocol::kRingToCard : protocol::kRingFromCard;
    if (!(directions & bit)) continue;
    IOReturn taken = board.AcquireChannel(d, &channels[d]);
    while (taken == kIOReturnBusy && RingNowNs() < deadline) {
      IODelay(50);  // a sleep: a one-time setup, latency does not matter
      taken = board.AcquireChannel(d, &channels[d]);
    }
    if (taken != kIOReturnSuccess) {
      channels[d] = 0;
      ReleaseRingChannels(board, channels);
      return taken == kIOReturnBusy ? kIOReturnExclusiveAccess : taken;
    }
  }
  const uint64_t bytes = (protocol::RingBytes(static_cast<uint32_t>(entries)) + 16383) & ~16383ull;
  RingState* ring = state_.Emplace(static_cast<uint32_t>(entries), directions);
  IOReturn ret =
      IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, bytes, 0, ring->memory.attach());
  if (ret == kIOReturnSuccess) ret = ring->memory->SetLength(bytes);
  IOAddressSegment range{};
  if (ret == kIOReturnSuccess) ret = ring->memory->GetAddressRange(&range);
  if (ret == kIOReturnSuccess) {
    ret = IODispatchQueue::Create("fpgadext.ring", 0, 0, ring->queue.attach());
  }
  if (ret != kIOReturnSuccess) {
    state_.Reset();
    ReleaseRingChannels(board, channels);
    return ret;
  }
  ring->base = reinterpret_cast<uint8_t*>(range.address);
  ring->channels[0] = channels[0];
  ring->channels[1] = channels[1];
  ring->channelClient = channelClient;
  ring->board = &board;
  ring->buffers = &buffers;
  ring->lastWorkNs = RingNowNs();
  protocol::RingHeader* header = Header(ring);
  header->magic = protocol::kRingMagic;
  header->entries = static_cast<uint32_t>(entries);
  header->submissionOffset = sizeof(protocol::RingHeader);
  header->completionOffset = static_cast<uint32_t>(sizeof(protocol::RingHeader) +
                                                   entries * sizeof(protocol::RingSubmission));
#ifdef FPGADEXT_RING_SANITIZER_TOKENS
  ring->sanitizerToken = reinterpret_cast<uintptr_t>(ring);
  header->sanitizerToken = ring->sanitizerToken;  // for the app; the dext keeps its own copy
#endif
  Schedule(client, ring);
  *size = bytes;
  return kIOReturnSuccess;
}

IOReturn SubmissionRing::Destroy(IOUserClient* client, DriverResources& board) {
  RingState* ring = state_.get();
  if (ring == nullptr) return kIOReturnNotFound;
  // The entry in flight finishes or is aborted; a pending wait completes with kIOReturnAborted.
  ring->stopping.store(true, std::memory_order_release);
  ring->queue->DispatchSync(^{
    if (ring->waiter) {
      uint64_t arguments[1] = {ring->validator.cqTail()};
      client->AsyncCompletion(ring->waiter.get(), kIOReturnAborted, arguments, 1);
      ring->waiter.reset();
    }
  });
  ring->queue->DispatchSync(^{
      // a service pass queued by one before: it returns at once
  });
  ReleaseRingChannels(board, ring->channels, ring->stranded);
  state_.Reset();  // the app's mapping keeps its own reference to the memory
  return kIOReturnSuccess;
}

IOReturn SubmissionRing::Wait(IOUserClient* client, OSAction* completion, uint64_t index) {
  RingState* ring = state_.get();
  if (ring == nullptr) return kIOReturnNotFound;
  if (completion == nullptr) return kIOReturnBadArgument;
  // The block writes the result through a pointer (DispatchSync runs it before returning): no
  // __block variable, whose byref helpers a sanitizer build would instrument.
  IOReturn ret = kIOReturnSuccess;
  IOReturn* result = &ret;
  ring->queue->DispatchSync(^{
    if (ring->validator.cqTail() != static_cast<uint32_t>(index)) {
      uint64_t now[1] = {ring->validator.cqTail()};
      client->AsyncCompletion(completion, kIOReturnSuccess, now, 1);
    } else if (ring->waiter) {
      *result = kIOReturnBusy;  // one waiter at a time
    } else {
      ring->waiter.reset(completion, OSRetain);
      ring->waitIndex = index;
    }
  });
  return ret;
}

IOReturn SubmissionRing::Doorbell(IOUserClient* client) {
  RingState* ring = state_.get();
  if (ring == nullptr) return kIOReturnNotFound;
  ring->doorbellKnown.store(true, std::memory_order_release);
  // Exactly one of the doorbell and the poller's own re-check takes the sleeping poller.
  if (ring->parked.exchange(false, std::memory_order_acq_rel)) Schedule(client, ring);
  return kIOReturnSuccess;
}

IOReturn SubmissionRing::CopyMemory(IOMemoryDescriptor** memory) {
  if (!state_) return kIOReturnNotReady;
  IOBufferMemoryDescriptor* ringMemory = state_->memory.get();
  ringMemory->retain();  // +1: the kernel releases one reference
  *memory = ringMemory;
  return kIOReturnSuccess;
}

void SubmissionRing::Exclusive(IODispatchBlock change) {
  if (state_) {
    state_->queue->DispatchSync(change);
  } else {
    change();
  }
}

// One submission, already copied out of shared memory.
protocol::RingCompletion SubmissionRing::Execute(DriverResources* board, BufferTable* buffers,
                                                 RingState* ring,
                                                 const protocol::RingSubmission& entry) {
  protocol::RingCompletion c{};
  c.tag = entry.tag;
  const engine::RingEntryVerdict v =
      ring->validator.Check(entry, buffers->RingView(), protocol::kMaxRegisteredBuffers);
  c.status = v.status;
  if (v.status != kIOReturnSuccess || v.length == 0) return c;
  const uint32_t direction = static_cast<uint32_t>(v.direction);
  const RegisteredBuffer& b = buffers->At(v.bufferSlot);
  PreparedHostMemory host(b.prepared, b.memory.get(), v.bufferOffset, v.length, 1, b.hold);
  IOReturn r = board->BeginTransfer(direction, v.cardAddress, &host, v.length, &ring->job,
                                    ring->channels[direction], ring->channelClient);
  while (r == kIOReturnSuccess || r == kIOReturnNotReady) {
    r = board->PollTransfer(&ring->job);
    if (r != kIOReturnNotReady) break;
    if (ring->stopping.load(std::memory_order_relaxed)) {
      board->AbortTransfer(&ring->job, kIOReturnAborted);
      r = kIOReturnAborted;
      break;
    }
    PollPause();
  }
  if (ring->job.quarantined != 0) {
    ring->stranded[direction] |= ring->job.quarantined;
  } else if (r == kIOReturnSuccess) {
    ring->stranded[direction] = 0;  // it ran to the end: the engine is idle
  }
  c.status = r;
  c.bytes = ring->job.done;
  return c;
}

void SubmissionRing::Schedule(IOUserClient* client, RingState* ring) {
  client->retain();
  ring->queue->DispatchAsync(^{
    Service(client, ring);
    client->release();
  });
}

// The SQPOLL pattern (docs/ring.md, "Wake-up"): the dext stores the flag, then loads sqTail;
// the app stores sqTail, then loads the flag, each with a full fence between. At least one of
// them sees the other's store, so a request posted as the poller goes to sleep is either found
// by the re-check here or answered by a doorbell: never left waiting.
bool SubmissionRing::Sleep(RingState* ring) {
  protocol::RingHeader* header = Header(ring);
  engine::RingValidator& v = ring->validator;
  ring->parked.store(true, std::memory_order_seq_cst);
  __atomic_store_n(&header->pollerSleeping, 1u, __ATOMIC_RELAXED);
  ring->sleepingPublished = true;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  const uint32_t errorsBefore = v.errors();
  const uint32_t tail = __atomic_load_n(&header->sqTail, __ATOMIC_ACQUIRE);
  const uint32_t consumed = __atomic_load_n(&header->cqHead, __ATOMIC_ACQUIRE);
  const bool work = v.Next(tail, consumed) == RingStep::kConsume;
  if (v.errors() != errorsBefore) __atomic_store_n(&header->errors, v.errors(), __ATOMIC_RELEASE);
  if (!work) return true;
  // Work after all: stay awake, unless a doorbell took the poller already (its pass is queued).
  return !ring->parked.exchange(false, std::memory_order_acq_rel);
}

// On the ring's queue: consume what the app published, then poll again (spin, then sleep until
// the doorbell).
void SubmissionRing::Service(IOUserClient* client, RingState* ring) {
  if (ring->stopping.load(std::memory_order_acquire)) return;
  DriverResources* board = ring->board;
  BufferTable* buffers = ring->buffers;
  protocol::RingHeader* header = Header(ring);
  if (ring->sleepingPublished) {  // woken: by the doorbell or by the re-check
    __atomic_store_n(&header->pollerSleeping, 0u, __ATOMIC_RELEASE);
    ring->sleepingPublished = false;
    ring->lastWorkNs = RingNowNs();
  }
  engine::RingValidator& v = ring->validator;
  const uint64_t token = ring->sanitizerToken;  // never the header's: the app can write that
  const auto* submissions =
      reinterpret_cast<const protocol::RingSubmission*>(ring->base + sizeof(protocol::RingHeader));
  auto* completions = reinterpret_cast<protocol::RingCompletion*>(
      ring->base + sizeof(protocol::RingHeader) +
      uint64_t{v.entries()} * sizeof(protocol::RingSubmission));
  uint32_t done = 0;
  const uint32_t errorsBefore = v.errors();
  while (done < kRingBatch && !ring->stopping.load(std::memory_order_relaxed)) {
    // Indices from the app are loaded once per step and never used as array indices.
    const uint32_t tail = __atomic_load_n(&header->sqTail, __ATOMIC_ACQUIRE);
    protocol::RingSanitizerAcquire(token);
    const uint32_t consumed = __atomic_load_n(&header->cqHead, __ATOMIC_ACQUIRE);
    if (v.Next(tail, consumed) != RingStep::kConsume) break;
    // Read the entry once; from here on only the copy is used.
    protocol::RingSubmission entry;
    __builtin_memcpy(&entry, &submissions[v.SubmissionSlot()], sizeof(entry));
    v.Consume();
    __atomic_store_n(&header->sqHead, v.sqHead(), __ATOMIC_RELEASE);
    const protocol::RingCompletion completion = Execute(board, buffers, ring, entry);
    __builtin_memcpy(&completions[v.CompletionSlot()], &completion, sizeof(completion));
    v.Complete();
    protocol::RingSanitizerRelease(token);
    __atomic_store_n(&header->cqTail, v.cqTail(), __ATOMIC_RELEASE);
    ++done;
  }
  if (v.errors() != errorsBefore) __atomic_store_n(&header->errors, v.errors(), __ATOMIC_RELEASE);
  const uint64_t now = RingNowNs();
  if (done != 0) {
    ring->lastWorkNs = now;
    if (ring->waiter) {
      uint64_t arguments[1] = {v.cqTail()};
      client->AsyncCompletion(ring->waiter.get(), kIOReturnSuccess, arguments, 1);
      ring->waiter.reset();
    }
  } else if (now - ring->lastWorkNs > kRingSpinNs) {
    if (!ring->doorbellKnown.load(std::memory_order_acquire)) {
      IOSleep(kRingBackoffMs);  // an app without the doorbell: poll at 1 kHz
    } else if (Sleep(ring)) {
      return;  // idle: no pass until the doorbell
    }
  } else {
    PollPause();
  }
  Schedule(client, ring);
}

}  // namespace fpgadext::dext::client
