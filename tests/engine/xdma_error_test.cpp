// XdmaEngine + TransferPlanner errors: ranges, IOMMU refusals, hangs, card errors, removal.
// After each error the channel is recovered and a good transfer goes through.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "engine_harness.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

xdma::Direction X(Direction d) {
  return d == kH2c ? xdma::Direction::kH2c : xdma::Direction::kC2h;
}

// A good transfer on `b` in direction `d`, checked.
void GoodTransfer(Bench& b, Direction d, uint64_t size = 70'001, uint64_t card = 0x9001) {
  HostBytes host(size, 3);
  uint8_t* cardMem = b.model.cardMemory().data();
  if (d == kH2c) {
    FillPattern(host.data(), size, 42);
  } else {
    FillPattern(cardMem + card, size, 43);
  }
  IommuHostMemory memory(b.iommu, host.data(), size,
                         d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite, 1, 4096);
  ASSERT_EQ(b.planner->Execute(d, card, memory, size), kIOReturnSuccess);
  EXPECT_EQ(FirstMismatch(host.data(), cardMem + card, size), -1);
}

TEST(XdmaErrors, CardRangeAndHostLength) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const uint64_t cardSize = b.engine->Limits().cardMemorySize;
  HostBytes host(8192, 0);
  IommuHostMemory memory(b.iommu, host.data(), 8192, DmaAccess::kDeviceReadWrite);
  for (Direction d : {kH2c, kC2h}) {
    EXPECT_EQ(b.planner->Execute(d, cardSize - 10, memory, 11), kIOReturnOverrun);
    EXPECT_EQ(b.planner->Execute(d, cardSize, memory, 1), kIOReturnOverrun);
    EXPECT_EQ(b.planner->Execute(d, cardSize - 10, memory, 10), kIOReturnSuccess);
    EXPECT_EQ(b.planner->Execute(d, ~uint64_t{0} - 5, memory, 100), kIOReturnBadArgument);
    EXPECT_EQ(b.planner->Execute(d, 0, memory, 8193), kIOReturnBadArgument);
    EXPECT_EQ(b.planner->Execute(d, ~uint64_t{0}, memory, 0), kIOReturnSuccess);  // 0 bytes
    // The engine checks too, without the planner.
    EXPECT_EQ(b.engine->Start(d, 0, cardSize - 1, memory, 0, 0, 2), kIOReturnOverrun);
    EXPECT_EQ(b.engine->Start(d, 0, 0, memory, 0, 8000, 193), kIOReturnBadArgument);
    EXPECT_EQ(b.engine->Start(d, 2, 0, memory, 0, 0, 1), kIOReturnBadArgument);
    EXPECT_EQ(b.engine->Poll(d, 0, nullptr), kIOReturnNotOpen);
  }
  EXPECT_EQ(memory.Outstanding(), 0u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  EXPECT_EQ(b.model.counters().h2cBytes[0], 10u);
}

