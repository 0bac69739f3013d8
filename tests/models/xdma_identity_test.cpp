// XDMA model: PCI identity, BAR layout, identifier registers, config and user blocks.
#include <gtest/gtest.h>
#include <reference_design/user_block_registers.h>

#include <thread>

#include "models/pci/config_space.h"
#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using namespace reference_design;

// The Xilinx driver's test for the DMA BAR (xdma-facts §1).
bool LooksLikeDmaBar(emu::MmioRegion* bar) {
  if (bar == nullptr || bar->Size() < 0x8000) return false;
  const uint32_t irq = static_cast<uint32_t>(bar->Read(0x2000, 4));
  const uint32_t cfg = static_cast<uint32_t>(bar->Read(0x3000, 4));
  return (irq & Identifier::kIdMask) == Identifier::kIrqBlockIdMasked &&
         (cfg & Identifier::kIdMask) == Identifier::kConfigBlockIdMasked;
}

TEST(XdmaIdentity, DefaultIdsAndBarLayout) {
  Bench b;
  EXPECT_EQ(b.model.ConfigRead(pci::kVendorId, 2), 0x10EEu);
  EXPECT_EQ(b.model.ConfigRead(pci::kDeviceId, 2), 0x9034u);
  EXPECT_EQ(b.model.userBarIndex(), 0);
  EXPECT_EQ(b.model.dmaBarIndex(), 1);
  EXPECT_EQ(b.model.bypassBarIndex(), -1);
  EXPECT_EQ(b.model.Bar(1)->Size(), 65536u);
  EXPECT_EQ(b.model.Bar(2), nullptr);
  EXPECT_FALSE(LooksLikeDmaBar(b.model.Bar(0)));
  EXPECT_TRUE(LooksLikeDmaBar(b.model.Bar(1)));
  // BAR sizing through config space.
  b.model.ConfigWrite(pci::kBar0 + 4, 4, 0xFFFFFFFF);
  EXPECT_EQ(b.model.ConfigRead(pci::kBar0 + 4, 4), 0xFFFF0000u);
}

TEST(XdmaIdentity, SixtyFourBitBarsWithBypassAndDmaOnly) {
  XdmaModel::Config cfg;
  cfg.bars64Bit = true;
  cfg.bypassBar = true;
  cfg.deviceId = 0x9038;
  cfg.cardMemorySize = 1 << 20;
  Bench b(cfg);
  EXPECT_EQ(b.model.ConfigRead(pci::kDeviceId, 2), 0x9038u);
  EXPECT_EQ(b.model.userBarIndex(), 0);
  EXPECT_EQ(b.model.dmaBarIndex(), 2);
  EXPECT_EQ(b.model.bypassBarIndex(), 4);
  EXPECT_EQ(b.model.Bar(1), nullptr);
  EXPECT_EQ(b.model.Bar(3), nullptr);
  EXPECT_EQ(b.model.ConfigRead(pci::kBar0 + 8, 4) & 0x6, 0x4u);
  EXPECT_TRUE(LooksLikeDmaBar(b.model.Bar(2)));
  // The bypass BAR is a window on card memory.
  emu::MmioRegion* bypass = b.model.Bar(4);
  bypass->Write(0x40, 4, 0x11223344);
  EXPECT_EQ(b.model.cardMemory().data()[0x40], 0x44);
  EXPECT_EQ(bypass->DirectMemory(), b.model.cardMemory().data());

  XdmaModel::Config only;
  only.userBar = false;
  Bench d(only);
  EXPECT_EQ(d.model.dmaBarIndex(), 0);
  EXPECT_TRUE(LooksLikeDmaBar(d.model.Bar(0)));
  EXPECT_EQ(d.model.Bar(1), nullptr);
}

TEST(XdmaIdentity, BlockIdentifiersAndMissingChannels) {
  XdmaModel::Config cfg;
  cfg.h2cChannels = 1;
  cfg.c2hChannels = 3;
  Bench b(cfg);
  EXPECT_EQ(b.Read32(0x0000), 0x1FC00006u);
  EXPECT_EQ(b.Read32(0x0100), 0u);  // no H2C 1: the probe stops here
  EXPECT_EQ(b.Read32(0x1000), 0x1FC10006u);
  EXPECT_EQ(b.Read32(0x1200), 0x1FC10206u);
  EXPECT_EQ(b.Read32(0x1300), 0u);
  EXPECT_EQ(b.Read32(0x2000), 0x1FC20006u);
  EXPECT_EQ(b.Read32(0x3000), 0x1FC30006u);
  EXPECT_EQ(b.Read32(0x4000), 0x1FC40006u);
  EXPECT_EQ(b.Read32(0x5100), 0x1FC50106u);
  EXPECT_EQ(b.Read32(0x6000), 0x1FC60006u);
  auto id = Identifier::Get(Target::kC2hChannel, 2).ReadFrom(b);
  EXPECT_EQ(id.subsystem_id(), kSubsystemId);
  EXPECT_EQ(id.channel_id(), 2u);
  EXPECT_EQ(id.stream(), 0u);
  EXPECT_EQ(ChannelAlignments::Get(Direction::kH2c, 0).ReadFrom(b).reg_value(), 0x00010140u);
  auto align = ChannelAlignments::Get(Direction::kC2h, 1).ReadFrom(b);
  EXPECT_EQ(align.addr_alignment(), 1u);
  EXPECT_EQ(align.len_granularity(), 1u);
  EXPECT_EQ(align.address_bits(), 64u);
  EXPECT_EQ(b.Read32(0x7000), 0u);  // unmapped target
  EXPECT_EQ(b.Read32(0x2100), 0u);  // channel field must be 0 for the IRQ block
  // 8-byte reads are two 32-bit reads; narrower reads return the bytes.
  EXPECT_EQ(b.model.Bar(1)->Read(0x2000, 8), 0x1FC20006ull);
  EXPECT_EQ(b.model.Bar(1)->Read(0x2002, 2), 0x1FC2u);
}

