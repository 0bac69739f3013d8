// XDMA model: memory-mapped transfers driven at register level (xdma-facts §4, §6.2).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using emu::DmaAccess;

constexpr Direction kH2c = Direction::kH2c;
constexpr Direction kC2h = Direction::kC2h;

TEST(XdmaDma, OneDescriptorEachWay) {
  Bench b;
  auto src = b.NewBuffer(5000, DmaAccess::kDeviceRead);
  auto dst = b.NewBuffer(5000, DmaAccess::kDeviceWrite);
  FillPattern(src->data(), 5000, 1);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0x1000, 5000, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  auto st = ChannelStatus::Get(kH2c, 0).ReadFrom(b);
  EXPECT_EQ(st.reg_value(),
            ChannelStatus::kDescriptorStopped | ChannelStatus::kDescriptorCompleted);
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);
  // Run stays set after a Stop descriptor (xdma-facts §6.2).
  EXPECT_EQ(ChannelControl::Get(kH2c, 0).ReadFrom(b).run(), 1u);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + 0x1000, src->data(), 5000), -1);

  Bench::Descs(*ring)[0] =
      Descriptor::Make(0x1000, dst->bus(), 5000, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kC2h, 1, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kC2h, 1));
  EXPECT_EQ(b.Status(kC2h, 1), 0x6u);
  EXPECT_EQ(FirstMismatch(dst->data(), src->data(), 5000), -1);
  auto c = b.model.counters();
  EXPECT_EQ(c.h2cBytes[0], 5000u);
  EXPECT_EQ(c.c2hBytes[1], 5000u);
  EXPECT_EQ(c.h2cDescriptors[0], 1u);
  EXPECT_EQ(c.c2hDescriptors[1], 1u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// A page-per-descriptor chain like the Xilinx driver builds, with unaligned host and card
// addresses and pieces crossing 4 KiB boundaries, longer than one 64-descriptor block.
TEST(XdmaDma, XilinxStyleChainUnalignedAcrossPages) {
  Bench b;
  constexpr size_t kLen = 100 * 4096 + 123;
  constexpr size_t kHostOff = 0x7B3;  // host buffer starts mid-page
  constexpr uint64_t kCard = 0x10'0001;
  auto src = b.NewBuffer(kLen, DmaAccess::kDeviceRead, kHostOff);
  auto dst = b.NewBuffer(kLen, DmaAccess::kDeviceWrite, 0x3);
  FillPattern(src->data(), kLen, 7);
  std::vector<Piece> pieces;
  for (size_t at = 0; at < kLen;) {
    // One piece per 4 KiB host page, first and last partial.
    const size_t pageEnd = ((kHostOff + at) / 4096 + 1) * 4096 - kHostOff;
    const size_t len = std::min(pageEnd, kLen) - at;
    pieces.push_back({src->bus(at), kCard + at, static_cast<uint32_t>(len)});
    at += len;
  }
  ASSERT_GT(pieces.size(), 64u);
  auto ring = b.NewRing(pieces.size(), 0x7E0);  // ring starts in the last slot of a 2 KiB block
  const unsigned adj = BuildChain(*ring, kH2c, pieces);
  b.Start(kH2c, 1, ring->bus(), adj);
  ASSERT_TRUE(b.WaitIdle(kH2c, 1));
  EXPECT_EQ(b.Status(kH2c, 1), 0x6u);
  EXPECT_EQ(b.Completed(kH2c, 1), pieces.size());
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + kCard, src->data(), kLen), -1);

  for (auto& p : pieces) p.host = dst->bus(p.host - src->bus());
  BuildChain(*ring, kC2h, pieces);
  b.Start(kC2h, 0, ring->bus(), adj);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(b.Completed(kC2h, 0), pieces.size());
  EXPECT_EQ(FirstMismatch(dst->data(), src->data(), kLen), -1);
  EXPECT_EQ(b.model.counters().descriptorWarnings, 0u);
}

