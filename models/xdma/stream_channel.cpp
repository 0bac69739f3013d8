// Stream channels of the XDMA model (docs/models.md "Streams"): what an H2C or C2H engine does
// with a descriptor when its identifier reports AXI4-Stream (bit 15), and XdmaModel's stream
// port calls.
//
// H2C (PG195 "DMA H2C Stream"): bytes are read from the source address and handed to the port;
// the destination address is unused; a descriptor with EOP ends the packet (TLAST on its last
// beat). C2H (PG195 "DMA C2H Stream"): the engine takes data only into a descriptor it holds,
// fills it in order, and closes it when it is full or the packet ends; it then writes the C2H
// stream writeback (magic 0x52B4, EOP, length) to the descriptor's source address unless
// Control bit 27 disables it. Each C2H descriptor length must be a multiple of 64 bytes (PG195
// "Length Granularity"); the model stops with invalid_length otherwise (status bit 5, which
// PG195 names for stream lengths; which length rule trips it is not said: inferred).
#include <algorithm>
#include <vector>

#include "channel.h"

namespace fpgadext::models {

using namespace xdma;

template <class Blocked>
bool Channel::WaitWhile(Guard& g, uint64_t gen, Blocked blocked) {
  for (;;) {
    if (!Current(gen)) return false;
    if (hang_ || !board_.config.BusMasterEnabled() || blocked()) {
      g.Wait(cv);
      continue;
    }
    return true;
  }
}

bool Channel::ExecuteStreamH2c(Guard& g, uint64_t gen, const Descriptor& d) {
  const uint64_t length = d.Length();
  const uint64_t host = d.Src();
  const bool eop = d.Control().eop() != 0;
  if (length == 0) {
    if (eop) port_->SinkEnd();
    return true;
  }
  const uint64_t maxChunk = std::max<uint64_t>(board_.cfg.maxChunkBytes, width_);
  uint64_t done = 0;
  while (done < length) {
    uint64_t chunk = std::min(length - done, maxChunk);
    bool counted = false;
    // The port takes bytes only while its FIFO has room: AXI4-Stream back-pressure.
    const bool ok = WaitWhile(g, gen, [&] {
      if (port_->HasSpace(chunk)) return false;
      if (!counted) port_->CountSinkStall();
      counted = true;
      return true;
    });
    if (!ok) return false;
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
    const auto linkDone = board_.pacer[0].Reserve(chunk, bps);
    std::vector<uint8_t> bytes(chunk);
    const IOReturn r = board_.HostRead(host + done, bytes.data(), chunk);
    if (linkDone != std::chrono::steady_clock::time_point{}) DelayUntil(linkDone);
    if (r == kIOReturnSuccess) port_->Sink(std::move(bytes), eop && done + chunk == length);
    g.Lock();
    board_.WakeChannels();  // the C2H side may wait for these bytes
    if (!Current(gen)) return false;
    if (r != kIOReturnSuccess) {
      StopWithError(ChannelStatus::kReadErrorUnsupportedRequest);  // as for memory-mapped H2C
      return false;
    }
    board_.counters.bytes[0][index_].fetch_add(chunk, std::memory_order_relaxed);
    if (errorArmed_) errorRemaining_ -= chunk;
    done += chunk;
  }
  return true;
}

bool Channel::ExecuteStreamC2h(Guard& g, uint64_t gen, const Descriptor& d) {
  const uint64_t length = d.Length();
  if (length == 0 || length % kStreamC2hGranularity != 0) {
    StopWithError(ChannelStatus::kInvalidLength);
    return false;
  }
  const uint64_t host = d.Dst();
  const uint64_t maxChunk =
      std::min(std::max<uint64_t>(board_.cfg.maxChunkBytes, width_), kScratchSize);
  uint64_t filled = 0;
  bool eop = false;
  while (filled < length && !eop) {
    // Wait for data; a descriptor the engine holds is filled as data comes.
    if (!WaitWhile(g, gen, [&] { return Run() && !port_->Available(); })) return false;
    if (!Run()) {
      // Stopped while waiting: a descriptor with nothing in it is not closed (the model's
      // choice; PG195 does not say); one with data is closed without EOP.
      if (filled == 0) return Ready(g, gen);
      break;
    }
    const double bps = board_.LinkBytesPerSecond(dir_);
    g.Unlock();
    bool last = false;
    const uint64_t n = port_->Take(scratch_.get(), std::min(length - filled, maxChunk), &last);
    IOReturn r = kIOReturnSuccess;
    if (n != 0) {
      const auto linkDone = board_.pacer[1].Reserve(n, bps);
      r = board_.HostWrite(host + filled, scratch_.get(), n);
      if (linkDone != std::chrono::steady_clock::time_point{}) DelayUntil(linkDone);
    }
    g.Lock();
    board_.WakeChannels();  // the H2C side may wait for room
    if (!Current(gen)) return false;
    if (r != kIOReturnSuccess && board_.cfg.reportHostWriteFaults) {
      StopWithError(XdmaModel::kC2hHostWriteRefused);
      return false;
    }
    board_.counters.bytes[1][index_].fetch_add(n, std::memory_order_relaxed);
    filled += n;
    if (last) {
      if (filled == 0) {
        port_->CountEmptyPacketEnd();  // an end with no bytes: nothing to close
        continue;
      }
      eop = true;
    }
  }
  if (eop) port_->CountC2hPacket();
  if (ChannelControl::stm_mode_wb_disable_field::Get(control_) == 0) {
    // Length first, then the word with the magic: a driver that sees the magic sees the length.
    const uint32_t len = static_cast<uint32_t>(filled);
    const uint32_t status = StreamWritebackStatus::magic_field::Make(kStreamWritebackMagic) |
                            StreamWritebackStatus::eop_field::Make(eop);
    const uint64_t wb = d.Src();
    g.Unlock();
    if (board_.cfg.timing.enabled) DelayNs(board_.cfg.timing.writebackNs);
    IOReturn r = board_.HostWrite(wb + 4, &len, sizeof len);
    if (r == kIOReturnSuccess) r = board_.HostWrite(wb, &status, sizeof status);
    g.Lock();
    if (!Current(gen)) return false;
    if (r != kIOReturnSuccess && board_.cfg.reportHostWriteFaults) {
      StopWithError(XdmaModel::kC2hHostWriteRefused);
      return false;
    }
  }
  // User logic that interrupts at the end of a burst: the model asserts the line after the
  // writeback (its choice), so an app woken by the interrupt finds the whole burst.
  if (eop) {
    if (const uint32_t lines = port_->TakeBurstEnd()) {
      board_.user.RaiseLines(lines, board_.irq, board_);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// XdmaModel's stream calls.

std::vector<std::vector<uint8_t>> XdmaModel::StreamPackets(unsigned channel) {
  StreamPort* p = board_->streamPort(channel);
  return p != nullptr ? p->Packets() : std::vector<std::vector<uint8_t>>{};
}

void XdmaModel::ClearStreamPackets(unsigned channel) {
  if (StreamPort* p = board_->streamPort(channel)) p->ClearPackets();
}

void XdmaModel::PushStreamPacket(unsigned channel, const uint8_t* bytes, uint64_t length) {
  StreamPort* p = board_->streamPort(channel);
  if (p == nullptr) return;
  p->Push(bytes, length);
  XdmaBoard::Guard g(*board_);
  board_->WakeChannels();
}

void XdmaModel::StartStreamGenerator(unsigned channel, const StreamGeneratorConfig& generator) {
  StreamPort* p = board_->streamPort(channel);
  if (p == nullptr) return;
  p->StartGenerator(generator);
  XdmaBoard::Guard g(*board_);
  board_->WakeChannels();
}

StreamPortCounters XdmaModel::StreamCounters(unsigned channel) {
  StreamPort* p = board_->streamPort(channel);
  return p != nullptr ? p->Counters() : StreamPortCounters{};
}

}  // namespace fpgadext::models