// The engine believes in more card memory than the board decodes: the card answers with an
// AXI decode error (xdma-facts §3.4) → kIOReturnIOError, nothing moved; channel usable after.
TEST(XdmaErrors, CardDecodeError) {
  Bench b;
  XdmaEngineConfig config = b.channelMemory.config();
  config.cardMemorySize = 1ull << 40;
  Bench::Engine engine(b.io, b.platform, config);
  ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
  ChannelPool pool(2, 2);
  TransferPlanner planner(engine, pool, b.platform);
  HostBytes host(5000, 0);
  IommuHostMemory memory(b.iommu, host.data(), 5000, DmaAccess::kDeviceReadWrite);
  const uint64_t past = b.model.cardMemory().size();
  for (Direction d : {kH2c, kC2h}) {
    EXPECT_EQ(planner.Execute(d, past + 4096, memory, 5000), kIOReturnIOError);
    EXPECT_EQ(memory.Outstanding(), 0u);
    EXPECT_EQ(planner.Execute(d, 0x1000, memory, 5000), kIOReturnSuccess);
  }
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// Host memory prepared for the wrong direction: the IOMMU refuses the device
// (kIOReturnNotPermitted), the violation is recorded, the channel works afterwards. DART does
// not enforce read-only for the device: there the C2H write into read-only memory lands and the
// transfer succeeds, as on an Apple-silicon Mac; the H2C read of write-only memory is refused.
TEST(XdmaErrors, IommuRefusalThenRecovery) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const bool dart = b.iommu.config().kind == emu::Iommu::Kind::kDart;
  for (Direction d : {kC2h, kH2c}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    HostBytes host(100'000, 1);
    std::memset(host.data(), 0x77, host.size());
    // C2H into memory the device may only read; H2C from memory it may only write.
    const auto wrong = d == kC2h ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite;
    IommuHostMemory memory(b.iommu, host.data(), host.size(), wrong, 1, 4096);
    const bool lands = dart && d == kC2h;
    EXPECT_EQ(b.planner->Execute(d, 0x4000, memory, host.size()),
              lands ? kIOReturnSuccess : kIOReturnNotPermitted);
    EXPECT_EQ(memory.Outstanding(), 0u);
    if (lands) {
      EXPECT_EQ(b.iommu.ViolationCount(), 0u);
      EXPECT_EQ(FirstMismatch(host.data(), b.model.cardMemory().data() + 0x4000, host.size()), -1);
    } else {
      EXPECT_GT(b.iommu.ViolationCount(), 0u);
    }
    if (d == kC2h && !lands) {
      for (size_t i = 0; i < host.size(); ++i) ASSERT_EQ(host.data()[i], 0x77) << i;
    }
    b.iommu.ClearViolations();
    GoodTransfer(b, d);
    EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  }
}

// A card that never moves data: the planner's timeout fires (kIOReturnTimeout); the engine does
// not stop, so its window stays mapped (handed over to the engine: the HostMemory may go) and the
// channel refuses work. Once the card recovers, the stuck chunk lands in that window — no IOMMU
// fault, which on DART would stop the machine — and Recover unmaps it and frees the channel.
TEST(XdmaErrors, HangTimesOut) {
  BenchOptions o;
  o.planner.timeoutBaseNs = 50'000'000;  // 50 ms
  o.planner.minimumBytesPerSecond = 1ull << 40;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  for (Direction d : {kH2c, kC2h}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    b.model.InjectHang(X(d), 0);
    HostBytes host(65536, 0);
    IommuHostMemory memory(b.iommu, host.data(), host.size(),
                           d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite, 1);
    EXPECT_EQ(b.planner->Execute(d, 0, memory, host.size()), kIOReturnTimeout);
    EXPECT_EQ(memory.Outstanding(), 0u);
    EXPECT_EQ(memory.handedOver(), 1u);           // kept by the engine,
    EXPECT_GT(b.iommu.LiveMappings(), baseline);  // still mapped
    // Still hung: the engine is busy and refuses new work.
    EXPECT_EQ(b.engine->Recover(d, 0), kIOReturnNotResponding);
    EXPECT_EQ(b.engine->Start(d, 0, 0, memory, 0, 0, 16), kIOReturnBusy);
    b.model.ClearFaults();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (b.engine->Recover(d, 0) != kIOReturnSuccess) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::yield();
    }
    EXPECT_EQ(b.iommu.LiveMappings(), baseline);  // unmapped once idle
    EXPECT_EQ(b.iommu.ViolationCount(), 0u);      // the late chunk found its window
    GoodTransfer(b, d);
    EXPECT_EQ(b.iommu.ViolationCount(), 0u);
  }
}

