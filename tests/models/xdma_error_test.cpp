// XDMA model: every error bit, what follows it, and recovery (xdma-facts §3.4, §6.4, §8).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using emu::DmaAccess;

constexpr Direction kH2c = Direction::kH2c;
constexpr Direction kC2h = Direction::kC2h;
constexpr uint32_t kStopDone = Descriptor::kStop | Descriptor::kCompleted;

struct WbBench : Bench {
  using Bench::Bench;
  // Arms poll-mode writeback of channel (dir, ch) into a fresh word.
  uint32_t* ArmWriteback(Direction dir, unsigned ch) {
    wb = NewBuffer(4, DmaAccess::kDeviceWrite);
    std::memset(wb->data(), 0, 4);
    Write32(ChannelBase(dir, ch) + channel_reg::kPollModeWbAddrLo,
            static_cast<uint32_t>(wb->bus()));
    Write32(ChannelBase(dir, ch) + channel_reg::kPollModeWbAddrHi,
            static_cast<uint32_t>(wb->bus() >> 32));
    return reinterpret_cast<uint32_t*>(wb->data());
  }
  uint32_t Word() {
    return __atomic_load_n(reinterpret_cast<uint32_t*>(wb->data()), __ATOMIC_ACQUIRE);
  }
  std::unique_ptr<HostBuffer> wb;
};

constexpr uint32_t kControlWb =
    Bench::kControlAll | ChannelControl::pollmode_wb_enable_field::kMask;

TEST(XdmaErrors, BadMagicStopsBeforeTheDescriptorWithWritebackBit31) {
  WbBench b;
  auto src = b.NewBuffer(3 * 100, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 300, 1);
  auto ring = b.NewRing(3);
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(0), 0, 100, ring->bus(32), 1, Descriptor::kCompleted);
  d[1] = Descriptor::Make(src->bus(100), 100, 100, ring->bus(64), 0, 0);
  d[1].control = (d[1].control & 0xFFFF) | 0xAD4A'0000;  // wrong magic
  d[2] = Descriptor::Make(src->bus(200), 200, 100, 0, 0, kStopDone);
  b.ArmWriteback(kH2c, 0);
  b.Start(kH2c, 0, ring->bus(), 2, kControlWb);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kMagicStopped | ChannelStatus::kDescriptorCompleted);
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);  // the bad one is neither executed nor counted
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), 100), -1);
  EXPECT_EQ(b.model.cardMemory().data()[150], 0);
  auto w = PollModeWriteback::Of(b.Word());
  EXPECT_EQ(w.sts_err(), 1u);
  EXPECT_EQ(w.completed_count(), 1u);
  // Run stays set; the engine is stopped.
  EXPECT_EQ(ChannelControl::Get(kH2c, 0).ReadFrom(b).run(), 1u);
}

TEST(XdmaErrors, CardAddressOutsideMemoryIsAnAxiDecodeError) {
  XdmaModel::Config cfg;
  cfg.cardMemorySize = 1 << 20;
  Bench b(cfg);
  auto buf = b.NewBuffer(64, DmaAccess::kDeviceReadWrite);
  auto ring = b.NewRing(1);
  // H2C: the AXI write to the card fails → write_error DECERR (bit 14).
  Bench::Descs(*ring)[0] = Descriptor::Make(buf->bus(), (1 << 20) - 32, 64, 0, 0, kStopDone);
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kWriteErrorAxiDecode);
  EXPECT_EQ(b.Completed(kH2c, 0), 0u);
  // C2H: the AXI read fails → read_error DECERR (bit 9).
  Bench::Descs(*ring)[0] = Descriptor::Make(1ull << 40, buf->bus(), 64, 0, 0, kStopDone);
  b.Start(kC2h, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(b.Status(kC2h, 0), ChannelStatus::kReadErrorAxiDecode);
  EXPECT_EQ(b.model.counters().h2cBytes[0] + b.model.counters().c2hBytes[0], 0u);
}

TEST(XdmaErrors, IommuRefusedHostReadIsAReadError) {
  WbBench b;
  auto src = b.NewBuffer(4096, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(2);
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(), 0, 4096, ring->bus(32), 0, 0);
  d[1] = Descriptor::Make(src->bus(2048), 4096, 4096, 0, 0, kStopDone);  // runs past the mapping
  b.ArmWriteback(kH2c, 1);
  b.Start(kH2c, 1, ring->bus(), 1, kControlWb);
  ASSERT_TRUE(b.WaitIdle(kH2c, 1));
  EXPECT_EQ(b.Status(kH2c, 1), ChannelStatus::kReadErrorUnsupportedRequest);
  EXPECT_EQ(b.Completed(kH2c, 1), 1u);
  EXPECT_EQ(PollModeWriteback::Of(b.Word()).reg_value(), 0x8000'0001u);
  EXPECT_EQ(b.iommu.ViolationCount(), 1u);
  EXPECT_EQ(b.model.counters().iommuRefusals, 1u);
}

TEST(XdmaErrors, IommuRefusedHostWriteStopsC2h) {
  Bench b;
  auto ro = b.NewBuffer(256, DmaAccess::kDeviceRead);  // prepared for the wrong direction
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(0, ro->bus(), 256, 0, 0, kStopDone);
  b.Start(kC2h, 1, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kC2h, 1));
  // Model extension: C2H write_error bit 14 (the IP cannot see posted-write faults).
  EXPECT_EQ(b.Status(kC2h, 1), XdmaModel::kC2hHostWriteRefused);
  EXPECT_EQ(b.Completed(kC2h, 1), 0u);
  EXPECT_EQ(b.iommu.Violations().at(0).reason, "direction");
}

