// The XDMA engine driver: moves one channel's share of a transfer with scatter-gather
// descriptors in host memory, zero copies (docs/engine.md). Poll-mode completion through the
// channel's writeback word (xdma-facts §5.1); with completionInterrupts the channels also
// interrupt, for a caller that would rather sleep than poll (completion_wait.h).
//
// Dext-safe (DESIGN.md decision 4): header-only template on RegisterIo, no allocation, no
// exceptions, no threads. The dext builds it once at Start:
//
//   XdmaEngineConfig config;
//   config.cardMemorySize = 1ull << 30;            // the board's AXI memory (not in the IP)
//   for each direction d, channel c:               // memory allocated and prepared once
//     config.channels[d][c].ring = {ringCpu, ringSegments, ringSegmentCount, ringCapacity};
//     config.channels[d][c].writeback = {wordCpu, wordBus};
//   XdmaEngine<PciIo> engine(io, platform, config);
//   if (IOReturn r = engine.Probe(); r != kIOReturnSuccess) ...
//   ChannelPool pool(engine.Limits().channels[0], engine.Limits().channels[1]);
//   TransferPlanner planner(engine, pool, platform);
//
// Threads: Start/Poll/Recover of one channel must not run concurrently (the ChannelPool gives a
// channel to one transfer at a time); different channels may be driven from different threads
// if Io allows concurrent accesses (IOPCIDevice MMIO and the emulated BARs do).
#pragma once

#include <fpgadext/engine/dma_engine.h>
#include <fpgadext/engine/platform.h>
#include <fpgadext/engine/register_io.h>

#include "xdma/channel_registers.h"
#include "xdma/xdma_descriptors.h"
#include "xdma/xdma_registers.h"
#include "xdma/xdma_status.h"

namespace fpgadext::engine {

struct XdmaChannelMemory {
  XdmaDescriptorRing ring;
  XdmaWritebackWord writeback;
};

struct XdmaEngineConfig {
  // Card (AXI) memory is [0, cardMemorySize); the IP does not report it, the board does.
  uint64_t cardMemorySize = 0;
  // Indexed [Direction][channel]. Channels without a ring (capacity 0) are not used even if the
  // IP has them; channels the IP lacks are not used even if they have a ring.
  XdmaChannelMemory channels[2][xdma::kMaxChannels] = {};
  // Bounded wait for Busy = 0 when stopping a channel (Recover, errors). Clearing Run lets the
  // engine finish the descriptor it is on (xdma-facts §6.4), and a descriptor moves up to
  // 256 MiB: about 90 ms on a Thunderbolt 3 link. Giving up sooner unmaps memory the engine is
  // still writing (the IOMMU then refuses the rest, and records it). Prandr's driver waits
  // ≤ 10 ms, with smaller descriptors.
  uint64_t stopTimeoutNs = 100'000'000;
  // While a window runs, Poll also reads the channel's Status register this often: it notices
  // surprise removal (all ones), an error stop and a lost writeback (xdma-facts §9.6).
  uint64_t statusCheckIntervalNs = 1'000'000;
  // Largest length of one descriptor; longer segments are split. 0 = the most the IP allows
  // (XdmaEngine::kMaxDescriptorBytes); other values are rounded down to 4 KiB multiples (at
  // least 4 KiB) and capped there. Smaller pieces let a long transfer report progress (*done)
  // more finely.
  uint64_t maxDescriptorBytes = 0;
  // Completion interrupts (docs/engine.md "Completion policy"): Probe unmasks each channel's
  // completion, stop and error interrupts, so that the IRQ block signals them whenever its
  // channel enable allows (the dext's channel interrupts switch that per wait). Off: every
  // engine interrupt stays masked, poll mode only.
  bool completionInterrupts = false;
};

template <RegisterIo Io>
class XdmaEngine final : public DataMover {
 public:
  // `io`: the DMA BAR (offsets of xdma_registers.h). `platform`: clock and relax. `config`:
  // card size and per-channel memory (copied; the ring segment arrays are referenced).
  XdmaEngine(Io& io, const Platform& platform, const XdmaEngineConfig& config)
      : io_(io), platform_(platform), config_(config), regs_(io, platform) {}

  // Reads the channel identifiers (facts §3.1; channels stop at the first missing one) and
  // alignments (0x4C), checks the channel memory, stops the usable channels and clears their
  // status and interrupt masks. Errors: kIOReturnNoDevice (all ones: the board is gone),
  // kIOReturnNotFound (no memory-mapped H2C or C2H channel 0), kIOReturnBadArgument (a ring or
  // writeback word that breaks the rules above).
  [[nodiscard]] IOReturn Probe();

