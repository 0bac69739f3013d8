// Exact register sequences of the XDMA engine driver, checked with ExpectIo (no board): probe,
// programming a window, completion, error stop and recovery. Offsets come from the typed register
// map (xdma_registers.h); the order is the one docs/engine.md gives (PG195; libxdma.c).
#include <gtest/gtest.h>

#include "expect_io.h"
#include "xdma/xdma_engine.h"

namespace fpgadext::engine::test {
namespace {

using namespace xdma;
using engine::Direction;
constexpr Direction kH2c = Direction::kHostToCard;

// A clock only the test moves: relax() advances it by gRelaxStepNs (0: time stands still).
uint64_t gNowNs = 0;
uint64_t gRelaxStepNs = 0;
const Platform kClock{[] { return gNowNs; }, [] { gNowNs += gRelaxStepNs; }};

// Channel memory of one channel per direction, at made-up bus addresses (nothing is moved).
struct Memory {
  static constexpr uint64_t kRingBus[2] = {0x0000'0001'2345'0000, 0x0000'0002'0000'1000};
  static constexpr uint64_t kWordBus[2] = {0x0000'0003'0000'0040, 0x0000'0003'0000'0080};
  alignas(4096) Descriptor ring[2][8] = {};
  BusSegment segments[2][1] = {};
  alignas(64) uint32_t words[2][16] = {};

  XdmaEngineConfig Config() {
    XdmaEngineConfig config;
    config.cardMemorySize = 1u << 20;
    config.stopTimeoutNs = 2'000'000;
    for (int d = 0; d < 2; ++d) {
      segments[d][0] = BusSegment{kRingBus[d], sizeof ring[d]};
      config.channels[d][0].ring = XdmaDescriptorRing{ring[d], segments[d], 1, 8};
      config.channels[d][0].writeback = XdmaWritebackWord{&words[d][0], kWordBus[d]};
    }
    return config;
  }
};

// Host memory of one segment at a made-up bus address.
class FakeHost final : public HostMemory {
 public:
  static constexpr uint64_t kBus = 0x0000'0007'0000'1000;
  explicit FakeHost(uint64_t length) : length_(length) {}
  uint64_t Length() const override { return length_; }
  IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length, BusSegment* segments,
                         uint32_t* count, uint64_t* covered) override {
    segments[0] = BusSegment{kBus + offset, length};
    *count = 1;
    *covered = length;
    prepared = true;
    return kIOReturnSuccess;
  }
  void CompleteWindow(uint32_t slot) override { prepared = false; }
  uint32_t Slots() const override { return 1; }
  bool prepared = false;