// The in-tree Linux driver: fixed blocks, interior next pointers unset and Nxt_adj 0, only the
// block's last descriptor links to the next block (xdma-facts §4).
TEST(XdmaDma, InTreeStyleBlocksWithUnsetInteriorNextPointers) {
  Bench b;
  constexpr unsigned kBlock = 8, kBlocks = 3, kN = kBlock * kBlocks;
  constexpr uint32_t kPiece = 777;
  auto src = b.NewBuffer(kN * kPiece, DmaAccess::kDeviceRead, 5);
  FillPattern(src->data(), kN * kPiece, 3);
  // Blocks live in separate allocations, as from a dma_pool.
  std::vector<std::unique_ptr<HostBuffer>> blocks;
  for (unsigned k = 0; k < kBlocks; ++k) blocks.push_back(b.NewRing(kBlock));
  for (unsigned k = 0; k < kBlocks; ++k) {
    Descriptor* d = Bench::Descs(*blocks[k]);
    for (unsigned i = 0; i < kBlock; ++i) {
      const unsigned n = k * kBlock + i;
      const bool lastInBlock = i + 1 == kBlock;
      const bool last = n + 1 == kN;
      uint64_t next = 0;
      unsigned nxtAdj = 0;
      if (lastInBlock && !last) {
        next = blocks[k + 1]->bus();
        nxtAdj = kBlock - 1;
      }
      d[i] = Descriptor::Make(src->bus(n * kPiece), 0x2000 + n * kPiece, kPiece, next, nxtAdj,
                              last ? Descriptor::kStop | Descriptor::kCompleted : 0);
    }
  }
  b.Start(kH2c, 0, blocks[0]->bus(), kBlock - 1);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  EXPECT_EQ(b.Completed(kH2c, 0), kN);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + 0x2000, src->data(), kN * kPiece), -1);
}

// Dsc_adj for the first block, then Nxt_adj of the last descriptor of each block (§4), with blocks
// of different sizes scattered in one ring.
TEST(XdmaDma, AdjacentBlocksFollowTheLastDescriptorOfEachBlock) {
  Bench b;
  auto src = b.NewBuffer(6 * 64, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 6 * 64, 9);
  auto ring = b.NewRing(32);
  Descriptor* d = Bench::Descs(*ring);
  // Block A: ring[0..2] (Dsc_adj 2) → block B: ring[10..11] → block C: ring[20].
  auto make = [&](unsigned slot, unsigned n, uint64_t next, unsigned nxtAdj, uint32_t flags) {
    d[slot] = Descriptor::Make(src->bus(64 * n), 0x400 + 64 * n, 64, next, nxtAdj, flags);
  };
  make(0, 0, 0xDEAD'0000, 0, 0);  // interior next pointers are garbage: must be ignored
  make(1, 1, 0xDEAD'0000, 0, 0);
  make(2, 2, ring->bus(32 * 10), 1, 0);
  make(10, 3, 0xBAD, 0, 0);
  make(11, 4, ring->bus(32 * 20), 0, 0);
  make(20, 5, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 2);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  EXPECT_EQ(b.Completed(kH2c, 0), 6u);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + 0x400, src->data(), 6 * 64), -1);
}

TEST(XdmaDma, ZeroLengthAndOneByteDescriptors) {
  Bench b;
  auto src = b.NewBuffer(3, DmaAccess::kDeviceRead);
  src->data()[0] = 0xAB;
  src->data()[2] = 0xCD;
  auto ring = b.NewRing(3);
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(0), 0x3FFF'FFFF, 1, ring->bus(32), 1, 0);  // last card byte
  d[1] = Descriptor::Make(src->bus(1), 0x10, 0, ring->bus(64), 0, 0);
  d[2] = Descriptor::Make(src->bus(2), 0x0, 1, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 2);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  EXPECT_EQ(b.Completed(kH2c, 0), 3u);
  EXPECT_EQ(b.model.cardMemory().data()[0x3FFF'FFFF], 0xAB);
  EXPECT_EQ(b.model.cardMemory().data()[0], 0xCD);
}

TEST(XdmaDma, RunRisingEdgeClearsStatusAndCount) {
  Bench b;
  auto src = b.NewBuffer(16, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0, 16, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);
  // Writing Control again with Run already set is no edge: nothing restarts.
  ChannelControl::Get(kH2c, 0).FromValue(Bench::kControlAll).set_run(1).WriteTo(b);
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  // W1C Run then W1S Run: a rising edge clears status and count, the chain runs again.
  ChannelControl::GetW1C(kH2c, 0).FromValue(1).WriteTo(b);
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);  // idle already: no idle_stopped
  ChannelControl::GetW1S(kH2c, 0).FromValue(1).WriteTo(b);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);
  EXPECT_EQ(b.model.counters().h2cDescriptors[0], 2u);
  // Status RC returns the bits and clears them; the Status W1C alias clears written bits.
  EXPECT_EQ(ChannelStatus::GetReadClear(kH2c, 0).ReadFrom(b).reg_value(), 0x6u);
  EXPECT_EQ(b.Status(kH2c, 0), 0u);
}

