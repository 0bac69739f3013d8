// XdmaStream, C2H half: the receive ring, completions from the C2H stream writeback, reposts
// by descriptor credits (PG195 "DMA C2H Stream", "Descriptor Credits"), and Stop for both
// directions. Part of xdma_stream.h (included at its end); include that one.
#pragma once

#include "xdma/xdma_stream.h"

namespace fpgadext::engine {
// ---- C2H ---------------------------------------------------------------------------------------

template <RegisterIo Io>
IOReturn XdmaStream<Io>::StartReceive(uint32_t c, const StreamBuffer* buffers, uint32_t count) {
  using namespace xdma;
  constexpr Direction d = Direction::kCardToHost;
  if (!Usable(d, c) || buffers == nullptr || count == 0) return kIOReturnBadArgument;
  const XdmaStreamReceiverMemory& m = config_.c2h[c];
  if (count > m.ring.capacity) return kIOReturnBadArgument;
  constexpr uint32_t kMaxBuffer = kDescriptorMaxLength & ~(kStreamC2hGranularity - 1);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t length = buffers[i].length;
    if (length == 0 || length % kStreamC2hGranularity != 0 || length > kMaxBuffer) {
      return kIOReturnBadArgument;
    }
  }
  Receiver& s = rx_[c];
  if (s.active || s.error != kIOReturnSuccess || stranded_[1][c]) return kIOReturnBusy;
  const IOReturn ready = regs_.CheckReady(d, c);
  if (ready != kIOReturnSuccess) return ready;

