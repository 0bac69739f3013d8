// XdmaStream (engine/xdma/xdma_stream.h) against the XDMA model's stream channels: packets of
// any size and alignment from scattered host memory, a receive ring of pre-mapped buffers,
// every byte and every packet boundary checked (docs/engine.md "Streams").
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "engine_harness.h"
#include "xdma/xdma_stream.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;

constexpr uint32_t kRingCapacity = 64;

// Model, IOMMU and the stream engine's memory: H2C rings and writeback words from
// ChannelMemory, C2H rings too, result records and receive buffers mapped for device writes.
struct StreamBench {
  explicit StreamBench(const models::XdmaModel::Config& config, uint32_t bufferCount = 16,
                       uint32_t bufferBytes = 1024)
      : iommu(emu::HardwareProfileIommu(emu::HardwareProfileFromEnvironment())),
        model(config),
        memory(iommu, kRingCapacity),
        buffers(size_t{bufferCount} * bufferBytes, 0) {
    model.ConfigWrite(models::pci::kCommand, 2,
                      models::pci::kCommandMemorySpace | models::pci::kCommandBusMaster);
    model.Connect(&port);
    io.bar = model.Bar(static_cast<unsigned>(model.dmaBarIndex()));
    for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) {
      streamConfig.h2c[c] = memory.config().channels[0][c];
      results[c] = std::make_unique<HostBytes>(kRingCapacity * sizeof(xdma::StreamResult), 0);
      resultSegments[c] = {Map(results[c]->data(), results[c]->size()), results[c]->size()};
      XdmaStreamReceiverMemory& m = streamConfig.c2h[c];
      m.ring = memory.config().channels[1][c].ring;
      m.results = reinterpret_cast<xdma::StreamResult*>(results[c]->data());
      m.resultSegments = &resultSegments[c];
      m.resultSegmentCount = 1;
    }
    const uint64_t bus = Map(buffers.data(), buffers.size());
    for (uint32_t i = 0; i < bufferCount; ++i) {
      ring.push_back(StreamBuffer{bus + uint64_t{i} * bufferBytes, bufferBytes});
    }
    streams = std::make_unique<XdmaStream<BarIo>>(io, platform, streamConfig);
    probe = streams->Probe();
  }
  ~StreamBench() {
    model.Connect(nullptr);
    for (uint64_t b : mapped) (void)iommu.Unmap(b);
  }
  uint64_t Map(uint8_t* p, size_t n) {
    uint64_t bus = 0;
    if (iommu.Map(p, n, DmaAccess::kDeviceWrite, 64, &bus) != kIOReturnSuccess) std::abort();
    mapped.push_back(bus);
    return bus;
  }
  const uint8_t* BufferData(uint32_t i) { return buffers.data() + (ring[i].bus - ring[0].bus); }

  emu::Iommu iommu;
  IommuPort port{iommu};
  models::XdmaModel model;
  BarIo io;
  ChannelMemory memory;
  HostBytes buffers;
  std::unique_ptr<HostBytes> results[xdma::kMaxChannels];
  BusSegment resultSegments[xdma::kMaxChannels];
  std::vector<StreamBuffer> ring;
  std::vector<uint64_t> mapped;
  XdmaStreamConfig streamConfig;
  Platform platform = TestPlatform();
  std::unique_ptr<XdmaStream<BarIo>> streams;
  IOReturn probe = kIOReturnError;
};

models::XdmaModel::Config StreamModel(uint32_t h2cMask = 1, uint32_t c2hMask = 1) {
  models::XdmaModel::Config c;
  c.cardMemorySize = 16ull << 20;
  c.h2cStreamChannels = h2cMask;
  c.c2hStreamChannels = c2hMask;
  return c;
}

// Collects completions into packets; reposts each buffer at once unless `hold`.
struct Receiver {
  explicit Receiver(StreamBench& bench) : b(bench) {}
  StreamBench& b;
  uint32_t channel = 0;
  bool hold = false;
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> open;
  std::vector<uint32_t> held;

  IOReturn Poll() {
    StreamCompletion out[8];
    uint32_t n = 0;
    const IOReturn r = b.streams->Collect(channel, out, 8, &n);
    for (uint32_t i = 0; i < n; ++i) {
      EXPECT_GT(out[i].length, 0u);
      const uint8_t* p = b.BufferData(out[i].buffer);
      open.insert(open.end(), p, p + out[i].length);
      if (out[i].flags & kStreamEndOfPacket) {
        packets.push_back(std::move(open));
        open.clear();
      }
      if (hold) {
        held.push_back(out[i].buffer);
      } else {
        EXPECT_EQ(b.streams->Repost(channel, out[i].buffer), kIOReturnSuccess);
      }
    }
    return r;
  }
};

bool Until(const std::function<bool()>& done) {
  const uint64_t deadline = TestPlatform().nowNs() + 20'000'000'000ull;
  while (!done()) {
    if (TestPlatform().nowNs() > deadline) return false;
    TestPlatform().relax();
  }
  return true;
}