TEST(XdmaDma, StatusBitsLogOnlyWithTheirIeBitAndClearByW1C) {
  Bench b;
  auto src = b.NewBuffer(16, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0, 16, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 0, ChannelControl::ie_descriptor_stopped_field::kMask);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kDescriptorStopped);
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kStatus, 0xFFFFFFFF);
  EXPECT_EQ(b.Status(kH2c, 0), 0u);
}

TEST(XdmaDma, RunClearedWhileBusyFinishesTheDescriptorThenIdleStopped) {
  XdmaModel::Config cfg;
  cfg.maxChunkBytes = 4096;
  Bench b(cfg);
  constexpr unsigned kN = 40;
  constexpr uint32_t kPiece = 64 * 1024;
  auto src = b.NewBuffer(kN * kPiece, DmaAccess::kDeviceRead);
  FillPattern(src->data(), kN * kPiece, 5);
  std::vector<Piece> pieces;
  for (unsigned i = 0; i < kN; ++i) pieces.push_back({src->bus(i * kPiece), i * kPiece, kPiece});
  auto ring = b.NewRing(kN);
  const unsigned adj = BuildChain(*ring, kH2c, pieces);
  b.model.SetSlowLink(50e6);  // ≈1.3 ms per descriptor: the engine is still busy below
  b.Start(kH2c, 0, ring->bus(), adj);
  ASSERT_TRUE(WaitUntil([&] { return b.Completed(kH2c, 0) >= 1; }));
  ChannelControl::GetW1C(kH2c, 0).FromValue(1).WriteTo(b);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  const uint32_t done = b.Completed(kH2c, 0);
  EXPECT_LT(done, kN);
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kIdleStopped);
  // Every completed descriptor moved all its bytes, and nothing after it.
  EXPECT_EQ(b.model.counters().h2cBytes[0], uint64_t{done} * kPiece);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), done * kPiece), -1);
}

TEST(XdmaDma, PollModeWritebackWithoutIeDescriptorCompleted) {
  Bench b;
  auto src = b.NewBuffer(4096 * 3, DmaAccess::kDeviceRead);
  auto wb = b.NewBuffer(4, DmaAccess::kDeviceWrite);
  std::memset(wb->data(), 0xEE, 4);
  auto ring = b.NewRing(3);
  std::vector<Piece> pieces;
  for (unsigned i = 0; i < 3; ++i) pieces.push_back({src->bus(4096 * i), 4096u * i, 4096});
  const unsigned adj = BuildChain(*ring, kH2c, pieces);
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kPollModeWbAddrLo,
            static_cast<uint32_t>(wb->bus()));
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kPollModeWbAddrHi,
            static_cast<uint32_t>(wb->bus() >> 32));
  // The Xilinx driver's poll mode: pollmode_wb_enable without ie_descriptor_completed (§5.1).
  auto ctrl = ChannelControl::Get(kH2c, 1).FromValue(0);
  ctrl.set_pollmode_wb_enable(1).set_ie_read_error(0x1F).set_ie_desc_error(0x1F);
  b.Start(kH2c, 1, ring->bus(), adj, ctrl.reg_value());
  // Busy = 0 is observed through the registers after the writeback was made (the IOMMU copies
  // with memcpy, so spinning on the word itself while the engine writes it is a data race here).
  ASSERT_TRUE(b.WaitIdle(kH2c, 1));
  uint32_t word;
  std::memcpy(&word, wb->data(), 4);
  auto w = PollModeWriteback::Of(word);
  EXPECT_EQ(w.sts_err(), 0u);
  EXPECT_EQ(w.completed_count(), 3u);
  EXPECT_EQ(b.Status(kH2c, 1), 0u);  // nothing logged: no ie bits for stopped/completed
}

