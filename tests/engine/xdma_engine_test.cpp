// XdmaEngine + TransferPlanner against models/xdma: sizes, alignments, windows, channels.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

#include "engine_harness.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

const char* Name(Direction d) {
  return d == kH2c ? "H2C" : "C2H";
}

// One transfer through the planner, every byte checked, the bytes around the card range
// untouched, no IOMMU violation, the model moving exactly the bytes asked (zero copies).
void CheckedTransfer(Bench& b, Direction d, uint64_t size, size_t hostOffset, uint64_t card,
                     uint64_t fragment = 0, uint32_t slots = 4) {
  SCOPED_TRACE(std::string(Name(d)) + " size " + std::to_string(size) + " host+" +
               std::to_string(hostOffset) + " card " + std::to_string(card) + " fragment " +
               std::to_string(fragment));
  HostBytes host(size, hostOffset);
  uint8_t* cardMem = b.model.cardMemory().data();
  const uint64_t guardLo = card > 0 ? card - 1 : card;
  const uint64_t guardHi = card + size;
  const bool hasHi = guardHi < b.model.cardMemory().size();
  const uint8_t before = 0xA5, after = 0x5A;
  if (card > 0) cardMem[guardLo] = before;
  if (hasHi) cardMem[guardHi] = after;
  const uint32_t seed = static_cast<uint32_t>(size * 31 + hostOffset * 7 + card);
  if (d == kH2c) {
    FillPattern(host.data(), size, seed);
  } else {
    FillPattern(cardMem + card, size, seed);
    std::memset(host.data(), 0xEE, size);
  }
  const uint64_t bytesBefore = b.ModelBytes(d);
  const auto access = d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite;
  IommuHostMemory memory(b.iommu, host.data(), size, access, slots, fragment);
  ASSERT_EQ(b.planner->Execute(d, card, memory, size), kIOReturnSuccess);
  EXPECT_EQ(memory.Outstanding(), 0u);
  EXPECT_EQ(FirstMismatch(host.data(), cardMem + card, size), -1);
  if (card > 0) EXPECT_EQ(cardMem[guardLo], before);
  if (hasHi) EXPECT_EQ(cardMem[guardHi], after);
  EXPECT_EQ(b.ModelBytes(d) - bytesBefore, size);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  EXPECT_EQ(b.model.counters().descriptorWarnings, 0u);
  EXPECT_EQ(b.model.counters().unloggedErrors, 0u);
}

TEST(XdmaEngine, ProbeFillsLimits) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const EngineLimits& l = b.engine->Limits();
  EXPECT_EQ(l.channels[0], 2u);
  EXPECT_EQ(l.channels[1], 2u);
  EXPECT_EQ(l.addressAlignment, 1u);
  EXPECT_EQ(l.maxDescriptorBytes, 0x0FFF'F000u);
  EXPECT_EQ(l.cardMemorySize, 256ull << 20);

  BenchOptions four;
  four.model.h2cChannels = 4;
  four.model.c2hChannels = 3;
  Bench b4(four);
  ASSERT_EQ(b4.probeResult, kIOReturnSuccess);
  EXPECT_EQ(b4.engine->Limits().channels[0], 4u);
  EXPECT_EQ(b4.engine->Limits().channels[1], 3u);
}

TEST(XdmaEngine, ProbeUsesOnlyChannelsWithMemory) {
  BenchOptions o;
  o.model.h2cChannels = 4;
  Bench b(o);
  XdmaEngineConfig config = b.channelMemory.config();
  config.channels[0][2].ring.capacity = 0;  // H2C 0,1 only
  Bench::Engine engine(b.io, b.platform, config);
  ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
  EXPECT_EQ(engine.Limits().channels[0], 2u);

  config.channels[0][0].writeback.cpu = nullptr;
  Bench::Engine broken(b.io, b.platform, config);
  EXPECT_EQ(broken.Probe(), kIOReturnBadArgument);
}

// DESIGN.md "Testing": sizes × misaligned host and card addresses × both directions.
TEST(XdmaEngine, SizesAlignmentsDirections) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const uint64_t sizes[] = {0, 1, 3, 4095, 4096, 4097, 65536, (1u << 20) + 7};
  const size_t hostOffsets[] = {0, 1, 4093};
  const uint64_t cards[] = {0, 3, 0x10'0FFF};
  for (Direction d : {kH2c, kC2h}) {
    for (uint64_t size : sizes) {
      for (size_t ho : hostOffsets) {
        for (uint64_t card : cards) CheckedTransfer(b, d, size, ho, card);
      }
    }
  }
}

