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

#include "xdma/xdma_descriptors.h"
#include "xdma/xdma_engine.h"
#include "xdma/xdma_registers.h"
#include "xdma/xdma_status.h"

namespace fpgadext::xdma {

// C2H stream writeback (facts from PG195 "DMA C2H Stream" Table "C2H Stream Writeback"; the
// Xilinx driver's struct xdma_result): word 0 = magic in [31:16], EOP in bit 0; word 1 = bytes.
// The driver reserves 32 bytes per descriptor, the size of the Xilinx driver's record.
inline constexpr uint32_t kStreamWritebackMagic = 0x52B4;
class StreamWritebackStatus : public RegisterBase<StreamWritebackStatus> {
 public:
  FPGADEXT_XDMA_FIELD(31, 16, magic);
  FPGADEXT_XDMA_BIT(0, eop);
  static constexpr StreamWritebackStatus Of(uint32_t value) {
    return RegisterAddr<StreamWritebackStatus>(0).FromValue(value);
  }
};
struct StreamResult {
  uint32_t status;  // StreamWritebackStatus; 0 until the IP writes it
  uint32_t length;  // bytes written into the descriptor's buffer
  uint32_t reserved[6];
};
static_assert(sizeof(StreamResult) == 32);

}  // namespace fpgadext::xdma

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
      : io_(io), platform_(platform), config_(config) {}

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

  Io& io_;
  Platform platform_;
  XdmaStreamConfig config_;
  StreamChannelMap map_ = {};
  uint32_t usable_[2] = {};
  uint64_t maxDescriptor_ = XdmaEngine<Io>::kMaxDescriptorBytes;
  Sender tx_[xdma::kMaxChannels];
  Receiver rx_[xdma::kMaxChannels];
};

}  // namespace fpgadext::engine
