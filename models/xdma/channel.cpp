#include "channel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace fpgadext::models {

using namespace xdma;

namespace {

uint32_t PerfHi(uint64_t count) {
  const uint64_t max = (uint64_t{1} << 42) - 1;
  const uint64_t c = std::min(count, max);
  return ChannelPerfCountHi::count_hi_field::Make(static_cast<uint32_t>(c >> 32)) |
         ChannelPerfCountHi::maxed_field::Make(count >= max);
}

}  // namespace

Channel::Channel(XdmaBoard& board, Direction dir, unsigned index)
    : board_(board),
      dir_(dir),
      index_(index),
      irqBit_(IrqChannelBit(dir, index, board.cfg.h2cChannels)),
      width_(DataWidthCodeToBytes(board.cfg.datapathWidthCode)),
      port_(board.IsStream(dir, index) ? board.streamPort(index) : nullptr),
      scratch_(new uint8_t[kScratchSize]) {
  thread_ = std::thread([this] { ThreadMain(); });
}

Channel::~Channel() {
  StopThread();
}

void Channel::StopThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard guard(board_.lock);
    shutdown_ = true;
    wakeHint_.fetch_add(1, std::memory_order_release);
  }
  cv.notify_all();
  thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Registers (xdma-facts §3.2–3.6).

uint32_t Channel::ReadChannelReg(uint32_t reg) {
  switch (reg) {
    case channel_reg::kIdentifier:
      return Identifier::Expected(
          dir_ == Direction::kH2c ? Target::kH2cChannel : Target::kC2hChannel, index_,
          port_ != nullptr, board_.cfg.ipVersion);
    case channel_reg::kControl:
      return control_;
    case channel_reg::kStatus:
      return status_ | (busy_ ? ChannelStatus::kBusy : 0);
    case channel_reg::kStatusRC: {
      const uint32_t v = status_ | (busy_ ? ChannelStatus::kBusy : 0);
      status_ = 0;
      UpdateIrq();
      return v;
    }
    case channel_reg::kCompletedDescCount:
      return completed_;
    case channel_reg::kAlignments:
      return ChannelAlignments::kMemoryMappedValue;
    case channel_reg::kPollModeWbAddrLo:
      return wbLo_;
    case channel_reg::kPollModeWbAddrHi:
      return wbHi_;
    case channel_reg::kIntEnableMask:
      return intEnable_;
    case channel_reg::kPerfCtrl:
      return perfCtrl_;
    case channel_reg::kPerfCycCountLo:
      return static_cast<uint32_t>(perfCycles_);
    case channel_reg::kPerfCycCountHi:
      return PerfHi(perfCycles_);
    case channel_reg::kPerfDataCountLo:
      return static_cast<uint32_t>(perfBeats_);
    case channel_reg::kPerfDataCountHi:
      return PerfHi(perfBeats_);
    default:
      return 0;  // aliases, pending counts and unmapped offsets
  }
}

