// XDMA model: channel and user interrupts through the IRQ block to MSI-X and MSI messages
// (xdma-facts §3.5, §3.8, §3.9, §7).
#include <gtest/gtest.h>
#include <reference_design/user_block_registers.h>

#include <thread>

#include "models/pci/config_space.h"
#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using namespace reference_design;
using emu::DmaAccess;

constexpr Direction kH2c = Direction::kH2c;
constexpr Direction kC2h = Direction::kC2h;
constexpr uint32_t kStopDone = Descriptor::kStop | Descriptor::kCompleted;
constexpr uint32_t kIeStopped = ChannelIntEnable::im_descriptor_stopped_field::kMask |
                                ChannelIntEnable::im_descriptor_completed_field::kMask;

struct IrqBench : Bench {
  using Bench::Bench;
  // Runs one small descriptor on (dir, ch) and waits for the engine to stop.
  void RunOne(Direction dir, unsigned ch) {
    if (!buf) {
      buf = NewBuffer(64, DmaAccess::kDeviceReadWrite);
      ring = NewRing(1);
    }
    Bench::Descs(*ring)[0] = dir == kH2c ? Descriptor::Make(buf->bus(), 0, 64, 0, 0, kStopDone)
                                         : Descriptor::Make(0, buf->bus(), 64, 0, 0, kStopDone);
    Start(dir, ch, ring->bus(), 0);
    ASSERT_TRUE(WaitIdle(dir, ch));
  }
  std::unique_ptr<HostBuffer> buf, ring;
};

TEST(XdmaIrq, ChannelInterruptAsMsixMessageWithProgrammedAddressAndData) {
  IrqBench b;  // 2 H2C + 2 C2H: C2H1 is channel bit 3, vector 3
  b.EnableMsix();
  b.Write32(ChannelBase(kC2h, 1) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kC2h, 1);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  auto m = b.port.Messages();
  EXPECT_EQ(m[0].address, 0xFEE0'0030u);
  EXPECT_EQ(m[0].data, 0x103u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntRequest), 1u << 3);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntPending), 1u << 3);
  // The source stays high until the status is cleared: no second message.
  b.RunOne(kH2c, 0);  // H2C0 has no IE mask: no message either
  EXPECT_EQ(b.port.MessageCount(), 1u);
  // Reading Status RC removes the cause; request and pending drop.
  EXPECT_EQ(ChannelStatus::GetReadClear(kC2h, 1).ReadFrom(b).reg_value(), 0x6u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntRequest), 0u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntPending), 0u);
  b.RunOne(kC2h, 1);
  ASSERT_TRUE(b.port.WaitForMessages(2));
  EXPECT_EQ(b.model.counters().vectorMessages[3], 2u);
  EXPECT_EQ(b.model.counters().interruptsRaised, 2u);
}

TEST(XdmaIrq, EnableMaskGatesAndEnablingAHighSourceInterrupts) {
  IrqBench b;
  b.EnableMsix();
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1C, 0xFFFFFFFF);
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kH2c, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(b.port.MessageCount(), 0u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntRequest), 0u);
  // Setting the enable while the source is high generates the interrupt (§3.8).
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 1u << 1);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].data, 0x101u);
  // The Xilinx shared-ISR ack: W1C the enable, then W1S later; re-enabling a still-high source
  // interrupts again.
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1C, 1u << 1);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntRequest), 0u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntPending), 1u << 1);
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 1u << 1);
  ASSERT_TRUE(b.port.WaitForMessages(2));
  // Channel IE mask W1C also removes the source (Xilinx MSI-X per-engine ack, §7).
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kIntEnableMaskW1C, kIeStopped);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntPending), 0u);
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 1) + channel_reg::kIntEnableMask), 0u);
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kIntEnableMaskW1S, kIeStopped);
  ASSERT_TRUE(b.port.WaitForMessages(3));
}

