// PCI configuration space helper and the BRAM board.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstring>

#include <filesystem>
#include <string>

#include "models/bram/bram_model.h"
#include "models/pci/config_space.h"

namespace fpgadext::models {
namespace {

using namespace pci;

TEST(ConfigSpace, HeaderFieldsAreReadOnlyAndCommandIsWritable) {
  ConfigSpace cs(Identity{0x10EE, 0x9034, 0x10EE, 0x0007, 3, 0x058000});
  EXPECT_EQ(cs.Read(kVendorId, 4), 0x903410EEu);
  cs.Write(kVendorId, 4, 0x12345678);
  EXPECT_EQ(cs.Read(kVendorId, 4), 0x903410EEu);
  EXPECT_EQ(cs.Read(kRevisionId, 4), 0x05800003u);
  EXPECT_EQ(cs.Read(kSubsystemVendorId, 4), 0x000710EEu);
  EXPECT_FALSE(cs.BusMasterEnabled());
  cs.Write(kCommand, 2, 0xFFFF);
  EXPECT_EQ(cs.Read(kCommand, 2), 0x0547u);
  EXPECT_TRUE(cs.BusMasterEnabled());
  EXPECT_TRUE(cs.MemorySpaceEnabled());
  cs.Write(kCommand, 2, kCommandMemorySpace);
  EXPECT_FALSE(cs.BusMasterEnabled());
  EXPECT_EQ(cs.Read(4096, 4), 0xFFFFFFFFu);  // past 4 KiB
  EXPECT_EQ(cs.Read(4096 - 2, 2), 0u);       // extended space exists, empty
}

TEST(ConfigSpace, BarSizingReadsBackTheSizeMask) {
  ConfigSpace cs(Identity{});
  cs.SetBar(0, BarSpec{64 * 1024, false, false});
  cs.SetBar(2, BarSpec{1ull << 33, true, true});  // 8 GiB, 64-bit prefetchable
  cs.Write(kBar0, 4, 0xFFFFFFFF);
  EXPECT_EQ(cs.Read(kBar0, 4), 0xFFFF0000u);
  cs.Write(kBar0 + 8, 4, 0xFFFFFFFF);
  cs.Write(kBar0 + 12, 4, 0xFFFFFFFF);
  EXPECT_EQ(cs.Read(kBar0 + 8, 4), 0x0000000Cu);  // type 64-bit, prefetchable; size ≥ 4 GiB
  EXPECT_EQ(cs.Read(kBar0 + 12, 4), 0xFFFFFFFEu);
  EXPECT_EQ(cs.Read(kBar0 + 4, 4), 0u);  // unused BAR
  cs.Write(kBar0 + 4, 4, 0xFFFFFFFF);
  EXPECT_EQ(cs.Read(kBar0 + 4, 4), 0u);
  cs.Write(kBar0, 4, 0xA0010000);
  cs.Write(kBar0 + 8, 4, 0);
  cs.Write(kBar0 + 12, 4, 0x4);
  EXPECT_EQ(cs.BarAddress(0), 0xA0010000u);
  EXPECT_EQ(cs.BarAddress(2), 0x4'0000'0000ull);
}

TEST(ConfigSpace, CapabilityListAndMsiState) {
  ConfigSpace cs(Identity{});
  cs.SetBar(1, BarSpec{65536, false, false});
  const uint32_t msi = cs.AddMsiCapability(5);
  const uint32_t msix = cs.AddMsixCapability(32, 1, 0x8000, 0x8FE0);
  const uint32_t pcie = cs.AddPcieCapability(PcieLink{3, 4, 2});
  EXPECT_TRUE(cs.Read(kStatus, 2) & kStatusCapabilitiesList);
  EXPECT_EQ(cs.Read(kCapabilitiesPointer, 1), msi);
  EXPECT_EQ(cs.Read(msi, 1), kCapIdMsi);
  EXPECT_EQ(cs.Read(msi + 1, 1), msix);
  EXPECT_EQ(cs.Read(msix, 1), kCapIdMsix);
  EXPECT_EQ(cs.Read(msix + 1, 1), pcie);
  EXPECT_EQ(cs.Read(pcie, 1), kCapIdPcie);
  EXPECT_EQ(cs.Read(pcie + 1, 1), 0u);
  // MSI: 64-bit, 32 vectors capable.
  EXPECT_EQ(cs.Read(msi + 2, 2), (1u << 7) | (5u << 1));
  cs.Write(msi + 4, 4, 0xFEE00003);
  cs.Write(msi + 8, 4, 0x1);
  cs.Write(msi + 0xC, 2, 0x4020);
  cs.Write(msi + 2, 2, 1 | (3 << 4));  // enable, 8 vectors
  MsiState s = cs.Msi();
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.address, 0x1'FEE00000ull);
  EXPECT_EQ(s.data, 0x4020);
  EXPECT_EQ(s.vectorsAllocated, 8u);
  // MSI-X: table size 32, BIR 1, table 0x8000, PBA 0x8FE0.
  EXPECT_EQ(cs.Read(msix + 2, 2), 31u);
  EXPECT_EQ(cs.Read(msix + 4, 4), 0x8001u);
  EXPECT_EQ(cs.Read(msix + 8, 4), 0x8FE1u);
  EXPECT_FALSE(cs.Msix().enabled);
  cs.Write(msix + 2, 2, 0xC000);
  EXPECT_TRUE(cs.Msix().enabled);
  EXPECT_TRUE(cs.Msix().functionMask);
  // PCIe: endpoint, v2, Gen3 x4 link.
  EXPECT_EQ(cs.Read(pcie + 2, 2), 0x0002u);
  EXPECT_EQ(cs.Read(pcie + 0xC, 4) & 0x3FF, 3u | (4u << 4));
  EXPECT_EQ(cs.MaxReadRequestCode(), 2u);  // 512 B
  cs.Write(pcie + 8, 2, (cs.Read(pcie + 8, 2) & ~0x00E0u) | (1u << 5));
  EXPECT_EQ(cs.MaxPayloadCode(), 1u);
}

TEST(ConfigSpace, StatusErrorBitsAreWriteOneToClear) {
  ConfigSpace cs(Identity{});
  cs.AddMsiCapability(0);
  // Nothing sets error bits in a model, but writing ones must not set them either.
  cs.Write(kStatus, 2, 0xFFFF);
  EXPECT_EQ(cs.Read(kStatus, 2), kStatusCapabilitiesList);
}

TEST(BramModel, BarIsAMemoryWindowCoherentWithDirectMemory) {
  BramModel::Config cfg;
  cfg.memorySize = 10000;  // rounded up to 16 KiB
  cfg.deviceId = 0x7024;
  BramModel bram(cfg);
  EXPECT_EQ(bram.ConfigRead(kVendorId, 4), 0x702410EEu);
  bram.ConfigWrite(kBar0, 4, 0xFFFFFFFF);
  EXPECT_EQ(bram.ConfigRead(kBar0, 4), 0xFFFFC000u);
  EXPECT_EQ(bram.Bar(1), nullptr);
  emu::MmioRegion* bar = bram.Bar(0);
  ASSERT_NE(bar, nullptr);
  EXPECT_EQ(bar->Size(), 16384u);
  // Memory space off: the BAR does not decode.
  EXPECT_EQ(bar->Read(0, 4), 0xFFFFFFFFu);
  bram.ConfigWrite(kCommand, 2, kCommandMemorySpace);
  bar->Write(0, 8, 0x0102030405060708ull);
  bar->Write(9, 2, 0xBEEF);  // unaligned
  bar->Write(16383, 1, 0x5A);
  uint8_t* mem = bar->DirectMemory();
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem[0], 0x08);
  EXPECT_EQ(mem[7], 0x01);
  EXPECT_EQ(mem[9], 0xEF);
  EXPECT_EQ(mem[10], 0xBE);
  EXPECT_EQ(mem[16383], 0x5A);
  mem[100] = 0x77;
  EXPECT_EQ(bar->Read(100, 1), 0x77u);
  EXPECT_EQ(bar->Read(4, 4), 0x01020304u);
  EXPECT_EQ(bar->Read(16383, 2), 0xFFFFu);  // crosses the end: not decoded
  bram.SurpriseRemove();
  EXPECT_EQ(bar->Read(0, 8), ~0ull);
  EXPECT_EQ(bram.ConfigRead(kVendorId, 4), 0xFFFFFFFFu);
  bar->Write(0, 1, 0);
  EXPECT_EQ(mem[0], 0x08);
}

TEST(BramModel, BackingFileKeepsContentsAcrossInstances) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("fpgadext-bram-" + std::to_string(::getpid()) + ".bin");
  std::filesystem::remove(path);
  BramModel::Config cfg;
  cfg.backingFile = path.string();
  cfg.bar64Bit = true;
  {
    BramModel bram(cfg);
    bram.ConfigWrite(kCommand, 2, kCommandMemorySpace);
    bram.Bar(0)->Write(0x100, 4, 0xCAFEF00D);
    EXPECT_EQ(bram.ConfigRead(kBar0, 4) & 0x6, 0x4u);  // 64-bit BAR
  }
  {
    BramModel bram(cfg);
    bram.ConfigWrite(kCommand, 2, kCommandMemorySpace);
    EXPECT_EQ(bram.Bar(0)->Read(0x100, 4), 0xCAFEF00Du);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace fpgadext::models