void Channel::WriteChannelReg(uint32_t reg, uint32_t value) {
  uint32_t control = control_;
  switch (reg) {
    case channel_reg::kControl:
      control = value;
      break;
    case channel_reg::kControlW1S:
      control |= value;
      break;
    case channel_reg::kControlW1C:
      control &= ~value;
      break;
    case channel_reg::kStatus:
      status_ &= ~(value & ChannelStatus::kClearableMask);
      UpdateIrq();
      return;
    case channel_reg::kPollModeWbAddrLo:
      wbLo_ = value & ~3u;
      return;
    case channel_reg::kPollModeWbAddrHi:
      wbHi_ = value;
      return;
    case channel_reg::kIntEnableMask:
      intEnable_ = value & ChannelIntEnable::kDefinedMask;
      UpdateIrq();
      return;
    case channel_reg::kIntEnableMaskW1S:
      intEnable_ |= value & ChannelIntEnable::kDefinedMask;
      UpdateIrq();
      return;
    case channel_reg::kIntEnableMaskW1C:
      intEnable_ &= ~value;
      UpdateIrq();
      return;
    case channel_reg::kPerfCtrl:
      if (ChannelPerfCtrl::clear_field::Get(value)) perfCycles_ = perfBeats_ = 0;
      perfCtrl_ =
          value & (ChannelPerfCtrl::run_field::kMask | ChannelPerfCtrl::auto_mode_field::kMask);
      return;
    default:
      return;
  }
  // Control write: Run edges (xdma-facts §3.3, §3.4, §6.2).
  control &= ChannelControl::kDefinedMask;
  const bool wasRunning = Run();
  control_ = control;
  const bool running = Run();
  if (running && !wasRunning) {
    // Rising edge: status and completed count reset, engine fetches from the SGDMA registers.
    ++runGen_;
    status_ = 0;
    completed_ = 0;
    busy_ = true;
    jobPending_ = true;
    runEdge_ = std::chrono::steady_clock::now();
    wakeHint_.fetch_add(1, std::memory_order_release);
    if (ChannelPerfCtrl::auto_mode_field::Get(perfCtrl_)) perfCycles_ = perfBeats_ = 0;
    UpdateIrq();
    cv.notify_all();
  } else if (!running && wasRunning) {
    // Falling edge: a busy engine finishes its descriptor, then goes idle; credits are dropped.
    credits_ = 0;
    cv.notify_all();
  }
}

void Channel::Reset(Guard& g) {
  ++runGen_;      // the running job, if any, is no longer current
  ClearFaults();  // a wedged engine is state of the function: the reset returns it to power-on
  control_ = status_ = completed_ = intEnable_ = 0;
  busy_ = false;
  wbLo_ = wbHi_ = perfCtrl_ = 0;
  perfCycles_ = perfBeats_ = 0;
  descLo_ = descHi_ = descAdj_ = credits_ = 0;
  jobPending_ = false;
  wakeHint_.fetch_add(1, std::memory_order_release);
  cv.notify_all();
  while (inJob_) g.Wait(jobEnded_);
}

uint32_t Channel::ReadSgdmaReg(uint32_t reg) const {
  switch (reg) {
    case sgdma_reg::kIdentifier:
      return Identifier::Expected(dir_ == Direction::kH2c ? Target::kH2cSgdma : Target::kC2hSgdma,
                                  index_, port_ != nullptr, board_.cfg.ipVersion);
    case sgdma_reg::kDescLo:
      return descLo_;
    case sgdma_reg::kDescHi:
      return descHi_;
    case sgdma_reg::kDescAdjacent:
      return descAdj_;
    case sgdma_reg::kDescCredits:
      return credits_;
    default:
      return 0;
  }
}

void Channel::WriteSgdmaReg(uint32_t reg, uint32_t value) {
  switch (reg) {
    case sgdma_reg::kDescLo:
      descLo_ = value;
      break;
    case sgdma_reg::kDescHi:
      descHi_ = value;
      break;
    case sgdma_reg::kDescAdjacent:
      descAdj_ = value & SgdmaDescAdjacent::dsc_adj_field::kMask;
      break;
    case sgdma_reg::kDescCredits:
      credits_ = std::min<uint32_t>(credits_ + (value & SgdmaDescCredits::credits_field::kMask),
                                    SgdmaDescCredits::credits_field::kMax);
      cv.notify_all();
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Engine.

void Channel::UpdateIrq() {
  // Engine interrupt source = (Status & IE mask) != 0 (xdma-facts §3.5).
  board_.irq.SetChannelSource(irqBit_, (status_ & intEnable_) != 0, board_);
}

void Channel::ThreadMain() {
  Guard g(board_);
  bool spin = false;
  for (;;) {
    if (spin && !shutdown_ && !jobPending_) {
      // Just finished a job: the next Run edge usually follows soon. Spin on the hint without
      // the lock (which the driver needs to write that edge), then sleep as before.
      const uint64_t seen = wakeHint_.load(std::memory_order_acquire);
      g.Unlock();
      SpinForRunEdge(seen);
      g.Lock();
    }
    while (!shutdown_ && !jobPending_) g.Wait(cv);
    if (shutdown_) return;
    jobPending_ = false;
    const auto start = std::chrono::steady_clock::now();
    board_.counters.wakeNs.fetch_add(
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(start - runEdge_).count()),
        std::memory_order_relaxed);
    inJob_ = true;
    RunJob(g, runGen_);
    inJob_ = false;
    jobEnded_.notify_all();
    board_.counters.jobNs.fetch_add(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count()),
        std::memory_order_relaxed);
    board_.counters.jobs.fetch_add(1, std::memory_order_relaxed);
    spin = true;
  }
}

