// The XDMA IP's AXI4-Stream channels as a StreamMover (docs/engine.md "Streams").
//
// H2C: like the memory-mapped engine (windows of HostMemory, descriptors, poll-mode writeback),
// but the destination address is unused and the last descriptor of a packet carries EOP
// (PG195 "DMA H2C Stream").
// C2H: a circular ring, one descriptor per receive buffer (Completed set, no Stop, last → first),
// each descriptor's source address naming its 32-byte result slot, where the IP writes the C2H
// stream writeback (magic 0x52B4, EOP, length) when the buffer fills or the packet ends (PG195
// "DMA C2H Stream"; dma_ip_drivers libxdma.h struct xdma_result). Descriptor credits (PG195
// "SGDMA Descriptor Credit Mode Enable", "Descriptor Credits") post buffers: the IP fetches a
// descriptor only with a credit, so a buffer the consumer holds is never written.
//
// Dext-safe: header-only template on RegisterIo, no allocation, no exceptions, no threads.
//
//   XdmaStreamConfig config;                        // memory allocated and prepared once
//   config.h2c[c] = {ring, writeback};
//   config.c2h[c] = {ring, results, resultSegments, resultSegmentCount};
//   XdmaStream<PciIo> streams(io, platform, config);
//   streams.Probe();                                // stream channels from identifier bit 15
//   if (streams.StreamChannels(Direction::kCardToHost) & 1) streams.StartReceive(0, bufs, n);
//
// Threads: calls for one channel and direction must not run concurrently; different channels
// may be driven from different threads if Io allows concurrent accesses.
#pragma once

#include <fpgadext/engine/platform.h>
#include <fpgadext/engine/register_io.h>
#include <fpgadext/engine/stream_channel.h>

#include "xdma/channel_registers.h"
#include "xdma/xdma_descriptors.h"
#include "xdma/xdma_engine.h"
#include "xdma/xdma_registers.h"
#include "xdma/xdma_status.h"

namespace fpgadext::engine {

struct XdmaStreamReceiverMemory {
  // One descriptor per receive buffer: capacity = the most buffers StartReceive takes (≤ 1023,
  // the descriptor-credit field's range).
  XdmaDescriptorRing ring;
  // The result slots: `ring.capacity` records, CPU-contiguous and 32-byte aligned, prepared for
  // device writes (kIOMemoryDirectionIn); their bus segments in order, each a multiple of 32
  // bytes long and 32-byte aligned. The segment array is not copied.
  xdma::StreamResult* results = nullptr;
  const BusSegment* resultSegments = nullptr;
  uint32_t resultSegmentCount = 0;
};

struct XdmaStreamConfig {
  // H2C stream channels: a ring and a poll-mode writeback word, as for XdmaEngine.
  XdmaChannelMemory h2c[xdma::kMaxChannels] = {};
  XdmaStreamReceiverMemory c2h[xdma::kMaxChannels] = {};
  uint64_t stopTimeoutNs = 100'000'000;        // as XdmaEngineConfig::stopTimeoutNs
  uint64_t statusCheckIntervalNs = 1'000'000;  // how often Poll/Collect also read Status
  uint64_t maxDescriptorBytes = 0;             // H2C pieces; as XdmaEngineConfig
};

// Reads the channel identifiers of both directions (facts §3.1): channels are found from 0 up to
// the first missing one; a found channel with bit 15 set is a stream channel. kIOReturnNoDevice
// when the BAR reads all ones.
template <RegisterIo Io>
[[nodiscard]] IOReturn ProbeXdmaChannels(Io& io, StreamChannelMap* map);

template <RegisterIo Io>
class XdmaStream final : public StreamMover {
 public:
  XdmaStream(Io& io, const Platform& platform, const XdmaStreamConfig& config)
      : io_(io), platform_(platform), config_(config), regs_(io, platform) {}

  // Finds the stream channels (ProbeXdmaChannels), checks their memory (kIOReturnBadArgument),
  // stops them, clears status and interrupt masks, turns descriptor-credit mode off for H2C and
  // on for C2H stream channels. kIOReturnNotFound: no stream channel with memory.
  [[nodiscard]] IOReturn Probe();
  const StreamChannelMap& Channels() const { return map_; }