 private:
  uint64_t length_;
};

uint32_t StopAndIncremental() {
  return ChannelControl::GetW1C(xdma::Direction::kH2c, 0)
      .FromValue(0)
      .set_run(1)
      .set_non_inc_mode(1)
      .reg_value();
}
uint32_t RunBit() {
  return ChannelControl::GetW1C(xdma::Direction::kH2c, 0).FromValue(0).set_run(1).reg_value();
}

// Probe of a board with one memory-mapped channel per direction.
void ExpectProbe(ExpectIo& io) {
  for (auto [dir, target] : {std::pair{xdma::Direction::kH2c, Target::kH2cChannel},
                             std::pair{xdma::Direction::kC2h, Target::kC2hChannel}}) {
    io.Read(Identifier::Get(target, 0), Identifier::Expected(target, 0, false))
        .Read(Identifier::Get(target, 1), 0)  // no channel 1: the list stops here
        .Read(ChannelAlignments::Get(dir, 0), 0x0001'0140)
        .Write(ChannelControl::GetW1C(dir, 0), StopAndIncremental())
        .Write(ChannelIntEnable::GetW1C(dir, 0), ChannelIntEnable::kDefinedMask)
        .Read(ChannelStatus::Get(dir, 0), 0)
        .Read(ChannelStatus::GetReadClear(dir, 0), 0);
  }
}

struct Fixture {
  Fixture() : config(memory.Config()), engine(io, kClock, config) {
    gNowNs = 1'000'000'000;
    gRelaxStepNs = 0;
  }
  // Probes with the expected sequence and forgets it.
  void Probe() {
    ExpectProbe(io);
    ASSERT_EQ(engine.Probe(), kIOReturnSuccess);
    ASSERT_EQ(io.Verify(), "");
    io.Reset();
  }
  Memory memory;
  XdmaEngineConfig config;
  ExpectIo io;
  XdmaEngine<ExpectIo> engine;
};

TEST(XdmaRegisterSequence, ProbeReadsIdentifiersThenQuiescesEachChannel) {
  Fixture f;
  ExpectProbe(f.io);
  EXPECT_EQ(f.engine.Probe(), kIOReturnSuccess);
  EXPECT_EQ(f.io.Verify(), "");
  EXPECT_EQ(f.engine.Limits().channels[0], 1u);
  EXPECT_EQ(f.engine.Limits().channels[1], 1u);
  EXPECT_EQ(f.engine.Limits().addressAlignment, 1u);
}

TEST(XdmaRegisterSequence, ProbeOfARemovedBoardStopsAtTheFirstAllOnes) {
  Fixture f;
  f.io.Read(Identifier::Get(Target::kH2cChannel, 0), 0xFFFF'FFFFu);
  EXPECT_EQ(f.engine.Probe(), kIOReturnNoDevice);
  EXPECT_EQ(f.io.Verify(), "");
}

// Start's sequence: the channel must be idle, then Run 0, descriptor address, Dsc_adj,
// writeback address, and Run with every error logged and poll-mode writeback.
void ExpectWindow(ExpectIo& io, xdma::Direction x) {
  const int d = static_cast<int>(x);
  const uint64_t ring = Memory::kRingBus[d], word = Memory::kWordBus[d];
  const uint32_t run = ChannelControl::Get(x, 0)
                           .FromValue(0)
                           .set_ie_descriptor_stopped(1)
                           .set_ie_descriptor_completed(1)
                           .set_ie_align_mismatch(1)
                           .set_ie_magic_stopped(1)
                           .set_ie_invalid_length(1)
                           .set_ie_read_error(ChannelControl::ie_read_error_field::kMax)
                           .set_ie_write_error(ChannelControl::ie_write_error_field::kMax)
                           .set_ie_desc_error(ChannelControl::ie_desc_error_field::kMax)
                           .set_pollmode_wb_enable(1)
                           .set_run(1)
                           .reg_value();
  io.Write(ChannelControl::GetW1C(x, 0), RunBit())
      .Write(SgdmaDescAddrLo::Get(x, 0), static_cast<uint32_t>(ring))
      .Write(SgdmaDescAddrHi::Get(x, 0), static_cast<uint32_t>(ring >> 32))
      .Write(SgdmaDescAdjacent::Get(x, 0), 0)  // one descriptor: a block of one
      .Write(ChannelPollModeWbAddrLo::Get(x, 0), static_cast<uint32_t>(word))
      .Write(ChannelPollModeWbAddrHi::Get(x, 0), static_cast<uint32_t>(word >> 32))
      .Write(ChannelControl::Get(x, 0), run);
}

// The window is programmed in order; the writeback word then completes it.
TEST(XdmaRegisterSequence, StartProgramsTheWindowThenTheWritebackCompletesIt) {
  Fixture f;
  f.Probe();
  const auto x = xdma::Direction::kH2c;
  ExpectWindow(f.io, x);
  FakeHost host(0x2000);
  ASSERT_EQ(f.engine.Start(kH2c, 0, 0x3000, host, 0, 0, 0x2000), kIOReturnSuccess);
  EXPECT_EQ(f.io.Verify(), "");
  const Descriptor& d = f.memory.ring[0][0];
  EXPECT_EQ(d.Src(), FakeHost::kBus);
  EXPECT_EQ(d.Dst(), 0x3000u);
  EXPECT_EQ(d.Length(), 0x2000u);
  EXPECT_EQ(d.control & (Descriptor::kStop | Descriptor::kCompleted),
            Descriptor::kStop | Descriptor::kCompleted);

  // Nothing written back yet, and the status check is not due: no register access at all.
  uint64_t done = 1;
  EXPECT_EQ(f.engine.Poll(kH2c, 0, &done), kIOReturnNotReady);
  EXPECT_EQ(done, 0u);
  EXPECT_EQ(f.io.Verify(), "");
  // The device writes back one completed descriptor: Run is cleared, the window completed.
  f.memory.words[0][0] = PollModeWriteback::completed_count_field::Make(1);
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit());
  EXPECT_EQ(f.engine.Poll(kH2c, 0, &done), kIOReturnSuccess);
  EXPECT_EQ(done, 0x2000u);
  EXPECT_FALSE(host.prepared);
  EXPECT_EQ(f.io.Verify(), "");
}

// An error stop: status (clear on read), completed count, Run cleared; the window is completed
// and the error latched (no register access) until Recover.
TEST(XdmaRegisterSequence, ErrorStopReadsStatusAndCountThenStops) {
  Fixture f;
  f.Probe();
  const auto x = xdma::Direction::kH2c;
  FakeHost host(0x1000);
  ExpectWindow(f.io, x);
  ASSERT_EQ(f.engine.Start(kH2c, 0, 0, host, 0, 0, 0x1000), kIOReturnSuccess);
  f.memory.words[0][0] = PollModeWriteback::sts_err_field::Make(1);
  f.io.Read(ChannelStatus::GetReadClear(x, 0), ChannelStatus::kReadErrorUnsupportedRequest)
      .Read(ChannelCompletedCount::Get(x, 0), 0)
      .Write(ChannelControl::GetW1C(x, 0), RunBit());
  uint64_t done = 1;
  EXPECT_EQ(f.engine.Poll(kH2c, 0, &done), kIOReturnNotPermitted);  // the IOMMU refused
  EXPECT_EQ(done, 0u);
  EXPECT_FALSE(host.prepared);
  EXPECT_EQ(f.engine.Poll(kH2c, 0, &done), kIOReturnNotPermitted);
  EXPECT_EQ(f.engine.Start(kH2c, 0, 0, host, 0, 0, 0x1000), kIOReturnBusy);
  EXPECT_EQ(f.io.Verify(), "");
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit())
      .Read(ChannelStatus::Get(x, 0), 0)
      .Read(ChannelStatus::GetReadClear(x, 0), 0);
  EXPECT_EQ(f.engine.Recover(kH2c, 0), kIOReturnSuccess);
  ExpectWindow(f.io, x);
  EXPECT_EQ(f.engine.Start(kH2c, 0, 0, host, 0, 0, 0x1000), kIOReturnSuccess);
  EXPECT_EQ(f.io.Verify(), "");
}

// Recover: Run 0, wait for Busy 0, clear the status.
TEST(XdmaRegisterSequence, RecoverStopsWaitsForIdleAndClearsStatus) {
  Fixture f;
  f.Probe();
  const auto x = xdma::Direction::kH2c;
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit())
      .Read(ChannelStatus::Get(x, 0), ChannelStatus::kBusy)
      .Read(ChannelStatus::Get(x, 0), 0)
      .Read(ChannelStatus::GetReadClear(x, 0), ChannelStatus::kDescriptorStopped);
  EXPECT_EQ(f.engine.Recover(kH2c, 0), kIOReturnSuccess);
  EXPECT_EQ(f.io.Verify(), "");
}