// The same with memory scattered in 4 KiB pages (one segment per page, as pinned app memory
// usually is): many 32-segment windows per transfer.
TEST(XdmaEngine, ScatteredPagesManyWindows) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    for (uint64_t size : {uint64_t{4097}, uint64_t{65536}, uint64_t{(1u << 20) + 7}}) {
      for (size_t ho : {size_t{0}, size_t{1}, size_t{4093}}) {
        CheckedTransfer(b, d, size, ho, 0x2001, 4096, 1);
      }
    }
  }
  // 1 MiB + 7 from mid-page: 258 segments → 9 windows.
  HostBytes host((1u << 20) + 7, 0x7B3);
  FillPattern(host.data(), host.size(), 99);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceRead, 1, 4096);
  ASSERT_EQ(b.planner->Execute(kH2c, 0x5000, memory, host.size()), kIOReturnSuccess);
  EXPECT_EQ(memory.windowsPrepared(), 9u);
  EXPECT_EQ(memory.maxSegmentsSeen(), kMaxSegmentsPerWindow);
  EXPECT_EQ(FirstMismatch(host.data(), b.model.cardMemory().data() + 0x5000, host.size()), -1);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// Tiny segments, a ring smaller than a window and rings that start just before a page
// boundary: windows are cut by the ring, adjacent blocks break at 4 KiB and at bus gaps. The
// model counts any block that crosses 4 KiB or Stop in mid-block as a descriptor warning.
TEST(XdmaEngine, SmallRingAcrossPageBoundary) {
  BenchOptions o;
  o.ringCapacity = 20;
  o.ringOffset = o.PageSize() - 32 * 7;  // 7 descriptors in the first page, 13 in the next
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    CheckedTransfer(b, d, 100'003, 5, 0x333, 512, 1);
    CheckedTransfer(b, d, 4096 * 40 + 1, 0, 0x1000, 4096, 1);
  }
  BenchOptions big;
  big.ringCapacity = 300;  // > 128: several full 64-descriptor blocks, more than one page
  big.ringOffset = big.PageSize() - 32 * 70;
  Bench b2(big);
  ASSERT_EQ(b2.probeResult, kIOReturnSuccess);
  // Segments longer than maxDescriptorBytes are not needed here: 16-byte fragments give one
  // descriptor each, 32 per window.
  CheckedTransfer(b2, kH2c, 32 * 16 * 5 + 9, 3, 0x77, 16, 1);
}

// A segment longer than one descriptor may be is split into 4 KiB-multiple pieces (the IP's
// limit, 2^28 - 4 KiB, works the same way; a 64 KiB limit keeps the test small).
TEST(XdmaEngine, SegmentLongerThanOneDescriptor) {
  Bench b;
  XdmaEngineConfig config = b.channelMemory.config();
  config.maxDescriptorBytes = 64 * 1024 + 100;  // rounded down to 64 KiB
  Bench::Engine engine(b.io, b.platform, config);
  ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
  EXPECT_EQ(engine.Limits().maxDescriptorBytes, 64u * 1024);
  ChannelPool pool(2, 2);
  TransferPlanner planner(engine, pool, b.platform);
  const uint64_t size = (1u << 20) + 4099;
  for (Direction d : {kH2c, kC2h}) {
    HostBytes host(size, 1);
    uint8_t* card = b.model.cardMemory().data() + 7;
    if (d == kH2c) {
      FillPattern(host.data(), size, 5);
    } else {
      FillPattern(card, size, 6);
    }
    IommuHostMemory memory(b.iommu, host.data(), size,
                           d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite, 1);
    const auto before = b.model.counters();
    ASSERT_EQ(planner.Execute(d, 7, memory, size), kIOReturnSuccess);
    const auto after = b.model.counters();
    const auto& descs = d == kH2c ? after.h2cDescriptors : after.c2hDescriptors;
    const auto& descs0 = d == kH2c ? before.h2cDescriptors : before.c2hDescriptors;
    EXPECT_EQ(descs[0] - descs0[0], 17u);  // 16 × 64 KiB + 4099
    EXPECT_EQ(memory.windowsPrepared(), 1u);
    EXPECT_EQ(FirstMismatch(host.data(), card, size), -1);
    const xdma::Descriptor* ring =
        b.channelMemory.config().channels[static_cast<int>(d)][0].ring.cpu;
    for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(ring[i].Length(), 64u * 1024) << i;
    EXPECT_EQ(ring[16].Length(), 4099u);
  }
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  EXPECT_EQ(b.model.counters().descriptorWarnings, 0u);
}