TEST(XdmaIrq, ChannelBitsPackH2cFirstThenC2h) {
  XdmaModel::Config cfg;
  cfg.h2cChannels = 1;
  cfg.c2hChannels = 2;
  IrqBench b(cfg);
  b.EnableMsix();
  // One H2C: C2H0 is bit 1, its vector field is 0xA0[12:8] (§3.8). Give it vector 9.
  b.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase, 0x00020900);
  b.Write32(ChannelBase(kC2h, 0) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kC2h, 0);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].data, 0x109u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntRequest), 1u << 1);
  // Bits above the channel count do not exist.
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnable, 0xFFFFFFFF);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntEnable), 0x7u);
  // Vector fields are 5 bits.
  b.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase, 0xFFFFFFFF);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelVectorBase), 0x1F1F1F1Fu);
}

TEST(XdmaIrq, MaskedMsixEntryLatchesThePendingBitUntilUnmasked) {
  IrqBench b;
  b.EnableMsix();
  b.Write32(MsixEntryOffset(0) + msix_entry::kVectorControl, 1);
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kH2c, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(b.port.MessageCount(), 0u);
  EXPECT_EQ(b.Read32(kMsixPbaBase), 1u);
  b.Write32(MsixEntryOffset(0) + msix_entry::kVectorControl, 0);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].address, 0xFEE0'0000u);
  EXPECT_EQ(b.Read32(kMsixPbaBase), 0u);
  // Function mask in config space does the same for every vector.
  const uint32_t cap = b.FindCapability(pci::kCapIdMsix);
  b.model.ConfigWrite(cap + 2, 2, (1u << 15) | (1u << 14));
  (void)ChannelStatus::GetReadClear(kH2c, 0).ReadFrom(b);
  b.RunOne(kH2c, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(b.port.MessageCount(), 1u);
  EXPECT_EQ(b.Read32(kMsixPbaBase), 1u);
  b.model.ConfigWrite(cap + 2, 2, 1u << 15);
  ASSERT_TRUE(b.port.WaitForMessages(2));
}

TEST(XdmaIrq, MsiMultiMessagePutsTheVectorInTheDataLowBits) {
  IrqBench b;
  b.EnableMsi(3, 0x1'FEE0'1000ull, 0x4A0);  // 8 vectors: data low 3 bits carry the vector
  b.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase, 0x05040302);
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 0xF);
  b.Write32(ChannelBase(kH2c, 1) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kH2c, 1);  // bit 1 → vector 3
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].address, 0x1'FEE0'1000ull);
  EXPECT_EQ(b.port.Messages()[0].data, 0x4A3u);
  // Single MSI: every vector becomes the programmed data.
  IrqBench s;
  s.EnableMsi(0, 0xFEE0'2000, 0x41);
  s.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase, 0x05040302);
  s.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 0xF);
  s.Write32(ChannelBase(kC2h, 0) + channel_reg::kIntEnableMask, kIeStopped);
  s.RunOne(kC2h, 0);
  ASSERT_TRUE(s.port.WaitForMessages(1));
  EXPECT_EQ(s.port.Messages()[0].data, 0x41u);
}

TEST(XdmaIrq, MsixWinsWhenBothAreEnabledAndNothingWithoutEither) {
  IrqBench b;
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 0xF);
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask, kIeStopped);
  b.RunOne(kH2c, 0);  // neither MSI nor MSI-X: INTx is not modelled
  EXPECT_EQ(b.model.counters().interruptsSuppressed, 1u);
  (void)ChannelStatus::GetReadClear(kH2c, 0).ReadFrom(b);
  b.EnableMsi(0, 0xFEE0'2000, 0x41);
  b.EnableMsix();
  b.RunOne(kH2c, 0);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].data, 0x100u);
}

TEST(XdmaIrq, NoMessageWithoutBusMaster) {
  IrqBench b;
  b.EnableMsix();
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace);
  b.UserWrite(user_reg::kIrqRaise, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(b.port.MessageCount(), 0u);
  EXPECT_EQ(b.model.counters().interruptsSuppressed, 1u);
}

