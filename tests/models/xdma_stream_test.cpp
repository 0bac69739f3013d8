// XDMA model: AXI4-Stream channels driven at register level (PG195 "DMA H2C Stream", "DMA C2H
// Stream", "Length Granularity"; docs/models.md "Streams").
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <reference_design/user_block_registers.h>

#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using emu::DmaAccess;

constexpr Direction kH2c = Direction::kH2c;
constexpr Direction kC2h = Direction::kC2h;

XdmaModel::Config StreamConfig(uint32_t h2cMask, uint32_t c2hMask) {
  XdmaModel::Config c;
  c.cardMemorySize = 16ull << 20;
  c.h2cStreamChannels = h2cMask;
  c.c2hStreamChannels = c2hMask;
  return c;
}

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  FillPattern(v.data(), n, seed);
  return v;
}

// The generator makes its bytes as the engine takes them, block by block: every piece, at any
// offset and length, must be the byte-wise pattern.
TEST(XdmaStreamModel, GeneratedPiecesFollowThePatternAtAnyOffset) {
  for (uint64_t packet : {0ull, 1ull, 7ull, 1000003ull}) {
    for (uint64_t offset : {0ull, 1ull, 255ull, 256ull, 4095ull, 65537ull}) {
      for (uint64_t length : {1ull, 2ull, 255ull, 257ull, 1000ull}) {
        std::vector<uint8_t> got(length);
        FillStreamPattern(packet, offset, got.data(), length);
        for (uint64_t i = 0; i < length; ++i) {
          ASSERT_EQ(got[i], StreamPatternByte(packet, offset + i)) << packet << "/" << offset;
        }
      }
    }
  }
}

TEST(XdmaStreamModel, IdentifiersReportTheStreamBit) {
  Bench b(StreamConfig(0b01, 0b10));
  // Bit 15 on stream channels' channel and SGDMA identifiers, clear on memory-mapped ones.
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 0)), 0x1FC08006u);
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 1)), 0x1FC00106u);
  EXPECT_EQ(b.Read32(ChannelBase(kC2h, 0)), 0x1FC10006u);
  EXPECT_EQ(b.Read32(ChannelBase(kC2h, 1)), 0x1FC18106u);
  EXPECT_EQ(b.Read32(SgdmaBase(kH2c, 0)), 0x1FC48006u);
  EXPECT_EQ(b.Read32(SgdmaBase(kC2h, 1)), 0x1FC58106u);
}

