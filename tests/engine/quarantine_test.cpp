// Quarantine of hung channels (issue 12 items 2 and 3, docs/engine.md "Quarantine"): a channel
// whose engine does not stop after a timeout keeps its window mapped, held by the engine, and is
// never handed out until it is seen idle; transfers use the other channels, and fail at once when
// every channel of the direction is hung. Every test runs in both hardware profiles: on DART a
// late device access to an unmapped window would stop the (emulated) machine.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "engine_harness.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

DmaAccess AccessFor(Direction d) {
  return d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite;
}

// Short timeouts: a hang costs 50 ms of planner deadline and 5 ms of stop wait.
BenchOptions QuickTimeouts() {
  BenchOptions o;
  o.planner.timeoutBaseNs = 50'000'000;
  o.planner.minimumBytesPerSecond = 1ull << 40;
  o.stopTimeoutNs = 5'000'000;
  return o;
}

// Runs small transfers with every other channel of `d` held, so the planner has only the
// quarantined ones to look at, until none is quarantined (each attempt reaps at acquire).
void ReapQuarantined(Bench& b, Direction d) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  HostBytes host(4096, 0);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), AccessFor(d), 1);
  while (b.pool->Quarantined(d) != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "still quarantined";
    const uint32_t others = b.pool->TryAcquire(d, 4);
    const IOReturn r = b.planner->Execute(d, 0x80'0000, memory, host.size());
    b.pool->Release(d, others);
    ASSERT_TRUE(r == kIOReturnSuccess || r == kIOReturnTimeout || r == kIOReturnNotResponding)
        << std::hex << r;
  }
}

