// XdmaStream, H2C half: packets from HostMemory windows, EOP on the last descriptor (PG195
// "DMA H2C Stream"). Part of xdma_stream.h (included at its end); include that one.
#pragma once

#include "xdma/xdma_stream.h"

namespace fpgadext::engine {
// ---- H2C ---------------------------------------------------------------------------------------

template <RegisterIo Io>
IOReturn XdmaStream<Io>::Send(uint32_t c, HostMemory& host, uint32_t slot, uint64_t offset,
                              uint64_t length, bool endOfPacket) {
  if (!Usable(Direction::kHostToCard, c) || length == 0 || slot >= host.Slots()) {
    return kIOReturnBadArgument;
  }
  if (offset > host.Length() || length > host.Length() - offset) return kIOReturnBadArgument;
  Sender& s = tx_[c];
  if (s.active || s.windowPrepared || s.error != kIOReturnSuccess || stranded_[0][c]) {
    return kIOReturnBusy;
  }
  const StreamCounters counters = s.counters;
  s = Sender{};
  s.counters = counters;
  s.host = &host;
  s.slot = slot;
  s.nextOffset = offset;
  s.remaining = length;
  s.endOfPacket = endOfPacket;
  s.active = true;
  const IOReturn r = StartWindow(c);
  if (r != kIOReturnSuccess) {
    if (s.windowPrepared) host.CompleteWindow(slot);
    s.windowPrepared = false;
    s.active = false;
  }
  return r;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::StartWindow(uint32_t c) {
  using namespace xdma;
  constexpr Direction d = Direction::kHostToCard;
  Sender& s = tx_[c];
  const XdmaChannelMemory& m = config_.h2c[c];
  IOReturn r = regs_.CheckReady(d, c);
  if (r != kIOReturnSuccess) return r;

  BusSegment segments[kMaxSegmentsPerWindow];
  uint32_t count = kMaxSegmentsPerWindow;
  uint64_t covered = 0;
  r = s.host->PrepareWindow(s.slot, s.nextOffset, s.remaining, segments, &count, &covered);
  if (r != kIOReturnSuccess) return r;
  s.windowPrepared = true;
  if (count == 0 || count > kMaxSegmentsPerWindow || covered == 0 || covered > s.remaining) {
    return kIOReturnInternalError;  // HostMemory broke its contract
  }
  // The destination address is unused on H2C stream (PG195 "DMA H2C Stream"): 0 from 0 on.
  XdmaDescriptorChain chain;
  r = BuildXdmaDescriptors(m.ring, d, 0, segments, count, covered, maxDescriptor_, 1, &chain);
  if (r != kIOReturnSuccess) return r;
  // EOP on the packet's last descriptor: TLAST after its last byte.
  if (s.endOfPacket && chain.bytes == s.remaining) {
    m.ring.cpu[chain.count - 1].control |= Descriptor::kEop;
  }
  regs_.ProgramChain(d, c, m.ring.segments[0].address, chain.dscAdj, &m.writeback);
  SetRun(d, c);
  s.windowDescriptors = chain.count;
  s.windowBytes = chain.bytes;
  s.nextOffset += chain.bytes;
  s.remaining -= chain.bytes;
  s.nextStatusCheckNs = platform_.nowNs() + config_.statusCheckIntervalNs;
  return kIOReturnSuccess;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::PollSend(uint32_t c, uint64_t* done) {
  using namespace xdma;
  constexpr Direction d = Direction::kHostToCard;
  if (!Usable(d, c)) return kIOReturnBadArgument;
  Sender& s = tx_[c];
  if (done != nullptr) *done = s.doneBytes;
  if (s.error != kIOReturnSuccess) return s.error;
  if (!s.active) return kIOReturnNotOpen;
  const uint32_t* word = config_.h2c[c].writeback.cpu;
  const uint32_t expected = s.windowDescriptors & PollModeWriteback::completed_count_field::kMax;
  PollModeWriteback wb = PollModeWriteback::Of(__atomic_load_n(word, __ATOMIC_ACQUIRE));
  if (wb.sts_err()) return SendFailed(c, done);
  if (wb.completed_count() != expected) {
    const uint64_t now = platform_.nowNs();
    if (now < s.nextStatusCheckNs) return kIOReturnNotReady;
    s.nextStatusCheckNs = now + config_.statusCheckIntervalNs;
    const uint32_t status = regs_.ReadStatus(d, c);
    if (status == kXdmaAllOnes || (status & ChannelStatus::kAnyErrorMask) != 0) {
      return SendFailed(c, done);
    }
    if ((status & ChannelStatus::kBusy) != 0) return kIOReturnNotReady;
    wb = PollModeWriteback::Of(__atomic_load_n(word, __ATOMIC_ACQUIRE));
    if (wb.sts_err()) return SendFailed(c, done);
    if (wb.completed_count() != expected && regs_.CompletedCount(d, c) != s.windowDescriptors) {
      return SendFailed(c, done);  // idle with descriptors left: stopped
    }
  }
  // The window is through.
  ClearRun(d, c);
  s.host->CompleteWindow(s.slot);
  s.windowPrepared = false;
  s.doneBytes += s.windowBytes;
  s.counters.bytes += s.windowBytes;
  s.counters.descriptors += s.windowDescriptors;
  s.windowBytes = 0;
  s.windowDescriptors = 0;
  if (done != nullptr) *done = s.doneBytes;
  if (s.remaining == 0) {
    s.active = false;
    if (s.endOfPacket) ++s.counters.packets;
    return kIOReturnSuccess;
  }
  const IOReturn r = StartWindow(c);
  if (r != kIOReturnSuccess) {
    if (s.windowPrepared) s.host->CompleteWindow(s.slot);
    s.windowPrepared = false;
    s.active = false;
    s.error = r;
    ++s.counters.errors;
    return r;
  }
  return kIOReturnNotReady;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::SendFailed(uint32_t c, uint64_t* done) {
  using namespace xdma;
  constexpr Direction d = Direction::kHostToCard;
  Sender& s = tx_[c];
  const uint32_t status = regs_.ReadClearStatus(d, c);
  IOReturn error = XdmaStatusToIOReturn(Dir(d), status);
  ++s.counters.errors;
  if (error != kIOReturnNoDevice) {
    const uint32_t count = regs_.CompletedCount(d, c);
    if (count == kXdmaAllOnes) {
      error = kIOReturnNoDevice;
    } else {
      const uint32_t n = count < s.windowDescriptors ? count : s.windowDescriptors;
      s.doneBytes += XdmaChainPrefixBytes(config_.h2c[c].ring.cpu, n);
    }
    ClearRun(d, c);
    if ((status & ChannelStatus::kBusy) != 0 &&
        regs_.WaitIdle(d, c, config_.stopTimeoutNs) == kIOReturnNotResponding) {
      // Still moving: its window stays mapped, held here until Stop sees it idle.
      if (!s.host->HandOverWindow(s.slot, &held_[c])) s.host->CompleteWindow(s.slot);
      s.windowPrepared = false;
      stranded_[0][c] = true;
    }
  }
  if (s.windowPrepared) s.host->CompleteWindow(s.slot);
  s.windowPrepared = false;
  s.active = false;
  s.error = error;
  if (done != nullptr) *done = s.doneBytes;
  return error;
}

}  // namespace fpgadext::engine