// H2C: packets span descriptors; EOP ends them; the destination address is unused.
TEST(XdmaStreamModel, H2cPacketsEndOnEop) {
  Bench b(StreamConfig(0b1, 0));
  const std::vector<uint8_t> data = Pattern(1157, 3);
  auto src = b.NewBuffer(data.size(), DmaAccess::kDeviceRead, 0x13);
  std::memcpy(src->data(), data.data(), data.size());
  auto ring = b.NewRing(3);
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(0), 0xDEAD0000, 100, ring->bus(32), 1, 0);
  d[1] = Descriptor::Make(src->bus(100), 0, 57, ring->bus(64), 0, Descriptor::kEop);
  d[2] = Descriptor::Make(src->bus(157), 0, 1000, 0, 0,
                          Descriptor::kEop | Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 2);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0),
            ChannelStatus::kDescriptorStopped | ChannelStatus::kDescriptorCompleted);
  const auto packets = b.model.StreamPackets(0);
  ASSERT_EQ(packets.size(), 2u);
  ASSERT_EQ(packets[0].size(), 157u);
  ASSERT_EQ(packets[1].size(), 1000u);
  EXPECT_EQ(FirstMismatch(packets[0].data(), data.data(), 157), -1);
  EXPECT_EQ(FirstMismatch(packets[1].data(), data.data() + 157, 1000), -1);
  EXPECT_EQ(b.model.StreamCounters(0).h2cPackets, 2u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// C2H: descriptors fill in order and close when full or on TLAST, each with its writeback
// (magic 0x52B4, EOP, length) at its source address; a descriptor waits for data.
TEST(XdmaStreamModel, C2hDescriptorsFillOrCloseOnTlastWithWriteback) {
  Bench b(StreamConfig(0, 0b1));
  const std::vector<uint8_t> p0 = Pattern(200, 1), p1 = Pattern(64, 2), p2 = Pattern(10, 3);
  b.model.PushStreamPacket(0, p0.data(), p0.size());
  b.model.PushStreamPacket(0, p1.data(), p1.size());
  auto dst = b.NewBuffer(4 * 128, DmaAccess::kDeviceWrite);
  auto results = b.NewBuffer(4 * sizeof(StreamResult), DmaAccess::kDeviceWrite);
  auto* res = reinterpret_cast<StreamResult*>(results->data());
  std::memset(dst->data(), 0xEE, dst->size());
  auto ring = b.NewRing(4);
  Descriptor* d = Bench::Descs(*ring);
  // One block of four (Dsc_adj 3): the interior next pointers are not used.
  for (unsigned i = 0; i < 4; ++i) {
    d[i] = Descriptor::Make(results->bus(32 * i), dst->bus(128 * i), 128, 0, 0,
                            Descriptor::kCompleted | (i == 3 ? Descriptor::kStop : 0));
  }
  b.Start(kC2h, 0, ring->bus(), 3);
  ASSERT_TRUE(WaitUntil([&] { return b.Completed(kC2h, 0) == 3; }));
  auto status = [&](unsigned i) { return __atomic_load_n(&res[i].status, __ATOMIC_ACQUIRE); };
  EXPECT_EQ(status(0), 0x52B40000u);  // full, packet goes on
  EXPECT_EQ(res[0].length, 128u);
  EXPECT_EQ(status(1), 0x52B40001u);  // closed on TLAST
  EXPECT_EQ(res[1].length, 72u);
  EXPECT_EQ(status(2), 0x52B40001u);
  EXPECT_EQ(res[2].length, 64u);
  EXPECT_EQ(FirstMismatch(dst->data(), p0.data(), 128), -1);
  EXPECT_EQ(FirstMismatch(dst->data() + 128, p0.data() + 128, 72), -1);
  EXPECT_EQ(dst->data()[128 + 72], 0xEE);  // nothing past the packet's end
  EXPECT_EQ(FirstMismatch(dst->data() + 256, p1.data(), 64), -1);
  // The fourth descriptor holds until data comes: busy, no writeback.
  EXPECT_NE(b.Status(kC2h, 0) & ChannelStatus::kBusy, 0u);
  EXPECT_EQ(status(3), 0u);
  b.model.PushStreamPacket(0, p2.data(), p2.size());
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(status(3), 0x52B40001u);
  EXPECT_EQ(res[3].length, 10u);
  EXPECT_EQ(FirstMismatch(dst->data() + 384, p2.data(), 10), -1);
  EXPECT_EQ(b.model.StreamCounters(0).c2hPackets, 3u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// PG195 "Length Granularity": each C2H stream descriptor is a multiple of 64 bytes.
TEST(XdmaStreamModel, C2hLengthNotMultipleOf64StopsWithInvalidLength) {
  Bench b(StreamConfig(0, 0b1));
  auto dst = b.NewBuffer(4096, DmaAccess::kDeviceWrite);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(dst->bus(4000), dst->bus(), 100, 0, 0,
                                            Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kC2h, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(b.Status(kC2h, 0) & ChannelStatus::kInvalidLength, ChannelStatus::kInvalidLength);
  EXPECT_EQ(b.Completed(kC2h, 0), 0u);
}

// No descriptor posted (credit mode, no credits): the source is held back and counted; a
// credit lets the data through. Control bit 27 turns the writeback off.
TEST(XdmaStreamModel, C2hWithoutDescriptorBackPressuresTheSource) {
  Bench b(StreamConfig(0, 0b1));
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kCreditModeEnableW1S,
            SgdmaChannelBits::BitFor(kC2h, 0));
  auto dst = b.NewBuffer(4096, DmaAccess::kDeviceWrite);
  auto results = b.NewBuffer(64, DmaAccess::kDeviceWrite);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(results->bus(), dst->bus(), 4096, 0, 0,
                                            Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kC2h, 0, ring->bus(), 0,
          Bench::kControlAll | ChannelControl::stm_mode_wb_disable_field::kMask);
  const std::vector<uint8_t> p = Pattern(300, 9);
  b.model.PushStreamPacket(0, p.data(), p.size());
  ASSERT_TRUE(WaitUntil([&] { return b.model.StreamCounters(0).sourceStalls >= 1; }));
  EXPECT_EQ(b.model.StreamCounters(0).c2hBytes, 0u);
  SgdmaDescCredits::Get(kC2h, 0).FromValue(0).set_credits(1).WriteTo(b);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(b.Completed(kC2h, 0), 1u);
  EXPECT_EQ(FirstMismatch(dst->data(), p.data(), p.size()), -1);
  const uint32_t word =
      __atomic_load_n(reinterpret_cast<uint32_t*>(results->data()), __ATOMIC_ACQUIRE);
  EXPECT_EQ(word, 0u);  // writeback disabled
}

// Loopback: H2C bytes come back on C2H with their boundaries; a full FIFO holds H2C back
// (counted) until C2H drains it. The generator's packets follow StreamPatternByte.
TEST(XdmaStreamModel, LoopbackBackPressureAndGenerator) {
  XdmaModel::Config config = StreamConfig(0b1, 0b1);
  config.stream.fifoBytes = 4096;
  config.maxChunkBytes = 4096;
  Bench b(config);
  const std::vector<uint8_t> data = Pattern(3 * 4096, 5);
  auto src = b.NewBuffer(data.size(), DmaAccess::kDeviceRead);
  std::memcpy(src->data(), data.data(), data.size());
  auto txRing = b.NewRing(1);
  Bench::Descs(*txRing)[0] =
      Descriptor::Make(src->bus(), 0, static_cast<uint32_t>(data.size()), 0, 0,
                       Descriptor::kEop | Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, txRing->bus(), 0);
  ASSERT_TRUE(WaitUntil([&] { return b.model.StreamCounters(0).sinkStalls >= 1; }));
  EXPECT_NE(b.Status(kH2c, 0) & ChannelStatus::kBusy, 0u);

  auto dst = b.NewBuffer(4 * 4096, DmaAccess::kDeviceWrite);
  auto results = b.NewBuffer(2 * 32, DmaAccess::kDeviceWrite);
  auto* res = reinterpret_cast<StreamResult*>(results->data());
  auto rxRing = b.NewRing(2);
  Descriptor* d = Bench::Descs(*rxRing);
  d[0] = Descriptor::Make(results->bus(0), dst->bus(), 4 * 4096 - 64, rxRing->bus(32), 0,
                          Descriptor::kCompleted);
  d[1] = Descriptor::Make(results->bus(32), dst->bus(4 * 4096 - 64), 64, 0, 0,
                          Descriptor::kCompleted | Descriptor::kStop);
  b.Start(kC2h, 0, rxRing->bus(), 1);
  ASSERT_TRUE(WaitUntil([&] { return b.Completed(kC2h, 0) >= 1; }));
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(__atomic_load_n(&res[0].status, __ATOMIC_ACQUIRE), 0x52B40001u);
  EXPECT_EQ(res[0].length, data.size());
  EXPECT_EQ(FirstMismatch(dst->data(), data.data(), data.size()), -1);

  // The generator fills the second descriptor with packet 0 (64 bytes of pattern).
  StreamGeneratorConfig gen;
  gen.packets = 1;
  gen.sizes[0] = 64;
  b.model.StartStreamGenerator(0, gen);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(__atomic_load_n(&res[1].status, __ATOMIC_ACQUIRE), 0x52B40001u);
  EXPECT_EQ(res[1].length, 64u);
  for (unsigned i = 0; i < 64; ++i) {
    ASSERT_EQ(dst->data()[4 * 4096 - 64 + i], StreamPatternByte(0, i)) << i;
  }
  EXPECT_EQ(b.model.StreamCounters(0).generatedPackets, 1u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// A generator burst with burstEndLines asserts those usr_irq_req lines once its last packet
// was written back, not before (docs/models.md "Streams").
TEST(XdmaStreamModel, GeneratorRaisesItsUserLinesAfterTheLastPacketOfABurst) {
  Bench b(StreamConfig(0, 0b1));
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kCreditModeEnableW1S,
            SgdmaChannelBits::BitFor(kC2h, 0));
  auto dst = b.NewBuffer(3 * 128, DmaAccess::kDeviceWrite);
  auto results = b.NewBuffer(3 * 32, DmaAccess::kDeviceWrite);
  auto* res = reinterpret_cast<StreamResult*>(results->data());
  auto ring = b.NewRing(3);
  Descriptor* d = Bench::Descs(*ring);
  for (uint32_t i = 0; i < 3; ++i) {
    d[i] = Descriptor::Make(results->bus(32 * i), dst->bus(128 * i), 128,
                            i == 2 ? 0 : ring->bus(32 * (i + 1)), 0,
                            Descriptor::kCompleted | (i == 2 ? Descriptor::kStop : 0));
  }
  StreamGeneratorConfig gen;
  gen.packets = 3;
  gen.sizes[0] = 100;
  gen.burstEndLines = 1u << 3;
  b.model.StartStreamGenerator(0, gen);
  // Two descriptors: two packets of the burst land, the line stays low.
  b.Start(kC2h, 0, ring->bus(), 0);
  SgdmaDescCredits::Get(kC2h, 0).FromValue(0).set_credits(2).WriteTo(b);
  ASSERT_TRUE(WaitUntil([&] { return b.Completed(kC2h, 0) >= 2; }));
  EXPECT_EQ(b.UserRead(reference_design::user_reg::kIrqStatus), 0u);
  SgdmaDescCredits::Get(kC2h, 0).FromValue(0).set_credits(1).WriteTo(b);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(__atomic_load_n(&res[2].status, __ATOMIC_ACQUIRE), 0x52B40001u);
  EXPECT_EQ(res[2].length, 100u);
  EXPECT_EQ(b.UserRead(reference_design::user_reg::kIrqStatus), 1u << 3);
  EXPECT_EQ(b.model.StreamCounters(0).generatedPackets, 3u);
}

// A generator configuration without sizes stops the generator and empties the source FIFO.
TEST(XdmaStreamModel, GeneratorWithoutSizesStopsAndEmptiesTheSource) {
  Bench b(StreamConfig(0, 0b1));
  const std::vector<uint8_t> p = Pattern(100, 4);
  b.model.PushStreamPacket(0, p.data(), p.size());
  StreamGeneratorConfig stop;
  stop.sizeCount = 0;
  b.model.StartStreamGenerator(0, stop);
  auto dst = b.NewBuffer(4096, DmaAccess::kDeviceWrite);
  auto results = b.NewBuffer(64, DmaAccess::kDeviceWrite);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(results->bus(), dst->bus(), 128, 0, 0,
                                            Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kC2h, 0, ring->bus(), 0);
  const std::vector<uint8_t> q = Pattern(50, 8);
  b.model.PushStreamPacket(0, q.data(), q.size());
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(reinterpret_cast<StreamResult*>(results->data())->length, 50u);  // not the 100
  EXPECT_EQ(FirstMismatch(dst->data(), q.data(), q.size()), -1);
}

}  // namespace
}  // namespace fpgadext::models::test