TEST(XdmaErrors, SiliconExactModeLosesRefusedWritesSilently) {
  XdmaModel::Config cfg;
  cfg.reportHostWriteFaults = false;
  Bench b(cfg);
  auto ro = b.NewBuffer(256, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(0, ro->bus(), 256, 0, 0, kStopDone);
  b.Start(kC2h, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kC2h, 0));
  EXPECT_EQ(b.Status(kC2h, 0), 0x6u);
  EXPECT_EQ(b.iommu.ViolationCount(), 1u);
}

TEST(XdmaErrors, DescriptorFetchRefusedIsADescError) {
  Bench b;
  auto ring = b.NewRing(1);
  b.Start(kH2c, 0, ring->bus() + 0x10'0000, 0);  // nothing mapped there
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kDescErrorUnsupportedRequest);
  // Next = 0 without Stop: the engine fetches address 0 (§8).
  auto src = b.NewBuffer(8, DmaAccess::kDeviceRead);
  Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0, 8, 0, 0, 0);
  b.Start(kH2c, 1, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 1));
  EXPECT_EQ(b.Status(kH2c, 1), ChannelStatus::kDescErrorUnsupportedRequest);
  EXPECT_EQ(b.Completed(kH2c, 1), 1u);
}

TEST(XdmaErrors, TooLargeFirstAdjacentCountReadsPastTheList) {
  // #48/#49: Dsc_adj larger than the list. Past the mapped ring the fetch is refused.
  Bench b;
  auto src = b.NewBuffer(8, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(2);
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(), 0, 8, ring->bus(32), 0, 0);
  d[1] = Descriptor::Make(src->bus(), 8, 8, 0, 0, kStopDone);
  b.Start(kH2c, 0, ring->bus(), 5);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kDescErrorUnsupportedRequest);
  EXPECT_EQ(b.Completed(kH2c, 0), 0u);
}

TEST(XdmaErrors, GarbageAfterTheListIsMagicStopped) {
  Bench b;
  auto src = b.NewBuffer(8, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(8);  // mapped, but only two descriptors written
  Descriptor* d = Bench::Descs(*ring);
  d[0] = Descriptor::Make(src->bus(), 0, 8, ring->bus(32), 0, 0);
  d[1] = Descriptor::Make(src->bus(), 8, 8, 0, 0, 0);  // Stop forgotten on the last
  b.Start(kH2c, 0, ring->bus(), 3);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kMagicStopped);
  EXPECT_EQ(b.Completed(kH2c, 0), 2u);
}

TEST(XdmaErrors, NonIncrementingMisalignmentAndLength) {
  Bench b;
  auto src = b.NewBuffer(64, DmaAccess::kDeviceRead);
  auto ring = b.NewRing(1);
  const uint32_t nonInc = Bench::kControlAll | ChannelControl::non_inc_mode_field::kMask;
  Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0x104, 32, 0, 0, kStopDone);
  b.Start(kH2c, 0, ring->bus(), 0, nonInc);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kAlignMismatch);
  Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0x100, 40, 0, 0, kStopDone);
  b.Start(kH2c, 0, ring->bus(), 0, nonInc);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kInvalidLength);
}

TEST(XdmaErrors, ErrorsWithTheirIeBitClearStillStopButDoNotLog) {
  WbBench b;
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0].control = 0x1234'0003;  // bad magic
  b.ArmWriteback(kH2c, 0);
  b.Start(kH2c, 0, ring->bus(), 0,
          ChannelControl::pollmode_wb_enable_field::kMask);  // no ie bits at all
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0u);
  EXPECT_EQ(b.model.counters().unloggedErrors, 1u);
  EXPECT_EQ(PollModeWriteback::Of(b.Word()).sts_err(), 1u);
}

TEST(XdmaErrors, RecoveryAfterAnErrorRunsTheNextTransfer) {
  Bench b;
  auto src = b.NewBuffer(4096, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 4096, 42);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0, 4096, 0, 0, kStopDone);
  Bench::Descs(*ring)[0].control ^= 0x0001'0000;  // bad magic
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kMagicStopped);
  // Recovery (§6.4): W1C Run, wait Busy=0, read Status RC, reprogram, set Run.
  b.StopAndClear(kH2c, 0);
  EXPECT_EQ(b.Status(kH2c, 0), 0u);
  Bench::Descs(*ring)[0].control ^= 0x0001'0000;
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Status(kH2c, 0), 0x6u);
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), 4096), -1);
}

}  // namespace
}  // namespace fpgadext::models::test