TEST(XdmaIdentity, ConfigBlockMirrorsConfigSpace) {
  Bench b;
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kSystemId), 0xFF01u);
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kMsiEnable), 0u);
  b.EnableMsi(0, 0xFEE00000, 0x40);
  EXPECT_EQ(ConfigMsiEnable::Get().ReadFrom(b).msi_enable(), 1u);
  b.EnableMsix();
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kMsiEnable), 3u);
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kPcieMaxReadRequest), 2u);  // 512 B
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kPcieMaxPayload), 0u);      // 128 B
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kPcieDataWidth), 1u);       // 128 bit
  EXPECT_EQ(b.Read32(kConfigBlockBase + config_reg::kPcieControl), 1u);
}

TEST(XdmaIdentity, UserBlockRegisters) {
  XdmaModel::Config cfg;
  cfg.cardMemorySize = 3ull << 30;
  Bench b(cfg);
  EXPECT_EQ(b.UserRead(user_reg::kId), kUserBlockId);
  EXPECT_EQ(b.UserRead(user_reg::kVersion), kUserBlockVersion);
  for (unsigned i = 0; i < user_reg::kScratchCount; ++i) {
    b.UserWrite(user_reg::Scratch(i), 0xA5A50000u + i);
  }
  for (unsigned i = 0; i < user_reg::kScratchCount; ++i) {
    EXPECT_EQ(b.UserRead(user_reg::Scratch(i)), 0xA5A50000u + i);
  }
  EXPECT_EQ(b.UserRead(user_reg::kCardMemSizeLo), 0xC0000000u);
  EXPECT_EQ(b.UserRead(user_reg::kCardMemSizeHi), 0u);
  EXPECT_EQ(b.UserRead(user_reg::kChannels), 0x1022u);
  const UserChannels channels = UserChannels::Get().FromValue(b.UserRead(user_reg::kChannels));
  EXPECT_EQ(channels.h2c_count(), 2u);
  EXPECT_EQ(channels.c2h_count(), 2u);
  EXPECT_EQ(channels.user_interrupts(), 16u);
  const uint32_t t0 = b.UserRead(user_reg::kCounterLo);
  EXPECT_TRUE(WaitUntil([&] { return b.UserRead(user_reg::kCounterLo) != t0; }));
  // AXI4-Lite is 32-bit: a 16-bit write is dropped and counted.
  b.model.Bar(0)->Write(user_reg::kScratch0, 2, 0x1234);
  EXPECT_EQ(b.UserRead(user_reg::kScratch0), 0xA5A50000u);
  EXPECT_EQ(b.model.counters().droppedMmioWrites, 1u);
  EXPECT_EQ(b.model.Bar(0)->Read(0x10000, 4), 0xFFFFFFFFu);  // past the BAR
}

TEST(XdmaIdentity, MemorySpaceDisabledMeansNoDecode) {
  Bench b;
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandBusMaster);
  EXPECT_EQ(b.Read32(0x2000), 0xFFFFFFFFu);
  b.Write32(kIrqBlockBase + irq_reg::kChannelIntEnable, 1);
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntEnable), 0u);
}

TEST(XdmaIdentity, ConfigSpaceHasMsiMsixAndPcieCapabilities) {
  Bench b;
  const uint32_t msix = b.FindCapability(pci::kCapIdMsix);
  ASSERT_NE(msix, 0u);
  EXPECT_EQ(b.model.ConfigRead(msix + 2, 2) & 0x7FF, 31u);   // 32 entries
  EXPECT_EQ(b.model.ConfigRead(msix + 4, 4), 0x8000u | 1u);  // DMA BAR (1), 0x8000
  EXPECT_EQ(b.model.ConfigRead(msix + 8, 4), 0x8FE0u | 1u);
  EXPECT_NE(b.FindCapability(pci::kCapIdMsi), 0u);
  EXPECT_NE(b.FindCapability(pci::kCapIdPcie), 0u);
  // MSI-X table entries reset masked.
  EXPECT_EQ(b.Read32(MsixEntryOffset(5) + msix_entry::kVectorControl), 0xFFFFFFFFu);
}

}  // namespace
}  // namespace fpgadext::models::test