// The card fails after N bytes: the error comes back with the bytes known to have moved
// (whole descriptors, from the completed count), and those bytes are right.
TEST(XdmaErrors, ErrorAfterBytesReportsDone) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    const uint64_t size = (1u << 20) + 7, card = 0x20'0003, failAt = 300'000;
    HostBytes host(size, 0x123);
    uint8_t* cardMem = b.model.cardMemory().data();
    if (d == kH2c) {
      FillPattern(host.data(), size, 8);
    } else {
      FillPattern(cardMem + card, size, 9);
    }
    IommuHostMemory memory(b.iommu, host.data(), size,
                           d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite, 1, 4096);
    b.model.InjectErrorAfterBytes(X(d), 1, failAt);
    ASSERT_EQ(b.engine->Start(d, 1, card, memory, 0, 0, size), kIOReturnSuccess);
    IOReturn r;
    uint64_t done = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((r = b.engine->Poll(d, 1, &done)) == kIOReturnNotReady) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::yield();
    }
    EXPECT_EQ(r, kIOReturnIOError);  // AXI slave error on the card side
    EXPECT_LE(done, failAt);
    EXPECT_GT(done, failAt - 4096);  // pages of at most 4 KiB each
    EXPECT_EQ(memory.Outstanding(), 0u);
    EXPECT_EQ(FirstMismatch(host.data(), cardMem + card, done), -1);
    // Poll repeats the error until Recover.
    EXPECT_EQ(b.engine->Poll(d, 1, nullptr), kIOReturnIOError);
    EXPECT_EQ(b.engine->Start(d, 1, card, memory, 0, 0, size), kIOReturnBusy);
    EXPECT_EQ(b.engine->Recover(d, 1), kIOReturnSuccess);
    ASSERT_EQ(b.engine->Start(d, 1, card, memory, 0, 0, size), kIOReturnSuccess);
    while ((r = b.engine->Poll(d, 1, &done)) == kIOReturnNotReady) std::this_thread::yield();
    EXPECT_EQ(r, kIOReturnSuccess);
    EXPECT_EQ(done, size);
    EXPECT_EQ(FirstMismatch(host.data(), cardMem + card, size), -1);
  }
  // Through the planner: the error, the other channel of a parallel transfer stopped too.
  BenchOptions o;
  o.planner.parallelThreshold = 1 << 20;
  Bench p(o);
  HostBytes host(8u << 20, 0);
  IommuHostMemory memory(p.iommu, host.data(), host.size(), DmaAccess::kDeviceRead, 2, 65536);
  p.model.InjectErrorAfterBytes(xdma::Direction::kH2c, 1, 100'000);
  EXPECT_EQ(p.planner->Execute(kH2c, 0, memory, host.size()), kIOReturnIOError);
  EXPECT_EQ(memory.Outstanding(), 0u);
  EXPECT_LT(p.ModelBytes(kH2c), host.size());
  GoodTransfer(p, kH2c, 3u << 20);
  EXPECT_EQ(p.iommu.ViolationCount(), 0u);
}

// Surprise removal: every register reads all ones; a running transfer ends with
// kIOReturnNoDevice, new ones fail at once.
TEST(XdmaErrors, SurpriseRemoval) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  HostBytes host(1u << 20, 0);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceWrite, 1);
  b.model.InjectHang(xdma::Direction::kC2h, 0);  // keep it running until removed
  ASSERT_EQ(b.engine->Start(kC2h, 0, 0, memory, 0, 0, host.size()), kIOReturnSuccess);
  EXPECT_EQ(b.engine->Poll(kC2h, 0, nullptr), kIOReturnNotReady);
  b.model.SurpriseRemove();
  IOReturn r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((r = b.engine->Poll(kC2h, 0, nullptr)) == kIOReturnNotReady) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  EXPECT_EQ(r, kIOReturnNoDevice);
  EXPECT_EQ(memory.Outstanding(), 0u);
  EXPECT_EQ(b.engine->Recover(kC2h, 0), kIOReturnNoDevice);
  EXPECT_EQ(b.planner->Execute(kH2c, 0, memory, 100), kIOReturnNoDevice);
  EXPECT_EQ(b.planner->Execute(kC2h, 0, memory, 100), kIOReturnNoDevice);
  EXPECT_EQ(memory.Outstanding(), 0u);
  EXPECT_EQ(b.engine->Probe(), kIOReturnNoDevice);
}