  // The ring: descriptor i fills buffer i and writes its writeback into result i; Completed on
  // each, no Stop, the last one linked to the first. One descriptor per block (Nxt_adj 0), so
  // each fetch takes one credit: a buffer is fetched only once it was posted.
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t next = i + 1 == count ? 0 : i + 1;
    m.ring.cpu[i] = Descriptor::Make(
        BusAt(m.resultSegments, m.resultSegmentCount, uint64_t{i} * sizeof(StreamResult)),
        buffers[i].bus, buffers[i].length,
        BusAt(m.ring.segments, m.ring.segmentCount, uint64_t{next} * sizeof(Descriptor)), 0,
        Descriptor::kCompleted);
    __atomic_store_n(&m.results[i].length, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&m.results[i].status, 0u, __ATOMIC_RELEASE);
  }
  const StreamCounters counters = s.counters;
  s = Receiver{};
  s.counters = counters;
  s.buffers = buffers;
  s.count = count;
  s.posted = count;
  s.active = true;
  s.nextStatusCheckNs = platform_.nowNs() + config_.statusCheckIntervalNs;

  regs_.ProgramChain(d, c, m.ring.segments[0].address, 0, nullptr);
  SetRun(d, c);
  // Credits after Run: a falling edge of Run clears them (PG195 "Descriptor Credits").
  SgdmaDescCredits::Get(Dir(d), c).FromValue(0).set_credits(count).WriteTo(io_);
  return kIOReturnSuccess;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::Collect(uint32_t c, StreamCompletion* out, uint32_t max,
                                 uint32_t* collected) {
  using namespace xdma;
  constexpr Direction d = Direction::kCardToHost;
  uint32_t n = 0;
  if (collected != nullptr) *collected = 0;
  if (!Usable(d, c) || out == nullptr || collected == nullptr) return kIOReturnBadArgument;
  Receiver& s = rx_[c];
  if (s.error != kIOReturnSuccess) return s.error;
  if (!s.active) return kIOReturnNotOpen;
  StreamResult* results = config_.c2h[c].results;
  while (n < max && s.posted != 0) {
    StreamResult& r = results[s.next];
    const uint32_t word = __atomic_load_n(&r.status, __ATOMIC_ACQUIRE);
    if (word == 0) break;
    const StreamWritebackStatus st = StreamWritebackStatus::Of(word);
    const uint32_t length = __atomic_load_n(&r.length, __ATOMIC_RELAXED);
    if (st.magic() != kStreamWritebackMagic || length == 0 || length > s.buffers[s.next].length) {
      *collected = n;
      return ReceiveFailed(c);  // a writeback that breaks the rules: trust nothing after it
    }
    out[n++] = StreamCompletion{s.next, length, st.eop() ? kStreamEndOfPacket : 0u};
    SetBit(s.held, s.next, true);
    --s.posted;
    s.next = s.next + 1 == s.count ? 0 : s.next + 1;
    ++s.counters.descriptors;
    s.counters.bytes += length;
    if (st.eop()) ++s.counters.packets;
  }
  *collected = n;
  if (s.posted == 0 && !s.starved) {
    s.starved = true;  // every buffer is with the consumer: the card is held back
    ++s.counters.starvations;
  }
  if (n != 0) return kIOReturnSuccess;
  const uint64_t now = platform_.nowNs();
  if (now >= s.nextStatusCheckNs) {
    s.nextStatusCheckNs = now + config_.statusCheckIntervalNs;
    const uint32_t status = regs_.ReadStatus(d, c);
    // The ring never ends, so an idle engine while receiving has stopped on something.
    if (status == kXdmaAllOnes || (status & ChannelStatus::kAnyErrorMask) != 0 ||
        (status & ChannelStatus::kBusy) == 0) {
      return ReceiveFailed(c);
    }
  }
  return kIOReturnNotReady;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::ReceiveFailed(uint32_t c) {
  using namespace xdma;
  constexpr Direction d = Direction::kCardToHost;
  Receiver& s = rx_[c];
  const uint32_t status = regs_.ReadClearStatus(d, c);
  // An idle engine without an error bit, or a broken writeback, maps to kIOReturnIOError.
  const IOReturn error = XdmaStatusToIOReturn(Dir(d), status);
  ++s.counters.errors;
  if (error != kIOReturnNoDevice) ClearRun(d, c);
  s.error = error;
  return error;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::Repost(uint32_t c, uint32_t buffer) {
  using namespace xdma;
  constexpr Direction d = Direction::kCardToHost;
  if (!Usable(d, c)) return kIOReturnBadArgument;
  Receiver& s = rx_[c];
  if (!s.active || buffer >= s.count || !Bit(s.held, buffer)) return kIOReturnBadArgument;
  SetBit(s.held, buffer, false);
  SetBit(s.back, buffer, true);
  if (s.error != kIOReturnSuccess) return kIOReturnSuccess;  // nothing is posted after an error
  // The engine fetches in ring order: post the run of returned buffers from repostNext on. The
  // result record is cleared before its credit, so an old writeback is never taken for new.
  StreamResult* results = config_.c2h[c].results;
  uint32_t credits = 0;
  while (Bit(s.back, s.repostNext)) {
    SetBit(s.back, s.repostNext, false);
    __atomic_store_n(&results[s.repostNext].length, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&results[s.repostNext].status, 0u, __ATOMIC_RELEASE);
    s.repostNext = s.repostNext + 1 == s.count ? 0 : s.repostNext + 1;
    ++credits;
  }
  if (credits != 0) {
    SgdmaDescCredits::Get(Dir(d), c).FromValue(0).set_credits(credits).WriteTo(io_);
    s.posted += credits;
    s.starved = false;
  }
  return kIOReturnSuccess;
}

// ---- Both --------------------------------------------------------------------------------------

template <RegisterIo Io>
IOReturn XdmaStream<Io>::Stop(Direction d, uint32_t c) {
  using namespace xdma;
  if (!Usable(d, c)) return kIOReturnBadArgument;
  const int di = static_cast<int>(d);
  // A stranded channel was given its stopTimeoutNs already: look once.
  const IOReturn idle = regs_.Stop(d, c, stranded_[di][c], config_.stopTimeoutNs);
  if (d == Direction::kHostToCard) {
    Sender& s = tx_[c];
    if (idle == kIOReturnNotResponding) {
      if (s.windowPrepared && !s.host->HandOverWindow(s.slot, &held_[c])) {
        s.host->CompleteWindow(s.slot);
      }
      s.windowPrepared = false;
      s.active = false;
      stranded_[0][c] = true;
      return idle;
    }
    if (s.windowPrepared) s.host->CompleteWindow(s.slot);
    held_[c].Release();
    const StreamCounters counters = s.counters;
    s = Sender{};
    s.counters = counters;
  } else {
    Receiver& s = rx_[c];
    if (idle == kIOReturnNotResponding) {
      // The buffers stay the device's: the caller must keep them mapped until a Stop succeeds.
      s.active = false;
      stranded_[1][c] = true;
      return idle;
    }
    const StreamCounters counters = s.counters;
    s = Receiver{};
    s.counters = counters;
  }
  stranded_[di][c] = false;
  if (idle != kIOReturnNoDevice) (void)regs_.ReadClearStatus(d, c);
  return idle;
}

}  // namespace fpgadext::engine