  // Valid after a successful Probe().
  const EngineLimits& Limits() const override { return limits_; }

  // DataMover. Start errors: kIOReturnBadArgument (channel, length 0, host range),
  // kIOReturnOverrun (past card memory), kIOReturnBusy (the channel has a transfer, an error
  // not yet recovered, or the engine is still busy), kIOReturnNotAligned (addressAlignment > 1
  // and host/card addresses disagree), kIOReturnNoDevice, and HostMemory::PrepareWindow's.
  [[nodiscard]] IOReturn Start(Direction direction, uint32_t channel, uint64_t cardAddress,
                               HostMemory& host, uint32_t slot, uint64_t hostOffset,
                               uint64_t length) override;
  // Poll returns kIOReturnNotOpen for a channel with no transfer.
  [[nodiscard]] IOReturn Poll(Direction direction, uint32_t channel, uint64_t* done) override;
  // Returns kIOReturnNotResponding if Busy did not drop within stopTimeoutNs: the channel is
  // stranded (its window handed over to a lease kept here, Start refused) until a later Recover
  // finds it idle — that one reads Status once instead of waiting again. kIOReturnNoDevice
  // after removal (the lease is released: a removed board reaches no memory).
  [[nodiscard]] IOReturn Recover(Direction direction, uint32_t channel) override;

  // Whether the channel holds a window it could not give back (tests, diagnostics).
  bool Stranded(Direction direction, uint32_t channel) const {
    return channel < xdma::kMaxChannels && state_[static_cast<int>(direction)][channel].stranded;
  }

  // Largest descriptor length: 2^28 - 1 rounded down to 4 KiB, so that a long segment is split
  // into page-aligned pieces (the in-tree driver uses 2^28 - PAGE_SIZE; facts §4).
  static constexpr uint64_t kMaxDescriptorBytes = xdma::kDescriptorMaxLength & ~uint64_t{0xFFF};

 private:
  struct ChannelState {
    HostMemory* host = nullptr;
    uint32_t slot = 0;
    uint64_t nextHostOffset = 0;  // host offset of the next window
    uint64_t nextCard = 0;        // card address of the next window
    uint64_t remaining = 0;       // bytes not yet in a window
    uint64_t doneBytes = 0;       // bytes of completed windows
    uint64_t windowBytes = 0;
    uint32_t windowDescriptors = 0;
    uint64_t nextStatusCheckNs = 0;
    IOReturn error = kIOReturnSuccess;  // latched until Recover
    bool active = false;
    bool windowPrepared = false;
    bool stranded = false;  // did not stop: its window is in held_ (or was completed, see Strand)
  };

  static xdma::Direction Dir(Direction d) { return XdmaDirection(d); }
  bool ValidChannel(Direction d, uint32_t c) const {
    return probed_ && c < limits_.channels[static_cast<int>(d)];
  }
  uint32_t ReadStatus(Direction d, uint32_t c) { return regs_.ReadStatus(d, c); }
  void ClearRun(Direction d, uint32_t c) { regs_.ClearRun(d, c); }
  [[nodiscard]] IOReturn WaitIdle(Direction d, uint32_t c) {
    return regs_.WaitIdle(d, c, config_.stopTimeoutNs);
  }
  // Prepares the next window and runs it.
  [[nodiscard]] IOReturn StartWindow(Direction d, uint32_t c);
  // Bytes moved by the first `count` descriptors of the current window.
  uint64_t WindowPrefixBytes(Direction d, uint32_t c, uint32_t count) const;
  // The engine stopped on an error (or vanished): collects status and count, completes the
  // window, latches the error.
  [[nodiscard]] IOReturn Fail(Direction d, uint32_t c, uint64_t* done);
  // The window's last descriptor completed: next window or success.
  [[nodiscard]] IOReturn WindowDone(Direction d, uint32_t c, uint64_t* done);
  void CompleteWindow(ChannelState& s) {
    if (s.windowPrepared) s.host->CompleteWindow(s.slot);
    s.windowPrepared = false;
  }
  // The engine did not stop: the window stays mapped, handed over to the channel's lease (the
  // caller's HostMemory may go once we return). A HostMemory that cannot hand it over gets it
  // back completed, as before quarantine existed (then only the IOMMU keeps the engine out).
  void Strand(Direction d, uint32_t c) {
    ChannelState& s = state_[static_cast<int>(d)][c];
    if (s.windowPrepared && !s.host->HandOverWindow(s.slot, &held_[static_cast<int>(d)][c])) {
      s.host->CompleteWindow(s.slot);
    }
    s.windowPrepared = false;
    s.host = nullptr;
    s.active = false;
    s.stranded = true;
    if (s.error == kIOReturnSuccess) s.error = kIOReturnNotResponding;
  }