  uint32_t StreamChannels(Direction direction) const override {
    return usable_[static_cast<int>(direction)];
  }
  [[nodiscard]] IOReturn Send(uint32_t channel, HostMemory& host, uint32_t slot, uint64_t offset,
                              uint64_t length, bool endOfPacket) override;
  [[nodiscard]] IOReturn PollSend(uint32_t channel, uint64_t* done) override;
  [[nodiscard]] IOReturn StartReceive(uint32_t channel, const StreamBuffer* buffers,
                                      uint32_t count) override;
  [[nodiscard]] IOReturn Collect(uint32_t channel, StreamCompletion* out, uint32_t max,
                                 uint32_t* collected) override;
  [[nodiscard]] IOReturn Repost(uint32_t channel, uint32_t buffer) override;
  [[nodiscard]] IOReturn Stop(Direction direction, uint32_t channel) override;
  StreamCounters Counters(Direction direction, uint32_t channel) const override {
    if (channel >= xdma::kMaxChannels) return StreamCounters{};
    return direction == Direction::kHostToCard ? tx_[channel].counters : rx_[channel].counters;
  }

  // Buffers of a ring the receiver can take at most (credit field range).
  static constexpr uint32_t kMaxReceiveBuffers = 1023;

 private:
  struct Sender {
    HostMemory* host = nullptr;
    uint32_t slot = 0;
    uint64_t nextOffset = 0;
    uint64_t remaining = 0;
    uint64_t doneBytes = 0;
    uint64_t windowBytes = 0;
    uint32_t windowDescriptors = 0;
    uint64_t nextStatusCheckNs = 0;
    IOReturn error = kIOReturnSuccess;
    bool endOfPacket = false;
    bool active = false;
    bool windowPrepared = false;
    StreamCounters counters = {};
  };
  struct Receiver {
    const StreamBuffer* buffers = nullptr;
    uint32_t count = 0;
    uint32_t next = 0;        // ring index of the next completion
    uint32_t repostNext = 0;  // ring index of the next buffer to post again
    uint32_t posted = 0;      // buffers with the device
    uint64_t nextStatusCheckNs = 0;
    IOReturn error = kIOReturnSuccess;
    bool active = false;
    bool starved = false;                             // counted once per time the ring runs dry
    uint8_t held[(kMaxReceiveBuffers + 8) / 8] = {};  // with the consumer
    uint8_t back[(kMaxReceiveBuffers + 8) / 8] = {};  // given back, not yet posted
    StreamCounters counters = {};
  };

  static xdma::Direction Dir(Direction d) { return XdmaDirection(d); }
  bool Usable(Direction d, uint32_t c) const {
    return c < xdma::kMaxChannels && ((usable_[static_cast<int>(d)] >> c) & 1u) != 0;
  }
  void ClearRun(Direction d, uint32_t c) { regs_.ClearRun(d, c); }
  // Run with every error logged (and stopping the engine); poll-mode writeback for H2C.
  void SetRun(Direction d, uint32_t c) { regs_.Run(d, c, d == Direction::kHostToCard); }
  [[nodiscard]] IOReturn StartWindow(uint32_t c);
  [[nodiscard]] IOReturn SendFailed(uint32_t c, uint64_t* done);
  [[nodiscard]] IOReturn ReceiveFailed(uint32_t c);
  static bool Bit(const uint8_t* bits, uint32_t i) { return (bits[i / 8] >> (i % 8)) & 1u; }
  static void SetBit(uint8_t* bits, uint32_t i, bool on) {
    bits[i / 8] =
        static_cast<uint8_t>(on ? bits[i / 8] | (1u << (i % 8)) : bits[i / 8] & ~(1u << (i % 8)));
  }
  // Bus address of byte `offset` of memory given as ordered segments (0 if out of range).
  static uint64_t BusAt(const BusSegment* segments, uint32_t count, uint64_t offset) {
    for (uint32_t i = 0; i < count; ++i) {
      if (offset < segments[i].length) return segments[i].address + offset;
      offset -= segments[i].length;
    }
    return 0;
  }
  static bool SegmentsOk(const BusSegment* segments, uint32_t count, uint64_t needed) {
    if (segments == nullptr) return false;
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; ++i) {
      if (segments[i].address % xdma::kDescriptorAlignment != 0 ||
          segments[i].length % xdma::kDescriptorAlignment != 0) {
        return false;
      }
      total += segments[i].length;
    }
    return total >= needed;
  }

  Io& io_;
  Platform platform_;
  XdmaStreamConfig config_;
  XdmaChannelRegisters<Io> regs_;
  StreamChannelMap map_ = {};
  uint32_t usable_[2] = {};
  uint64_t maxDescriptor_ = XdmaEngine<Io>::kMaxDescriptorBytes;
  Sender tx_[xdma::kMaxChannels];
  Receiver rx_[xdma::kMaxChannels];
  // Windows of H2C channels that did not stop (as XdmaEngine's), released once seen idle.
  WindowLease held_[xdma::kMaxChannels];
  bool stranded_[2][xdma::kMaxChannels] = {};
};

// ------------------------------------------------------------------------------------------------