void Channel::SpinForRunEdge(uint64_t seen) {
  // Yielding between checks: a runnable thread (often the driver) gets the CPU first.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kSpinNs);
  while (wakeHint_.load(std::memory_order_acquire) == seen &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
}

bool Channel::Current(uint64_t gen) const {
  return !shutdown_ && !board_.removed.load(std::memory_order_acquire) && runGen_ == gen;
}

bool Channel::Ready(Guard& g, uint64_t gen) {
  for (;;) {
    if (!Current(gen)) return false;  // shut down, removed (engine stays as it is) or restarted
    if (!Run()) {
      if (hang_) {
        // A hung engine does not stop on a Run clear either ("Status 0x01 forever", §8), whether
        // or not this thread had reached the job's data when the driver cleared Run.
        g.Wait(cv);
        continue;
      }
      // Run cleared: idle, idle_stopped logged if enabled (xdma-facts §3.4, §8).
      busy_ = false;
      if (ChannelControl::ie_idle_stopped_field::Get(control_)) {
        status_ |= ChannelStatus::kIdleStopped;
      }
      UpdateIrq();
      return false;
    }
    if (board_.ChannelHalted(dir_, index_) || !board_.config.BusMasterEnabled()) {
      g.Wait(cv);  // descriptor fetch halted (§3.7) or no bus mastering: no requests go out
      continue;
    }
    return true;
  }
}

void Channel::RunJob(Guard& g, uint64_t gen) {
  uint64_t blockAddr = (uint64_t{descHi_} << 32) | descLo_;
  unsigned count = SgdmaDescAdjacent::dsc_adj_field::Get(descAdj_) + 1;  // facts §3.6, §4
  for (;;) {
    // Rules the IP documents but does not check (xdma-facts §4, §8): counted as warnings.
    if (blockAddr % kDescriptorAlignment != 0 || (blockAddr & 0xFFF) + 32ull * count > 0x1000) {
      board_.counters.descriptorWarnings.fetch_add(1, std::memory_order_relaxed);
    }
    unsigned fetched = 0;
    for (unsigned i = 0; i < count; ++i) {
      if (!Ready(g, gen)) return;
      if (i == fetched) {
        unsigned n = count - i;
        if (board_.CreditMode(dir_, index_)) {
          // Each fetched descriptor consumes a credit; fetching pauses at zero (§3.6, §8).
          bool stalled = false;
          while (credits_ == 0) {
            // A stream source with data and no descriptor to put it in is back-pressured.
            if (!stalled && port_ != nullptr && dir_ == Direction::kC2h && port_->Available()) {
              port_->CountSourceStall();
              stalled = true;
            }
            g.Wait(cv);
            if (!Ready(g, gen)) return;
          }
          n = std::min(n, credits_);
          credits_ -= n;
        }
        // One read per (part of an) adjacent block, with the lock released.
        const uint64_t fetchNs =
            board_.cfg.timing.enabled ? board_.cfg.timing.descriptorFetchNs : 0;
        g.Unlock();
        DelayNs(fetchNs);
        const IOReturn r = board_.HostRead(blockAddr + 32ull * i, &descs_[i], 32ull * n);
        g.Lock();
        if (!Current(gen)) return;
        if (r != kIOReturnSuccess) {
          // Descriptor fetch refused: unsupported request completion (§3.4, §8).
          StopWithError(ChannelStatus::kDescErrorUnsupportedRequest);
          return;
        }
        fetched += n;
      }
      const Descriptor d = descs_[i];
      if (!d.MagicOk()) {
        StopWithError(ChannelStatus::kMagicStopped);  // not executed, not counted (§8)
        return;
      }
      const DescriptorControl c = d.Control();
      if (c.stop() && i + 1 != count) {
        board_.counters.descriptorWarnings.fetch_add(1, std::memory_order_relaxed);
      }
      if (!Execute(g, gen, d)) return;
      ++completed_;
      board_.counters.descriptors[static_cast<unsigned>(dir_)][index_].fetch_add(
          1, std::memory_order_relaxed);
      if (c.completed()) {
        if (ChannelControl::ie_descriptor_completed_field::Get(control_)) {
          status_ |= ChannelStatus::kDescriptorCompleted;
        }
        if (ChannelControl::pollmode_wb_enable_field::Get(control_)) Writeback(false);
      }
      if (c.stop()) {
        // Stop: engine idle, Run stays set (xdma-facts §6.2).
        if (ChannelControl::ie_descriptor_stopped_field::Get(control_)) {
          status_ |= ChannelStatus::kDescriptorStopped;
        }
        busy_ = false;
        UpdateIrq();
        return;
      }
      UpdateIrq();
    }
    // Next block: Nxt_adr / Nxt_adj of the last descriptor fetched; the interior next pointers
    // of a block are not used (xdma-facts §4).
    const Descriptor& last = descs_[count - 1];
    blockAddr = last.Next();
    count = last.Control().nxt_adj() + 1;
  }
}

bool Channel::Execute(Guard& g, uint64_t gen, const Descriptor& d) {
  if (port_ != nullptr) {
    return dir_ == Direction::kH2c ? ExecuteStreamH2c(g, gen, d) : ExecuteStreamC2h(g, gen, d);
  }
  const bool h2c = dir_ == Direction::kH2c;
  const uint64_t length = d.Length();
  const uint64_t host = h2c ? d.Src() : d.Dst();
  const uint64_t cardAddr = h2c ? d.Dst() : d.Src();
  const bool nonInc = ChannelControl::non_inc_mode_field::Get(control_) != 0;

  if (nonInc) {
    // Fixed AXI address: addresses aligned to the datapath, length a multiple of it (§6.3, §8).
    if (host % width_ != 0 || cardAddr % width_ != 0) {
      StopWithError(ChannelStatus::kAlignMismatch);
      return false;
    }
    if (length % width_ != 0) {
      StopWithError(ChannelStatus::kInvalidLength);
      return false;
    }
  }
  const uint64_t cardSpan = nonInc ? std::min<uint64_t>(length, width_) : length;
  if (!board_.card.Contains(cardAddr, cardSpan)) {
    // No AXI slave at that card address: decode error (§3.4, §8).
    StopWithError(h2c ? ChannelStatus::kWriteErrorAxiDecode : ChannelStatus::kReadErrorAxiDecode);
    return false;
  }

  const unsigned d_ = static_cast<unsigned>(dir_);
  const uint64_t maxChunk = std::max<uint64_t>(
      nonInc ? std::min(board_.cfg.maxChunkBytes, kScratchSize) : board_.cfg.maxChunkBytes, width_);
  uint64_t done = 0;
  while (done < length) {
    uint64_t chunk = std::min(length - done, maxChunk);
    for (;;) {
      if (!Current(gen)) return false;
      // A hung card never accepts or produces data (§8, "Status 0x01 forever").
      if (hang_ || !board_.config.BusMasterEnabled()) {
        g.Wait(cv);
        continue;
      }
      break;
    }
    if (errorArmed_) {
      if (errorRemaining_ == 0) {
        errorArmed_ = false;
        StopWithError(errorBits_);
        return false;
      }
      chunk = std::min(chunk, errorRemaining_);
    }
    const double bps = board_.LinkBytesPerSecond(dir_);
    g.Unlock();
    const auto start = std::chrono::steady_clock::now();
    // The link is booked first; the copy overlaps the chunk's time on it.
    const auto linkDone = board_.pacer[d_].Reserve(chunk, bps);
    uint8_t* card = board_.card.data() + cardAddr + (nonInc ? 0 : done);
    IOReturn r;
    if (nonInc) {
      r = MoveNonIncrementing(host + done, card, chunk);
    } else if (h2c) {
      r = board_.HostRead(host + done, card, chunk);
    } else {
      r = board_.HostWrite(host + done, card, chunk);
    }
    if (linkDone != std::chrono::steady_clock::time_point{}) DelayUntil(linkDone);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    g.Lock();
    if (!Current(gen)) return false;
    if (r != kIOReturnSuccess) {
      if (h2c) {
        // Host memory read refused: unsupported request completion (§3.4, §8).
        StopWithError(ChannelStatus::kReadErrorUnsupportedRequest);
        return false;
      }
      if (board_.cfg.reportHostWriteFaults) {
        StopWithError(XdmaModel::kC2hHostWriteRefused);
        return false;
      }
      // Silicon-exact: a posted write that the IOMMU drops is invisible to the engine.
    }
    board_.counters.bytes[d_][index_].fetch_add(chunk, std::memory_order_relaxed);
    if (ChannelPerfCtrl::run_field::Get(perfCtrl_)) {
      perfBeats_ += (chunk + width_ - 1) / width_;
      perfCycles_ += static_cast<uint64_t>(ns) / 4;  // 250 MHz AXI clock
    }
    if (errorArmed_) errorRemaining_ -= chunk;
    done += chunk;
  }
  return true;
}

IOReturn Channel::MoveNonIncrementing(uint64_t host, uint8_t* card, uint64_t length) {
  // Every beat goes to (or comes from) the same `width_` bytes at the card address.
  if (dir_ == Direction::kH2c) {
    const IOReturn r = board_.HostRead(host, scratch_.get(), length);
    if (r == kIOReturnSuccess) std::memcpy(card, scratch_.get() + length - width_, width_);
    return r;
  }
  for (uint64_t at = 0; at < length; at += width_) std::memcpy(scratch_.get() + at, card, width_);
  return board_.HostWrite(host, scratch_.get(), length);
}

void Channel::StopWithError(uint32_t statusBits) {
  // Status bits log only when their ie_* control bit is set (ie bits sit at the status bit
  // positions, xdma-facts §3.3/§3.4). The engine stops either way (§8 suggestion).
  const uint32_t logged = statusBits & control_;
  if (logged != statusBits) {
    board_.counters.unloggedErrors.fetch_add(1, std::memory_order_relaxed);
  }
  status_ |= logged;
  busy_ = false;
  if (ChannelControl::pollmode_wb_enable_field::Get(control_)) Writeback(true);
  UpdateIrq();
}

void Channel::Writeback(bool error) {
  // One 32-bit word: bit 31 error, 23:0 completed count (xdma-facts §5.1).
  const uint32_t word = PollModeWriteback::sts_err_field::Make(error) |
                        PollModeWriteback::completed_count_field::Truncate(completed_);
  if (board_.cfg.timing.enabled) DelayNs(board_.cfg.timing.writebackNs);
  (void)board_.HostWrite((uint64_t{wbHi_} << 32) | wbLo_, &word, sizeof word);
}

}  // namespace fpgadext::models