  Io& io_;
  Platform platform_;
  XdmaEngineConfig config_;
  XdmaChannelRegisters<Io> regs_;
  EngineLimits limits_ = {};
  bool probed_ = false;
  ChannelState state_[2][xdma::kMaxChannels];
  // Windows of stranded channels, released when the channel is seen idle (Recover, Probe) or
  // when the engine is destroyed.
  WindowLease held_[2][xdma::kMaxChannels];
};

// ------------------------------------------------------------------------------------------------

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::Probe() {
  using namespace xdma;
  probed_ = false;
  limits_ = EngineLimits{};
  uint32_t alignment = 1;
  for (int d = 0; d < 2; ++d) {
    const Direction dir = static_cast<Direction>(d);
    const Target target = d == 0 ? Target::kH2cChannel : Target::kC2hChannel;
    uint32_t present = 0;
    for (uint32_t c = 0; c < kMaxChannels; ++c) {
      const uint32_t id = Identifier::Get(target, c).ReadFrom(io_).reg_value();
      if (id == kXdmaAllOnes) return kIOReturnNoDevice;
      const Identifier reg = Identifier::Get(target, c).FromValue(id);
      // Stream channels are a different engine (C2H writebacks, EOP): not supported.
      if (reg.subsystem_id() != kSubsystemId || reg.target() != static_cast<uint32_t>(target) ||
          reg.channel_id() != c || reg.stream() != 0) {
        break;  // channels stop at the first missing one (facts §1)
      }
      ++present;
    }
    if (present == 0) return kIOReturnNotFound;
    uint32_t usable = 0;
    for (uint32_t c = 0; c < present; ++c) {
      const XdmaChannelMemory& m = config_.channels[d][c];
      if (m.ring.capacity == 0) break;
      if (m.ring.cpu == nullptr || m.ring.segments == nullptr ||
          reinterpret_cast<uintptr_t>(m.ring.cpu) % kDescriptorAlignment != 0 ||
          m.writeback.cpu == nullptr || reinterpret_cast<uintptr_t>(m.writeback.cpu) % 4 != 0 ||
          m.writeback.bus % 4 != 0) {
        return kIOReturnBadArgument;
      }
      uint64_t ringBytes = 0;
      for (uint32_t s = 0; s < m.ring.segmentCount; ++s) {
        const BusSegment& seg = m.ring.segments[s];
        if (seg.address % kDescriptorAlignment != 0 || seg.length % kDescriptorAlignment != 0) {
          return kIOReturnBadArgument;
        }
        ringBytes += seg.length;
      }
      if (ringBytes < uint64_t{m.ring.capacity} * sizeof(Descriptor)) return kIOReturnBadArgument;
      ++usable;
    }
    if (usable == 0) return kIOReturnBadArgument;
    limits_.channels[d] = usable;
    for (uint32_t c = 0; c < usable; ++c) {
      const uint32_t a = ChannelAlignments::Get(Dir(dir), c).ReadFrom(io_).reg_value();
      if (a == kXdmaAllOnes) return kIOReturnNoDevice;
      const uint32_t align = ChannelAlignments::Get(Dir(dir), c).FromValue(a).addr_alignment();
      if (align > alignment) alignment = align;
      const IOReturn r = regs_.Quiesce(dir, c, config_.stopTimeoutNs);
      if (r != kIOReturnSuccess) return r;
      if (config_.completionInterrupts) regs_.UnmaskCompletionInterrupts(dir, c);
      held_[d][c].Release();  // idle (e.g. after a reset): a stranded window can go
      state_[d][c] = ChannelState{};
    }
  }
  limits_.cardMemorySize = config_.cardMemorySize;
  uint64_t maxDescriptor = config_.maxDescriptorBytes & ~uint64_t{0xFFF};
  if (config_.maxDescriptorBytes == 0 || maxDescriptor > kMaxDescriptorBytes) {
    maxDescriptor = kMaxDescriptorBytes;
  }
  limits_.maxDescriptorBytes = maxDescriptor < 4096 ? 4096 : maxDescriptor;
  limits_.addressAlignment = alignment;
  probed_ = true;
  return kIOReturnSuccess;
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::Start(Direction d, uint32_t c, uint64_t cardAddress, HostMemory& host,
                               uint32_t slot, uint64_t hostOffset, uint64_t length) {
  if (!ValidChannel(d, c) || length == 0 || slot >= host.Slots()) return kIOReturnBadArgument;
  if (hostOffset > host.Length() || length > host.Length() - hostOffset) {
    return kIOReturnBadArgument;
  }
  if (cardAddress + length < cardAddress) return kIOReturnBadArgument;
  if (cardAddress + length > limits_.cardMemorySize) return kIOReturnOverrun;
  ChannelState& s = state_[static_cast<int>(d)][c];
  if (s.active || s.windowPrepared || s.error != kIOReturnSuccess) return kIOReturnBusy;

  s = ChannelState{};
  s.host = &host;
  s.slot = slot;
  s.nextHostOffset = hostOffset;
  s.nextCard = cardAddress;
  s.remaining = length;
  s.active = true;
  const IOReturn r = StartWindow(d, c);
  if (r != kIOReturnSuccess) {
    CompleteWindow(s);
    s = ChannelState{};
  }
  return r;
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::StartWindow(Direction d, uint32_t c) {
  using namespace xdma;
  ChannelState& s = state_[static_cast<int>(d)][c];
  const XdmaChannelMemory& m = config_.channels[static_cast<int>(d)][c];

  // No Status read first: it would cost an MMIO round trip (about 1 µs over Thunderbolt) per
  // window, and this engine's own state already says the channel is idle — Probe or Recover
  // saw Busy = 0, or the last window's writeback counted every descriptor without an error,
  // which is the evidence Xilinx's driver restarts an engine on (docs/engine.md "Why no Status
  // read before a window"). A board that went away is found by Poll's periodic Status check.
  BusSegment segments[kMaxSegmentsPerWindow];
  uint32_t count = kMaxSegmentsPerWindow;
  uint64_t covered = 0;
  IOReturn r =
      s.host->PrepareWindow(s.slot, s.nextHostOffset, s.remaining, segments, &count, &covered);
  if (r != kIOReturnSuccess) return r;
  s.windowPrepared = true;
  if (count == 0 || count > kMaxSegmentsPerWindow || covered == 0 || covered > s.remaining) {
    return kIOReturnInternalError;  // HostMemory broke its contract
  }

  XdmaDescriptorChain chain;
  r = BuildXdmaDescriptors(m.ring, d, s.nextCard, segments, count, covered,
                           limits_.maxDescriptorBytes, limits_.addressAlignment, &chain);
  if (r != kIOReturnSuccess) return r;

  // Program the channel (facts §6.2): descriptor address and first-block count, writeback
  // address, then Run with poll-mode writeback.
  regs_.ProgramChain(d, c, m.ring.segments[0].address, chain.dscAdj, &m.writeback);
  regs_.Run(d, c, true);

  s.windowDescriptors = chain.count;
  s.windowBytes = chain.bytes;
  s.nextHostOffset += chain.bytes;
  s.nextCard += chain.bytes;
  s.remaining -= chain.bytes;
  s.nextStatusCheckNs = platform_.nowNs() + config_.statusCheckIntervalNs;
  return kIOReturnSuccess;
}

template <RegisterIo Io>
uint64_t XdmaEngine<Io>::WindowPrefixBytes(Direction d, uint32_t c, uint32_t count) const {
  const ChannelState& s = state_[static_cast<int>(d)][c];
  const xdma::Descriptor* desc = config_.channels[static_cast<int>(d)][c].ring.cpu;
  return XdmaChainPrefixBytes(desc, count < s.windowDescriptors ? count : s.windowDescriptors);
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::Poll(Direction d, uint32_t c, uint64_t* done) {
  using namespace xdma;
  if (!ValidChannel(d, c)) return kIOReturnBadArgument;
  ChannelState& s = state_[static_cast<int>(d)][c];
  if (s.error != kIOReturnSuccess) {
    if (done != nullptr) *done = s.doneBytes;
    return s.error;
  }
  if (!s.active) return kIOReturnNotOpen;

  // The device writes the word with one 4-byte posted write after the window's data
  // (facts §5.1, §6.2 step 6): acquire makes the data visible with it.
  const uint32_t* word = config_.channels[static_cast<int>(d)][c].writeback.cpu;
  const PollModeWriteback wb = PollModeWriteback::Of(__atomic_load_n(word, __ATOMIC_ACQUIRE));
  if (wb.sts_err()) return Fail(d, c, done);
  const uint32_t expected = s.windowDescriptors & PollModeWriteback::completed_count_field::kMax;
  if (wb.completed_count() == expected) return WindowDone(d, c, done);

  // Now and then, ask the registers: removal, an error stop, a lost writeback.
  const uint64_t now = platform_.nowNs();
  if (now >= s.nextStatusCheckNs) {
    s.nextStatusCheckNs = now + config_.statusCheckIntervalNs;
    const uint32_t status = ReadStatus(d, c);
    if (status == kXdmaAllOnes) return Fail(d, c, done);
    if ((status & ChannelStatus::kAnyErrorMask) != 0) return Fail(d, c, done);
    if ((status & ChannelStatus::kBusy) == 0) {
      // Idle: either the writeback is on its way or was lost. Re-read the word first.
      const PollModeWriteback again =
          PollModeWriteback::Of(__atomic_load_n(word, __ATOMIC_ACQUIRE));
      if (again.sts_err()) return Fail(d, c, done);
      if (again.completed_count() == expected) return WindowDone(d, c, done);
      if (regs_.CompletedCount(d, c) == s.windowDescriptors) return WindowDone(d, c, done);
      // Idle with descriptors left and no error: it can only have been stopped.
      return Fail(d, c, done);
    }
  }
  if (done != nullptr) *done = s.doneBytes + WindowPrefixBytes(d, c, wb.completed_count());
  return kIOReturnNotReady;
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::WindowDone(Direction d, uint32_t c, uint64_t* done) {
  ChannelState& s = state_[static_cast<int>(d)][c];
  // After a Stop descriptor Run stays set (facts §6.2 step 5): clear it for the next edge.
  ClearRun(d, c);
  CompleteWindow(s);
  s.doneBytes += s.windowBytes;
  s.windowBytes = 0;
  s.windowDescriptors = 0;
  if (s.remaining == 0) {
    s.active = false;
    if (done != nullptr) *done = s.doneBytes;
    return kIOReturnSuccess;
  }
  const IOReturn r = StartWindow(d, c);
  if (r != kIOReturnSuccess) {
    CompleteWindow(s);
    s.active = false;
    s.error = r;
  }
  if (done != nullptr) *done = s.doneBytes;
  return r == kIOReturnSuccess ? kIOReturnNotReady : r;
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::Fail(Direction d, uint32_t c, uint64_t* done) {
  using namespace xdma;
  ChannelState& s = state_[static_cast<int>(d)][c];
  const uint32_t status = regs_.ReadClearStatus(d, c);
  IOReturn error = XdmaStatusToIOReturn(Dir(d), status);
  if (error != kIOReturnNoDevice) {
    const uint32_t count = regs_.CompletedCount(d, c);
    if (count == kXdmaAllOnes) {
      error = kIOReturnNoDevice;
    } else {
      s.doneBytes += WindowPrefixBytes(d, c, count);
    }
    // An error stops the engine; make sure before the memory goes away. If it stays busy the
    // error reported is still the one that stopped it: the latched error makes Start refuse
    // the channel, and Recover waits for it again.
    ClearRun(d, c);
    if ((status & ChannelStatus::kBusy) != 0 && WaitIdle(d, c) == kIOReturnNotResponding) {
      // Still moving: the window must stay mapped until the engine is seen idle.
      s.error = error;
      Strand(d, c);
      if (done != nullptr) *done = s.doneBytes;
      return error;
    }
  }
  CompleteWindow(s);
  s.active = false;
  s.error = error;
  if (done != nullptr) *done = s.doneBytes;
  return error;
}

template <RegisterIo Io>
IOReturn XdmaEngine<Io>::Recover(Direction d, uint32_t c) {
  using namespace xdma;
  if (!ValidChannel(d, c)) return kIOReturnBadArgument;
  ChannelState& s = state_[static_cast<int>(d)][c];
  // No reset bit exists: Run 0, wait for Busy 0, clear status (facts §6.4). A stranded channel
  // was given its stopTimeoutNs already: look once, so that checking it costs a register read.
  const IOReturn idle = regs_.Stop(d, c, s.stranded, config_.stopTimeoutNs);
  if (idle == kIOReturnNotResponding) {
    // The host memory belongs to the caller, who may free it once we return, but the engine may
    // still move the rest of its descriptor: the window stays mapped, held here.
    Strand(d, c);
    return idle;
  }
  if (idle != kIOReturnNoDevice) (void)regs_.ReadClearStatus(d, c);
  CompleteWindow(s);
  held_[static_cast<int>(d)][c].Release();
  s = ChannelState{};
  return idle;
}

}  // namespace fpgadext::engine