template <RegisterIo Io>
IOReturn ProbeXdmaChannels(Io& io, StreamChannelMap* map) {
  using namespace xdma;
  *map = StreamChannelMap{};
  for (int d = 0; d < 2; ++d) {
    const Target target = d == 0 ? Target::kH2cChannel : Target::kC2hChannel;
    for (uint32_t c = 0; c < kMaxChannels; ++c) {
      const uint32_t id = Identifier::Get(target, c).ReadFrom(io).reg_value();
      if (id == kXdmaAllOnes) return kIOReturnNoDevice;
      const Identifier reg = Identifier::Get(target, c).FromValue(id);
      if (reg.subsystem_id() != kSubsystemId || reg.target() != static_cast<uint32_t>(target) ||
          reg.channel_id() != c) {
        break;  // channels stop at the first missing one (facts §1)
      }
      map->present[d] |= 1u << c;
      if (reg.stream() != 0) map->stream[d] |= 1u << c;
    }
  }
  return kIOReturnSuccess;
}

template <RegisterIo Io>
IOReturn XdmaStream<Io>::Probe() {
  using namespace xdma;
  usable_[0] = usable_[1] = 0;
  IOReturn r = ProbeXdmaChannels(io_, &map_);
  if (r != kIOReturnSuccess) return r;
  uint32_t usable[2] = {};
  for (uint32_t c = 0; c < kMaxChannels; ++c) {
    if ((map_.stream[0] >> c) & 1u) {
      const XdmaChannelMemory& m = config_.h2c[c];
      if (m.ring.capacity != 0) {
        if (m.ring.cpu == nullptr ||
            reinterpret_cast<uintptr_t>(m.ring.cpu) % kDescriptorAlignment != 0 ||
            !SegmentsOk(m.ring.segments, m.ring.segmentCount,
                        uint64_t{m.ring.capacity} * sizeof(Descriptor)) ||
            m.writeback.cpu == nullptr || reinterpret_cast<uintptr_t>(m.writeback.cpu) % 4 != 0 ||
            m.writeback.bus % 4 != 0) {
          return kIOReturnBadArgument;
        }
        usable[0] |= 1u << c;
      }
    }
    if ((map_.stream[1] >> c) & 1u) {
      const XdmaStreamReceiverMemory& m = config_.c2h[c];
      if (m.ring.capacity != 0) {
        const uint64_t bytes = uint64_t{m.ring.capacity} * sizeof(Descriptor);
        if (m.ring.capacity > kMaxReceiveBuffers || m.ring.cpu == nullptr ||
            reinterpret_cast<uintptr_t>(m.ring.cpu) % kDescriptorAlignment != 0 ||
            !SegmentsOk(m.ring.segments, m.ring.segmentCount, bytes) || m.results == nullptr ||
            reinterpret_cast<uintptr_t>(m.results) % kDescriptorAlignment != 0 ||
            !SegmentsOk(m.resultSegments, m.resultSegmentCount, bytes)) {
          return kIOReturnBadArgument;
        }
        usable[1] |= 1u << c;
      }
    }
  }
  if (usable[0] == 0 && usable[1] == 0) return kIOReturnNotFound;
  for (int d = 0; d < 2; ++d) {
    const Direction dir = static_cast<Direction>(d);
    for (uint32_t c = 0; c < kMaxChannels; ++c) {
      if (((usable[d] >> c) & 1u) == 0) continue;
      // Quiesce as XdmaEngine::Probe does; credits only for C2H (the receive ring).
      r = regs_.Quiesce(dir, c, config_.stopTimeoutNs);
      if (r != kIOReturnSuccess) return r;
      SgdmaChannelBits::Get(d == 0 ? sgdma_common_reg::kCreditModeEnableW1C
                                   : sgdma_common_reg::kCreditModeEnableW1S)
          .FromValue(SgdmaChannelBits::BitFor(Dir(dir), c))
          .WriteTo(io_);
      if (d == 0) {
        held_[c].Release();
        tx_[c] = Sender{};
      } else {
        rx_[c] = Receiver{};
      }
      stranded_[d][c] = false;
    }
  }
  uint64_t maxDescriptor = config_.maxDescriptorBytes & ~uint64_t{0xFFF};
  if (config_.maxDescriptorBytes == 0 || maxDescriptor > XdmaEngine<Io>::kMaxDescriptorBytes) {
    maxDescriptor = XdmaEngine<Io>::kMaxDescriptorBytes;
  }
  maxDescriptor_ = maxDescriptor < 4096 ? 4096 : maxDescriptor;
  usable_[0] = usable[0];
  usable_[1] = usable[1];
  return kIOReturnSuccess;
}

}  // namespace fpgadext::engine

#include "xdma/xdma_stream_receive.h"  // IWYU pragma: export
#include "xdma/xdma_stream_send.h"     // IWYU pragma: export