// Item 3: InjectHang(H2C, 0) with channel 1 healthy. The timed-out channel is quarantined, every
// later write goes to channel 1 and succeeds (before: the pool handed channel 0 out first and
// each write failed with kIOReturnBusy), a large transfer runs on the healthy channel only; when
// channel 1 hangs too, writes fail at once with kIOReturnNotResponding instead of waiting for
// their deadline; once the card recovers, both channels serve again.
TEST(Quarantine, HungChannelIsSetAsideAndTheOthersServe) {
  BenchOptions o = QuickTimeouts();
  // Deadlines a healthy transfer meets on a loaded machine (sanitizers, 2 cores shared): the
  // 4 MiB one gets 250 ms + 84 ms.
  o.planner.timeoutBaseNs = 250'000'000;
  o.planner.minimumBytesPerSecond = 50'000'000;
  o.planner.parallelThreshold = 1u << 20;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  uint8_t* cardMem = b.model.cardMemory().data();
  b.model.InjectHang(xdma::Direction::kH2c, 0);
  HostBytes host(65536, 0);
  FillPattern(host.data(), host.size(), 5);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceRead, 1);
  EXPECT_EQ(b.planner->Execute(kH2c, 0, memory, host.size()), kIOReturnTimeout);
  EXPECT_EQ(b.pool->Quarantined(kH2c), 1u);
  EXPECT_EQ(memory.handedOver(), 1u);
  const uint64_t channel1Before = b.model.counters().h2cBytes[1];
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(b.planner->Execute(kH2c, 0x10'0000, memory, host.size()), kIOReturnSuccess);
  }
  EXPECT_EQ(b.model.counters().h2cBytes[1] - channel1Before, 40u * host.size());
  EXPECT_EQ(FirstMismatch(host.data(), cardMem + 0x10'0000, host.size()), -1);
  // Large enough for every channel: it runs on the healthy one.
  HostBytes large(4u << 20, 0);
  FillPattern(large.data(), large.size(), 6);
  IommuHostMemory largeMemory(b.iommu, large.data(), large.size(), DmaAccess::kDeviceRead, 2,
                              65536);
  ASSERT_EQ(b.planner->Execute(kH2c, 0x20'0000, largeMemory, large.size()), kIOReturnSuccess);
  EXPECT_EQ(FirstMismatch(large.data(), cardMem + 0x20'0000, large.size()), -1);
  // Channel 1 hangs as well: its write times out, and the next fails at once.
  b.model.InjectHang(xdma::Direction::kH2c, 1);
  EXPECT_EQ(b.planner->Execute(kH2c, 0x30'0000, memory, host.size()), kIOReturnTimeout);
  EXPECT_EQ(b.pool->Quarantined(kH2c), 3u);
  EXPECT_EQ(b.planner->Execute(kH2c, 0x30'0000, memory, host.size()), kIOReturnNotResponding);
  // The other direction is not affected.
  HostBytes in(8192, 0);
  IommuHostMemory inMemory(b.iommu, in.data(), in.size(), DmaAccess::kDeviceWrite, 1);
  EXPECT_EQ(b.planner->Execute(kC2h, 0x10'0000, inMemory, in.size()), kIOReturnSuccess);
  // The card recovers: the stuck chunks land in their kept windows, both channels come back.
  b.model.ClearFaults();
  ReapQuarantined(b, kH2c);
  const uint32_t all = b.pool->TryAcquire(kH2c, 4);
  EXPECT_EQ(all, 3u);
  b.pool->Release(kH2c, all);
  ASSERT_EQ(b.planner->Execute(kH2c, 0x20'0000, largeMemory, large.size()), kIOReturnSuccess);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  EXPECT_EQ(b.iommu.LiveMappings(), baseline);  // no window left mapped
}

// Item 2, engine level: a C2H transfer times out on a hung channel; its HostMemory object goes
// away (as the dext's does when the call returns) and another buffer is mapped. When the card
// resumes, its late bytes land in the window the engine kept — never in the other buffer, and
// never in an unmapped IOVA (which on DART stops the machine). The window is unmapped once the
// channel is seen idle.
TEST(Quarantine, LateDataLandsOnlyInTheKeptWindow) {
  Bench b(QuickTimeouts());
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  const uint64_t size = 65536, card = 0x40'0000;
  uint8_t* cardMem = b.model.cardMemory().data();
  FillPattern(cardMem + card, size, 21);
  b.model.InjectHang(xdma::Direction::kC2h, 0);
  HostBytes a(size, 0);  // the app's pages: they stay (wired) while a window maps them
  {
    IommuHostMemory memoryA(b.iommu, a.data(), size, DmaAccess::kDeviceWrite, 1);
    EXPECT_EQ(b.planner->Execute(kC2h, card, memoryA, size), kIOReturnTimeout);
    EXPECT_EQ(memoryA.handedOver(), 1u);
    EXPECT_EQ(memoryA.Outstanding(), 0u);
  }
  EXPECT_TRUE(b.engine->Stranded(kC2h, 0));
  EXPECT_GT(b.iommu.LiveMappings(), baseline);  // A's window outlives its HostMemory
  // Another client's buffer, mapped while A's window is kept: it cannot get A's IOVAs.
  HostBytes other(size, 0);
  std::memset(other.data(), 0x55, size);
  IommuHostMemory memoryB(b.iommu, other.data(), size, DmaAccess::kDeviceWrite, 1);
  BusSegment segments[kMaxSegmentsPerWindow];
  uint32_t count = kMaxSegmentsPerWindow;
  uint64_t covered = 0;
  ASSERT_EQ(memoryB.PrepareWindow(0, 0, size, segments, &count, &covered), kIOReturnSuccess);
  b.model.ClearFaults();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (b.engine->Recover(kC2h, 0) != kIOReturnSuccess) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  EXPECT_FALSE(b.engine->Stranded(kC2h, 0));
  memoryB.CompleteWindow(0);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  for (uint64_t i = 0; i < size; ++i) {
    ASSERT_EQ(other.data()[i], 0x55) << i;
    ASSERT_TRUE(a.data()[i] == 0 || a.data()[i] == cardMem[card + i]) << i;
  }
  EXPECT_EQ(b.iommu.LiveMappings(), baseline);  // released once idle
  ReapQuarantined(b, kC2h);                     // the pool takes channel 0 back
  EXPECT_EQ(b.pool->Quarantined(kC2h), 0u);
}

// A channel still hung when the engine goes away (the dext's Stop: DestroyMover recovers each
// channel, then destroys the engine): the kept window is released with the engine.
TEST(Quarantine, DestroyingTheEngineReleasesKeptWindows) {
  Bench b(QuickTimeouts());
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  b.model.InjectHang(xdma::Direction::kH2c, 0);
  HostBytes host(65536, 0);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceRead, 1);
  EXPECT_EQ(b.planner->Execute(kH2c, 0, memory, host.size()), kIOReturnTimeout);
  EXPECT_GT(b.iommu.LiveMappings(), baseline);
  EXPECT_EQ(b.engine->Recover(kH2c, 0), kIOReturnNotResponding);  // Stop's attempt
  b.planner.reset();
  b.pool.reset();
  b.engine.reset();
  EXPECT_EQ(b.iommu.LiveMappings(), baseline);
  // The card must not wake up into the released window now: remove it rather than resume it.
  b.model.SurpriseRemove();
}

// A reset (Probe again) finds the channel idle: the kept window goes.
TEST(Quarantine, ProbeOfAnIdleChannelReleasesItsWindow) {
  Bench b(QuickTimeouts());
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  b.model.InjectHang(xdma::Direction::kC2h, 0);
  HostBytes host(65536, 0);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceWrite, 1);
  EXPECT_EQ(b.planner->Execute(kC2h, 0, memory, host.size()), kIOReturnTimeout);
  EXPECT_TRUE(b.engine->Stranded(kC2h, 0));
  b.model.ClearFaults();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  IOReturn probed;
  while ((probed = b.engine->Probe()) == kIOReturnNotResponding) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  }
  ASSERT_EQ(probed, kIOReturnSuccess);
  EXPECT_FALSE(b.engine->Stranded(kC2h, 0));
  EXPECT_EQ(b.iommu.LiveMappings(), baseline);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

}  // namespace
}  // namespace fpgadext::engine::test