TEST(XdmaStream, ProbeTellsStreamChannelsByIdentifierBit15) {
  models::XdmaModel::Config config = StreamModel(0b10, 0b10);  // channel 1 stream, 0 MM
  StreamBench b(config);
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  const StreamChannelMap& map = b.streams->Channels();
  EXPECT_EQ(map.present[0], 0b11u);
  EXPECT_EQ(map.present[1], 0b11u);
  EXPECT_EQ(map.stream[0], 0b10u);
  EXPECT_EQ(map.stream[1], 0b10u);
  EXPECT_EQ(b.streams->StreamChannels(Direction::kHostToCard), 0b10u);
  EXPECT_EQ(b.streams->StreamChannels(Direction::kCardToHost), 0b10u);
  // The memory-mapped engine on the same board keeps channel 0 and leaves channel 1 alone.
  XdmaEngineConfig mm = b.memory.config();
  mm.cardMemorySize = config.cardMemorySize;
  XdmaEngine<BarIo> engine(b.io, b.platform, mm);
  ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
  EXPECT_EQ(engine.Limits().channels[0], 1u);
  EXPECT_EQ(engine.Limits().channels[1], 1u);
  // A board without stream channels has none to offer.
  StreamBench mmOnly(StreamModel(0, 0));
  EXPECT_EQ(mmOnly.probe, kIOReturnNotFound);
}

TEST(XdmaStream, RefusesWhatTheIpCannotCarry) {
  StreamBench b(StreamModel());
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  HostBytes data(64, 0);
  IommuHostMemory host(b.iommu, data.data(), 64, DmaAccess::kDeviceRead);
  EXPECT_EQ(b.streams->Send(0, host, 0, 0, 0, true), kIOReturnBadArgument);   // no empty packet
  EXPECT_EQ(b.streams->Send(1, host, 0, 0, 64, true), kIOReturnBadArgument);  // not a channel
  StreamBuffer odd{b.ring[0].bus, 100};  // not a multiple of 64 (PG195 Length Granularity)
  EXPECT_EQ(b.streams->StartReceive(0, &odd, 1), kIOReturnBadArgument);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), 4), kIOReturnSuccess);
  EXPECT_EQ(b.streams->StartReceive(0, b.ring.data(), 4), kIOReturnBusy);
  EXPECT_EQ(b.streams->Repost(0, 2), kIOReturnBadArgument);  // the device has it
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
}

// Packets of many sizes from unaligned, scattered memory loop back with their boundaries; some
// span several receive buffers, some are sent in two pieces.
TEST(XdmaStream, LoopbackKeepsEveryByteAndBoundary) {
  StreamBench b(StreamModel());
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), static_cast<uint32_t>(b.ring.size())),
            kIOReturnSuccess);
  const uint64_t sizes[] = {1, 63, 64, 65, 1000, 1024, 1025, 5000, 70001, 3};
  uint64_t total = 0;
  for (uint64_t s : sizes) total += s;
  HostBytes data(total, 0x35);
  FillPattern(data.data(), total, 11);
  IommuHostMemory host(b.iommu, data.data(), total, DmaAccess::kDeviceRead, 2, 4096);
  Receiver rx(b);
  uint64_t at = 0;
  uint64_t packetEnd = 0;
  size_t index = 0;
  for (uint64_t s : sizes) {
    packetEnd += s;
    // Odd-numbered packets go in two Sends: the first without EOP.
    const uint64_t first = (index % 2 == 1 && s > 1) ? s / 2 : s;
    const uint64_t pieces[2] = {first, s - first};
    for (uint64_t piece : pieces) {
      if (piece == 0) continue;
      const bool eop = at + piece == packetEnd;
      ASSERT_EQ(b.streams->Send(0, host, 0, at, piece, eop), kIOReturnSuccess);
      IOReturn r = kIOReturnNotReady;
      ASSERT_TRUE(Until([&] {
        r = b.streams->PollSend(0, nullptr);
        (void)rx.Poll();
        return r != kIOReturnNotReady;
      }));
      ASSERT_EQ(r, kIOReturnSuccess);
      at += piece;
    }
    ++index;
  }
  ASSERT_TRUE(Until([&] {
    (void)rx.Poll();
    return rx.packets.size() == std::size(sizes);
  }));
  at = 0;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    ASSERT_EQ(rx.packets[i].size(), sizes[i]) << "packet " << i;
    EXPECT_EQ(FirstMismatch(rx.packets[i].data(), data.data() + at, sizes[i]), -1) << i;
    at += sizes[i];
  }
  const StreamCounters tx = b.streams->Counters(Direction::kHostToCard, 0);
  const StreamCounters rxc = b.streams->Counters(Direction::kCardToHost, 0);
  EXPECT_EQ(tx.packets, std::size(sizes));
  EXPECT_EQ(tx.bytes, total);
  EXPECT_EQ(rxc.packets, std::size(sizes));
  EXPECT_EQ(rxc.bytes, total);
  EXPECT_EQ(rxc.errors, 0u);
  EXPECT_EQ(b.model.StreamCounters(0).h2cPackets, std::size(sizes));
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// The generator's packets, numbered, each byte checked against the pattern.
TEST(XdmaStream, GeneratorPacketsArriveWhole) {
  StreamBench b(StreamModel(0, 1), 8, 2048);
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), 8), kIOReturnSuccess);
  models::StreamGeneratorConfig gen;
  gen.packets = 200;
  gen.sizes[0] = 4096;
  gen.sizes[1] = 100;
  gen.sizes[2] = 9000;
  gen.sizes[3] = 64;
  gen.sizeCount = 4;
  b.model.StartStreamGenerator(0, gen);
  Receiver rx(b);
  ASSERT_TRUE(Until([&] {
    EXPECT_NE(rx.Poll(), kIOReturnIOError);
    return rx.packets.size() == 200;
  }));
  uint64_t bytes = 0;
  for (size_t n = 0; n < rx.packets.size(); ++n) {
    ASSERT_EQ(rx.packets[n].size(), gen.sizes[n % 4]) << n;
    for (size_t i = 0; i < rx.packets[n].size(); ++i) {
      ASSERT_EQ(rx.packets[n][i], models::StreamPatternByte(n, i)) << n << ":" << i;
    }
    bytes += rx.packets[n].size();
  }
  EXPECT_EQ(b.streams->Counters(Direction::kCardToHost, 0).bytes, bytes);
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
}