TEST(XdmaDma, ChannelsRunConcurrently) {
  XdmaModel::Config cfg;
  cfg.h2cChannels = 4;
  cfg.c2hChannels = 4;
  Bench b(cfg);
  constexpr size_t kLen = 2 * 1024 * 1024 + 5;
  std::vector<std::unique_ptr<HostBuffer>> srcs, dsts, rings;
  // C2H channels read card regions preloaded through the back door; H2C write other regions.
  for (unsigned ch = 0; ch < 4; ++ch) {
    srcs.push_back(b.NewBuffer(kLen, DmaAccess::kDeviceRead, ch));
    dsts.push_back(b.NewBuffer(kLen, DmaAccess::kDeviceWrite, 3 * ch));
    FillPattern(srcs[ch]->data(), kLen, 100 + ch);
    FillPattern(b.model.cardMemory().data() + 0x2000'0000 + ch * 0x40'0000, kLen, 200 + ch);
  }
  for (unsigned ch = 0; ch < 4; ++ch) {
    std::vector<Piece> h, c;
    for (size_t at = 0; at < kLen; at += 256 * 1024) {
      const uint32_t len = static_cast<uint32_t>(std::min<size_t>(256 * 1024, kLen - at));
      h.push_back({srcs[ch]->bus(at), ch * 0x40'0000 + at, len});
      c.push_back({dsts[ch]->bus(at), 0x2000'0000 + ch * 0x40'0000 + at, len});
    }
    rings.push_back(b.NewRing(h.size()));
    rings.push_back(b.NewRing(c.size()));
    const unsigned ah = BuildChain(*rings[2 * ch], kH2c, h);
    const unsigned ac = BuildChain(*rings[2 * ch + 1], kC2h, c);
    b.Start(kH2c, ch, rings[2 * ch]->bus(), ah);
    b.Start(kC2h, ch, rings[2 * ch + 1]->bus(), ac);
  }
  for (unsigned ch = 0; ch < 4; ++ch) {
    ASSERT_TRUE(b.WaitIdle(kH2c, ch));
    ASSERT_TRUE(b.WaitIdle(kC2h, ch));
    EXPECT_EQ(b.Status(kH2c, ch), 0x6u);
    EXPECT_EQ(b.Status(kC2h, ch), 0x6u);
    EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + ch * 0x40'0000, srcs[ch]->data(), kLen),
              -1);
    std::vector<uint8_t> expect(kLen);
    FillPattern(expect.data(), kLen, 200 + ch);
    EXPECT_EQ(FirstMismatch(dsts[ch]->data(), expect.data(), kLen), -1);
    EXPECT_EQ(b.model.counters().h2cBytes[ch], kLen);
    EXPECT_EQ(b.model.counters().c2hBytes[ch], kLen);
  }
}

TEST(XdmaDma, NonIncrementingModeUsesOneCardAddress) {
  Bench b;  // 128-bit datapath: 16-byte beats
  auto src = b.NewBuffer(64, DmaAccess::kDeviceRead);
  auto dst = b.NewBuffer(64, DmaAccess::kDeviceWrite);
  FillPattern(src->data(), 64, 11);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0x100, 64, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kH2c, 0, ring->bus(), 0, Bench::kControlAll | ChannelControl::non_inc_mode_field::kMask);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  // The last beat is what stays at the fixed address; nothing was written past it.
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data() + 0x100, src->data() + 48, 16), -1);
  EXPECT_EQ(b.model.cardMemory().data()[0x110], 0);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(0x100, dst->bus(), 64, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Start(kC2h, 0, ring->bus(), 0, Bench::kControlAll | ChannelControl::non_inc_mode_field::kMask);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  for (unsigned beat = 0; beat < 4; ++beat) {
    EXPECT_EQ(FirstMismatch(dst->data() + 16 * beat, src->data() + 48, 16), -1);
  }
}