// An IP that reports addr_alignment > 1 (0x4C): host and card addresses must agree modulo it,
// else kIOReturnNotAligned before anything moves (no bounce path, docs/engine.md).
TEST(XdmaErrors, AddressAlignmentFromRegister) {
  struct Align64Io {
    BarIo inner;
    uint32_t Read32(uint32_t offset) {
      const uint32_t v = inner.Read32(offset);
      if ((offset & 0xFF) == xdma::channel_reg::kAlignments && offset < 0x2000) {
        return xdma::ChannelAlignments::Get(xdma::Direction::kH2c, 0)
            .FromValue(v)
            .set_addr_alignment(64)
            .reg_value();
      }
      return v;
    }
    void Write32(uint32_t offset, uint32_t value) { inner.Write32(offset, value); }
  };
  Bench b;
  Align64Io io{b.io};
  XdmaEngine<Align64Io> engine(io, b.platform, b.channelMemory.config());
  ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
  EXPECT_EQ(engine.Limits().addressAlignment, 64u);
  ChannelPool pool(2, 2);
  TransferPlanner planner(engine, pool, b.platform);
  HostBytes host(10'000, 5);  // bus address ≡ 5 (mod 64): the IOMMU keeps the page offset
  FillPattern(host.data(), host.size(), 1);
  for (Direction d : {kH2c, kC2h}) {
    IommuHostMemory memory(b.iommu, host.data(), host.size(),
                           d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite, 1);
    EXPECT_EQ(planner.Execute(d, 0x1006, memory, host.size()), kIOReturnNotAligned);
    EXPECT_EQ(memory.Outstanding(), 0u);
    EXPECT_EQ(planner.Execute(d, 0x1005, memory, host.size()), kIOReturnSuccess);
  }
  EXPECT_EQ(b.ModelBytes(kH2c), 10'000u);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// Status bits → IOReturn (the table in docs/engine.md).
TEST(XdmaErrors, StatusMapping) {
  using S = xdma::ChannelStatus;
  constexpr auto H = xdma::Direction::kH2c;
  constexpr auto C = xdma::Direction::kC2h;
  EXPECT_EQ(XdmaStatusToIOReturn(H, 0xFFFF'FFFFu), kIOReturnNoDevice);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kDescErrorUnsupportedRequest), kIOReturnDMAError);
  EXPECT_EQ(XdmaStatusToIOReturn(C, S::kDescErrorCompleterAbort | S::kReadErrorAxiSlave),
            kIOReturnDMAError);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kMagicStopped), kIOReturnInternalError);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kAlignMismatch), kIOReturnNotAligned);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kReadErrorUnsupportedRequest), kIOReturnNotPermitted);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kReadErrorCompleterAbort), kIOReturnNotPermitted);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kReadErrorPoisoned), kIOReturnIOError);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kWriteErrorAxiDecode), kIOReturnIOError);
  EXPECT_EQ(XdmaStatusToIOReturn(H, S::kWriteErrorAxiSlave), kIOReturnIOError);
  EXPECT_EQ(XdmaStatusToIOReturn(C, S::kReadErrorAxiDecode), kIOReturnIOError);
  EXPECT_EQ(XdmaStatusToIOReturn(C, S::kReadErrorAxiSlave), kIOReturnIOError);
  EXPECT_EQ(XdmaStatusToIOReturn(C, 1u << 14), kIOReturnNotPermitted);
  EXPECT_EQ(XdmaStatusToIOReturn(C, S::kDescriptorStopped), kIOReturnIOError);
}

}  // namespace
}  // namespace fpgadext::engine::test