// A consumer that stops giving buffers back: the ring runs dry (counted), the source is held
// back (counted by the model), nothing is lost or overwritten; on resume the packet sequence
// goes on without a gap.
TEST(XdmaStream, StalledConsumerBackPressuresAndResumes) {
  StreamBench b(StreamModel(0, 1), 8, 1024);
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), 8), kIOReturnSuccess);
  models::StreamGeneratorConfig gen;
  gen.packets = 64;
  gen.sizes[0] = 1000;
  b.model.StartStreamGenerator(0, gen);
  Receiver rx(b);
  rx.hold = true;
  ASSERT_TRUE(Until([&] {
    (void)rx.Poll();
    return rx.held.size() == 8;
  }));
  EXPECT_EQ(b.streams->Counters(Direction::kCardToHost, 0).starvations, 1u);
  ASSERT_TRUE(Until([&] { return b.model.StreamCounters(0).sourceStalls >= 1; }));
  EXPECT_EQ(rx.Poll(), kIOReturnNotReady);  // nothing lands in buffers the consumer holds
  // The held buffers still hold the first eight packets, untouched.
  ASSERT_EQ(rx.packets.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) {
    for (size_t k = 0; k < 1000; ++k) {
      ASSERT_EQ(b.BufferData(i)[k], models::StreamPatternByte(i, k)) << i << ":" << k;
    }
  }
  // Given back out of order: posted again in ring order once the run is complete.
  for (uint32_t i : {3u, 1u, 0u, 2u, 7u, 6u, 5u, 4u}) {
    ASSERT_EQ(b.streams->Repost(0, i), kIOReturnSuccess);
  }
  rx.hold = false;
  ASSERT_TRUE(Until([&] {
    (void)rx.Poll();
    return rx.packets.size() == 64;
  }));
  for (size_t n = 0; n < 64; ++n) {
    ASSERT_EQ(rx.packets[n].size(), 1000u);
    for (size_t k = 0; k < 1000; ++k) {
      ASSERT_EQ(rx.packets[n][k], models::StreamPatternByte(n, k)) << n << ":" << k;
    }
  }
  EXPECT_EQ(b.streams->Counters(Direction::kCardToHost, 0).errors, 0u);
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// Stop while a packet is on its way, start again: the rest of the stream still arrives in order
// (the model keeps a half-taken packet in its FIFO; the closed part was delivered).
TEST(XdmaStream, StopAndRestartLosesNothingDelivered) {
  StreamBench b(StreamModel(0, 1), 4, 1024);
  ASSERT_EQ(b.probe, kIOReturnSuccess);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), 4), kIOReturnSuccess);
  models::StreamGeneratorConfig gen;
  gen.packets = 3;
  gen.sizes[0] = 8 * 1024;  // longer than the whole ring
  b.model.StartStreamGenerator(0, gen);
  Receiver rx(b);
  rx.hold = true;
  ASSERT_TRUE(Until([&] {
    (void)rx.Poll();
    return rx.held.size() == 4;
  }));
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
  EXPECT_EQ(rx.open.size(), 4096u);
  ASSERT_EQ(b.streams->StartReceive(0, b.ring.data(), 4), kIOReturnSuccess);
  rx.hold = false;
  rx.held.clear();
  ASSERT_TRUE(Until([&] {
    (void)rx.Poll();
    return rx.packets.size() == 3;
  }));
  for (size_t n = 0; n < 3; ++n) {
    ASSERT_EQ(rx.packets[n].size(), 8u * 1024) << n;
    for (size_t k = 0; k < rx.packets[n].size(); ++k) {
      ASSERT_EQ(rx.packets[n][k], models::StreamPatternByte(n, k)) << n << ":" << k;
    }
  }
  EXPECT_EQ(b.streams->Stop(Direction::kCardToHost, 0), kIOReturnSuccess);
}

}  // namespace
}  // namespace fpgadext::engine::test