TEST(XdmaIrq, ErrorInterruptNeedsItsImBit) {
  IrqBench b;
  b.EnableMsix();
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask,
            ChannelIntEnable::im_magic_stopped_field::kMask);
  auto ring = b.NewRing(1);
  b.Start(kH2c, 0, ring->bus(), 0);  // all-zero descriptor: bad magic
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.Status(kH2c, 0), ChannelStatus::kMagicStopped);
}

TEST(XdmaIrq, UserInterruptThroughTheUserRegister) {
  IrqBench b;  // 4 channels: user i → vector 4 + i
  b.EnableMsix();
  b.UserWrite(user_reg::kIrqRaise, 1u << 5);
  ASSERT_TRUE(b.port.WaitForMessages(1));
  EXPECT_EQ(b.port.Messages()[0].address, 0xFEE0'0000u + 0x10 * 9);
  EXPECT_EQ(b.port.Messages()[0].data, 0x109u);
  EXPECT_EQ(b.UserRead(user_reg::kIrqStatus), 1u << 5);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntRequest), 1u << 5);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntPending), 1u << 5);
  // Held line: raising again is no new edge.
  b.UserWrite(user_reg::kIrqRaise, 1u << 5);
  // The application-specific ack clears the line; then a new request interrupts again.
  b.UserWrite(user_reg::kIrqClear, 1u << 5);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntPending), 0u);
  EXPECT_EQ(b.port.MessageCount(), 1u);
  b.UserWrite(user_reg::kIrqRaise, 1u << 5);
  ASSERT_TRUE(b.port.WaitForMessages(2));
  // Disabled user line: no message, request 0, pending stays 0.
  b.Write32(kIrqBlockBase + irq_reg::kUserIntEnableW1C, 1u << 2);
  b.UserWrite(user_reg::kIrqRaise, 1u << 2);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntRequest), 1u << 5);
  EXPECT_EQ(b.port.MessageCount(), 2u);
}

// Each of the 16 lines reaches its own MSI-X vector (user i → vector 4 + i), held lines raise
// nothing more, simultaneous lines each send their message, and a design with fewer lines
// ignores the others (PG195 IRQ Block User Vector Number; User Interrupt in MSI-X Mode).
TEST(XdmaIrq, EveryUserLineSendsItsOwnVectorAndHeldLinesSendNothingMore) {
  IrqBench b;
  b.EnableMsix();
  for (unsigned line = 0; line < 16; ++line) {
    b.UserWrite(user_reg::kIrqRaise, 1u << line);
    ASSERT_TRUE(b.port.WaitForMessages(line + 1));
    EXPECT_EQ(b.port.Messages()[line].data, 0x100u + 4 + line) << line;
  }
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntRequest), 0xFFFFu);
  b.UserWrite(user_reg::kIrqRaise, 0xFFFF);  // all held: no new edge
  EXPECT_EQ(b.port.MessageCount(), 16u);
  b.UserWrite(user_reg::kIrqClear, 0xFFFF);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntPending), 0u);
  b.UserWrite(user_reg::kIrqRaise, 0b1001);  // two at once: two messages
  ASSERT_TRUE(b.port.WaitForMessages(18));
  EXPECT_EQ(b.port.Messages()[16].data + b.port.Messages()[17].data, 2 * 0x100u + 4 + 4 + 3);

  XdmaModel::Config cfg;
  cfg.userInterrupts = 2;
  IrqBench few(cfg);
  few.EnableMsix();
  few.UserWrite(user_reg::kIrqRaise, 0b111);
  ASSERT_TRUE(few.port.WaitForMessages(2));
  EXPECT_EQ(few.UserRead(user_reg::kIrqStatus), 0b11u);
  EXPECT_EQ(few.Read32(kIrqBlockBase + irq_reg::kUserIntRequest), 0b11u);
  EXPECT_EQ(UserChannels::Get().FromValue(few.UserRead(user_reg::kChannels)).user_interrupts(), 2u);
}

}  // namespace
}  // namespace fpgadext::models::test
