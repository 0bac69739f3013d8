// Function level reset of the board models: Initiate FLR in the PCI Express Device Control
// register (PCIe base spec §6.6.2, §7.8.4) resets the function's configuration space and, for the
// XDMA board, its engines and registers; DMA in progress stops.
#include <gtest/gtest.h>

#include "models/bram/bram_model.h"
#include "models/pci/config_space.h"
#include "xdma_test_harness.h"

namespace fpgadext::models::test {
namespace {

using namespace xdma;
using emu::DmaAccess;

constexpr Direction kH2c = Direction::kH2c;
constexpr uint32_t kStopDone = Descriptor::kStop | Descriptor::kCompleted;

uint32_t PcieCapability(emu::PciFunction& f) {
  for (uint32_t at = f.ConfigRead(pci::kCapabilitiesPointer, 1); at != 0;
       at = f.ConfigRead(at + 1, 1)) {
    if (f.ConfigRead(at, 1) == pci::kCapIdPcie) return at;
  }
  return 0;
}

void InitiateFlr(emu::PciFunction& f) {
  const uint32_t pcie = PcieCapability(f);
  ASSERT_NE(pcie, 0u);
  const uint32_t control = f.ConfigRead(pcie + pci::kPcieDeviceControl, 2);
  f.ConfigWrite(pcie + pci::kPcieDeviceControl, 2, control | pci::kPcieDeviceControlInitiateFlr);
}

XdmaModel::Config WithFlr() {
  XdmaModel::Config c;
  c.functionLevelReset = true;
  return c;
}

TEST(XdmaReset, FlrIsAdvertisedOnlyWhenConfigured) {
  Bench plain;
  const uint32_t pcie = PcieCapability(plain.model);
  EXPECT_EQ(plain.model.ConfigRead(pcie + pci::kPcieDeviceCapabilities, 4) &
                pci::kPcieDeviceCapabilitiesFlr,
            0u);
  plain.Write32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask, 0x6);
  InitiateFlr(plain.model);  // not offered: the write resets nothing
  EXPECT_EQ(plain.model.configSpace().FunctionLevelResets(), 0u);
  EXPECT_EQ(plain.Read32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask), 0x6u);

  Bench flr(WithFlr());
  EXPECT_NE(flr.model.ConfigRead(pcie + pci::kPcieDeviceCapabilities, 4) &
                pci::kPcieDeviceCapabilitiesFlr,
            0u);
}

TEST(XdmaReset, FlrStopsTheEngineAndNoDataMovesAfterIt) {
  Bench b(WithFlr());
  auto src = b.NewBuffer(4096, DmaAccess::kDeviceRead);
  FillPattern(src->data(), 4096, 3);
  auto ring = b.NewRing(1);
  Bench::Descs(*ring)[0] = Descriptor::Make(src->bus(), 0, 4096, 0, 0, kStopDone);
  b.model.InjectHang(kH2c, 0);  // the transfer is in progress and does not finish by itself
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(WaitUntil([&] { return b.Status(kH2c, 0) == ChannelStatus::kBusy; }));

  InitiateFlr(b.model);
  EXPECT_EQ(b.model.configSpace().FunctionLevelResets(), 1u);
  // Configuration space is back at its reset values: no memory decoding, no bus mastering.
  EXPECT_EQ(b.model.configSpace().Command(), 0u);
  EXPECT_EQ(b.model.configSpace().BarAddress(static_cast<unsigned>(b.model.dmaBarIndex())), 0u);
  EXPECT_FALSE(b.model.configSpace().Msix().enabled);
  // The host turns decoding and mastering back on, as IOPCIFamily's restore does.
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  EXPECT_EQ(b.Status(kH2c, 0), 0u) << "the engine is still busy after the reset";
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 0) + channel_reg::kControl), 0u);
  EXPECT_EQ(b.Completed(kH2c, 0), 0u);
  // The old job does not come back when the fault goes away.
  b.model.ClearFaults();
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  EXPECT_EQ(b.model.counters().h2cBytes[0], 0u);
  EXPECT_EQ(b.Status(kH2c, 0), 0u);

  // The engine works again once the driver programs it anew.
  b.Start(kH2c, 0, ring->bus(), 0);
  ASSERT_TRUE(b.WaitIdle(kH2c, 0));
  EXPECT_EQ(b.Completed(kH2c, 0), 1u);
  EXPECT_EQ(FirstMismatch(b.model.cardMemory().data(), src->data(), 4096), -1);
}

TEST(XdmaReset, FlrReturnsInterruptRegistersAndMsixTableToPowerOnValues) {
  Bench b(WithFlr());
  b.EnableMsix();
  b.Write32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask, 0x6);
  ASSERT_NE(b.Read32(kIrqBlockBase + irq_reg::kUserIntEnable), 0u);
  InitiateFlr(b.model);
  b.model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  EXPECT_EQ(b.Read32(ChannelBase(kH2c, 0) + channel_reg::kIntEnableMask), 0u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kUserIntEnable), 0u);
  EXPECT_EQ(b.Read32(kIrqBlockBase + irq_reg::kChannelIntEnable), 0u);
  // Every MSI-X vector is masked again, its message gone.
  EXPECT_EQ(b.Read32(kMsixTableBase + 12) & 1u, 1u);
  EXPECT_EQ(b.Read32(kMsixTableBase + 0), 0u);
}

TEST(BramReset, FlrResetsConfigurationAndKeepsTheMemory) {
  BramModel::Config c;
  c.functionLevelReset = true;
  BramModel bram(c);
  bram.ConfigWrite(pci::kBar0, 4, 0xA000'0000u);
  bram.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace);
  bram.Bar(0)->Write(0x40, 4, 0x12345678);
  InitiateFlr(bram);
  EXPECT_EQ(bram.configSpace().FunctionLevelResets(), 1u);
  EXPECT_EQ(bram.configSpace().Command(), 0u);
  EXPECT_EQ(bram.configSpace().BarAddress(0), 0u);
  bram.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace);
  EXPECT_EQ(bram.Bar(0)->Read(0x40, 4), 0x12345678u);
}

// A memory larger than the largest BAR (2^63 bytes) is refused with a message instead of
// rounding forever (the size doubled past 2^63 wrapped to 0).
TEST(BramConfigDeathTest, MemorySizeAboveTheLargestBarStopsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BramModel::Config c;
  c.memorySize = (uint64_t{1} << 63) + 1;
  EXPECT_DEATH(BramModel{c}, "larger than any BAR");
}

}  // namespace
}  // namespace fpgadext::models::test