// A channel that stays busy: Recover gives up after the stop timeout (2 ms, one status read per
// 1 ms relax), and Start refuses the channel after reading Busy — no state says "running".
TEST(XdmaRegisterSequence, RecoverOfAStuckChannelGivesUpAfterTheStopTimeout) {
  Fixture f;
  f.Probe();
  gRelaxStepNs = 1'000'000;
  const auto x = xdma::Direction::kH2c;
  // Still busy after stopTimeoutNs: stranded, its status left for when it is idle.
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit());
  for (int i = 0; i < 4; ++i) f.io.Read(ChannelStatus::Get(x, 0), ChannelStatus::kBusy);
  EXPECT_EQ(f.engine.Recover(kH2c, 0), kIOReturnNotResponding);
  EXPECT_EQ(f.io.Verify(), "");
  EXPECT_TRUE(f.engine.Stranded(kH2c, 0));
  // A stranded channel refuses Start without touching the engine.
  f.io.Reset();
  FakeHost host(64);
  EXPECT_EQ(f.engine.Start(kH2c, 0, 0, host, 0, 0, 64), kIOReturnBusy);
  EXPECT_FALSE(host.prepared);
  EXPECT_EQ(f.io.Verify(), "");
  // Recovering it again only looks: one Status read, no second wait.
  f.io.Reset();
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit())
      .Read(ChannelStatus::Get(x, 0), ChannelStatus::kBusy);
  EXPECT_EQ(f.engine.Recover(kH2c, 0), kIOReturnNotResponding);
  EXPECT_EQ(f.io.Verify(), "");
  // Idle at last: status cleared, the channel usable.
  f.io.Reset();
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit())
      .Read(ChannelStatus::Get(x, 0), 0)
      .Read(ChannelStatus::GetReadClear(x, 0), 0);
  EXPECT_EQ(f.engine.Recover(kH2c, 0), kIOReturnSuccess);
  EXPECT_EQ(f.io.Verify(), "");
  EXPECT_FALSE(f.engine.Stranded(kH2c, 0));
}

// After a removal Recover stops at the all-ones status: no clear-on-read access follows.
TEST(XdmaRegisterSequence, RecoverOfARemovedBoardStopsAtAllOnes) {
  Fixture f;
  f.Probe();
  const auto x = xdma::Direction::kC2h;
  f.io.Write(ChannelControl::GetW1C(x, 0), RunBit()).Read(ChannelStatus::Get(x, 0), 0xFFFF'FFFFu);
  EXPECT_EQ(f.engine.Recover(Direction::kCardToHost, 0), kIOReturnNoDevice);
  EXPECT_EQ(f.io.Verify(), "");
}

}  // namespace
}  // namespace fpgadext::engine::test