TEST(XdmaDma, HaltAndCreditsGateDescriptorFetch) {
  Bench b;
  auto src = b.NewBuffer(4 * 32, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 128, 4);
  auto ring = b.NewRing(4);
  std::vector<Piece> pieces;
  for (unsigned i = 0; i < 4; ++i) pieces.push_back({src->bus(32 * i), 32u * i, 32});
  const unsigned adj = BuildChain(*ring, kH2c, pieces);
  const uint32_t bit = SgdmaChannelBits::BitFor(kH2c, 1);
  // Halted: Run set, nothing fetched.
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kDescControlW1S, bit);
  b.Start(kH2c, 1, ring->bus(), adj);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b.Completed(kH2c, 1), 0u);
  EXPECT_EQ(b.Status(kH2c, 1), ChannelStatus::kBusy);
  // Credit mode with 0 credits: still nothing after the halt is lifted.
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kCreditModeEnableW1S, bit);
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kDescControlW1C, bit);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b.Completed(kH2c, 1), 0u);
  // Two credits: exactly two descriptors.
  SgdmaDescCredits::Get(kH2c, 1).FromValue(2).WriteTo(b);
  ASSERT_TRUE(WaitUntil([&] { return b.Completed(kH2c, 1) == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b.Completed(kH2c, 1), 2u);
  EXPECT_EQ(SgdmaDescCredits::Get(kH2c, 1).ReadFrom(b).credits(), 0u);
  SgdmaDescCredits::Get(kH2c, 1).FromValue(5).WriteTo(b);
  ASSERT_TRUE(b.WaitIdle(kH2c, 1));
  EXPECT_EQ(b.Completed(kH2c, 1), 4u);
  EXPECT_EQ(SgdmaDescCredits::Get(kH2c, 1).ReadFrom(b).credits(), 3u);
  // Disabling credit mode clears the credits (§3.6).
  b.Write32(kSgdmaCommonBase + sgdma_common_reg::kCreditModeEnableW1C, bit);
  EXPECT_EQ(SgdmaDescCredits::Get(kH2c, 1).ReadFrom(b).credits(), 0u);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), 128), -1);
}

TEST(XdmaDma, BusMasterOffStallsTheEngineUntilSet) {
  Bench b;
  auto src = b.NewBuffer(64, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 64, 8);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0, 64, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace);
  b.Start(kH2c, 0, ring->bus(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kBusy);
  EXPECT_EQ(b.model.cardMemory().data()[0], 0);
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), 64), -1);
}

TEST(XdmaDma, PerformanceCountersCountBeats) {
  Bench b;
  auto src = b.NewBuffer(1000, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] =
      Descriptor::Make(src->bus(), 0, 1000, 0, 0, Descriptor::kStop | Descriptor::kCompleted);
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kPerfCtrl, 0x5);  // run + auto, as drivers do
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 0) + channel_reg::kPerfDataCountLo), 63u);  // 1000/16
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kPerfCtrl, 0x2);                   // clear
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 0) + channel_reg::kPerfDataCountLo), 0u);
}

TEST(XdmaDma, CardMemoryBackingFileSurvivesTheModel) {
  const std::string path = ::testing::TempDir() + "fpgadext-xdma-card.bin";
  std::remove(path.c_str());
  XdmaModel::Config cfg;
  cfg.cardMemorySize = 64 << 20;
  cfg.cardMemoryFile = path;
  {
    Bench b(cfg);
    auto src = b.NewBuffer(4096, DmaAccess::kDeviceRead);
    FillPattern(src->data(), 4096, 77);
    auto ring = b.NewRing(1);
    Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0x3F0'0000, 4096, 0, 0,
                                              Descriptor::kStop | Descriptor::kCompleted);
    b.Start(kH2c, 0, ring->bus(), 0);
    ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  }
  {
    Bench b(cfg);
    auto dst = b.NewBuffer(4096, DmaAccess::kDeviceWrite);
    auto ring = b.NewRing(1);
    Bench::Descs(*ring)[0] = Descriptor::Make(0x3F0'0000, dst->bus(), 4096, 0, 0,
                                              Descriptor::kStop | Descriptor::kCompleted);
    b.Start(kC2h, 0, ring->bus(), 0);
    ASSERT_TRUE(b.WaitIdle(kC2h, 0));
    std::vector<uint8_t> expect(4096);
    FillPattern(expect.data(), 4096, 77);
    EXPECT_EQ(FirstMismatch(dst->data(), expect.data(), 4096), -1);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace fpgadext::models::test