// 64 MiB once per direction, misaligned on both sides; above the parallel threshold, so both
// channels of the default model take a share.
TEST(XdmaEngine, SixtyFourMiBBothDirections) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const auto before = b.model.counters();
  CheckedTransfer(b, kH2c, 64ull << 20, 5, 0x100'0003);
  CheckedTransfer(b, kC2h, 64ull << 20, 4093, 0x0FF'FFF1);
  const auto after = b.model.counters();
  for (unsigned c = 0; c < 2; ++c) {
    EXPECT_GT(after.h2cBytes[c], before.h2cBytes[c]) << c;
    EXPECT_GT(after.c2hBytes[c], before.c2hBytes[c]) << c;
  }
}

// One large transfer over four channels (one share and one window slot each).
TEST(XdmaEngine, ParallelChannelsForOneTransfer) {
  BenchOptions o;
  o.model.h2cChannels = 4;
  o.model.c2hChannels = 4;
  o.planner.parallelThreshold = 1 << 20;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    const auto before = b.model.counters();
    const uint64_t size = (16ull << 20) + 12345;
    CheckedTransfer(b, d, size, 17, 0x3001, 64 * 1024, 4);
    const auto after = b.model.counters();
    uint64_t total = 0;
    for (unsigned c = 0; c < 4; ++c) {
      const uint64_t moved = d == kH2c ? after.h2cBytes[c] - before.h2cBytes[c]
                                       : after.c2hBytes[c] - before.c2hBytes[c];
      EXPECT_GT(moved, 0u) << Name(d) << " channel " << c;
      // Shares are whole 4 KiB multiples, except the last.
      if (c < 3) EXPECT_EQ(moved % 4096, 0u);
      total += moved;
    }
    EXPECT_EQ(total, size);
  }
  // Slots limit the shares: one slot, one channel.
  const auto before = b.model.counters();
  CheckedTransfer(b, kH2c, 4u << 20, 0, 0, 0, 1);
  const auto after = b.model.counters();
  EXPECT_EQ(after.h2cBytes[0] - before.h2cBytes[0], 4u << 20);
}

// Transfers on several threads at once share the pool; with more transfers than channels,
// the planner waits for a free one.
TEST(XdmaEngine, ConcurrentTransfersShareChannels) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  constexpr int kThreads = 4;
  constexpr int kRounds = 6;
  constexpr uint64_t kSize = 300'001;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t card = 0x100'0000ull * (t + 1) + t;
      HostBytes src(kSize, t);
      HostBytes dst(kSize, t + 1);
      for (int r = 0; r < kRounds; ++r) {
        FillPattern(src.data(), kSize, t * 100 + r);
        IommuHostMemory out(b.iommu, src.data(), kSize, DmaAccess::kDeviceRead, 1, 4096);
        IommuHostMemory in(b.iommu, dst.data(), kSize, DmaAccess::kDeviceWrite, 1, 8192);
        if (b.planner->Execute(kH2c, card, out, kSize) != kIOReturnSuccess) ++failures;
        if (b.planner->Execute(kC2h, card, in, kSize) != kIOReturnSuccess) ++failures;
        if (FirstMismatch(src.data(), dst.data(), kSize) != -1) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  EXPECT_EQ(b.model.counters().descriptorWarnings, 0u);
}

// Descriptor chain as the data book wants it (xdma-facts §4), read back from the ring.
TEST(XdmaEngine, DescriptorChainLayout) {
  BenchOptions o;
  o.ringCapacity = 200;
  o.ringOffset = o.PageSize() - 32 * 3;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  // 32 segments of 16 bytes: 32 descriptors, blocks [0..2] (page end), [3..31].
  HostBytes host(32 * 16, 0);
  IommuHostMemory memory(b.iommu, host.data(), 32 * 16, DmaAccess::kDeviceRead, 1, 16);
  ASSERT_EQ(b.planner->Execute(kH2c, 0x40, memory, 32 * 16), kIOReturnSuccess);
  const XdmaChannelMemory& m = b.channelMemory.config().channels[0][0];
  const xdma::Descriptor* d = m.ring.cpu;
  EXPECT_EQ(xdma::SgdmaDescAdjacent::Get(xdma::Direction::kH2c, 0).ReadFrom(b.io).dsc_adj(), 2u);
  EXPECT_EQ(d[0].Control().nxt_adj(), 1u);
  EXPECT_EQ(d[1].Control().nxt_adj(), 0u);
  EXPECT_EQ(d[2].Control().nxt_adj(), 28u);  // announces the 29-descriptor block
  for (unsigned i = 3; i < 31; ++i) EXPECT_EQ(d[i].Control().nxt_adj(), 30u - i) << i;
  for (unsigned i = 0; i < 32; ++i) {
    EXPECT_TRUE(d[i].MagicOk());
    EXPECT_EQ(d[i].Length(), 16u);
    EXPECT_EQ(d[i].Dst(), 0x40u + 16 * i);
    EXPECT_EQ(d[i].Control().stop(), i == 31 ? 1u : 0u);
    EXPECT_EQ(d[i].Control().completed(), i == 31 ? 1u : 0u);
  }
  EXPECT_EQ(d[31].Next(), 0u);
  EXPECT_EQ(d[2].Next(), m.ring.segments[1].address);
  EXPECT_EQ(b.model.counters().descriptorWarnings, 0u);
}

}  // namespace
}  // namespace fpgadext::engine::test
