#include <fpgadext/emu/iommu.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace fpgadext::emu {
namespace {

Iommu::Config Dart() {
  Iommu::Config config;
  config.kind = Iommu::Kind::kDart;
  return config;
}

TEST(Iommu, MapsWithScatteredBusAddressesAndCopiesThroughThem) {
  Iommu iommu(Dart());
  std::vector<uint8_t> a(10000, 0x11), b(5000, 0x22);
  uint64_t ia = 0, ib = 0;
  ASSERT_EQ(iommu.Map(a.data() + 3, 9000, DmaAccess::kDeviceReadWrite, 64, &ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Map(b.data(), 5000, DmaAccess::kDeviceRead, 64, &ib), kIOReturnSuccess);
  EXPECT_NE(ia, reinterpret_cast<uint64_t>(a.data() + 3));
  EXPECT_EQ(iommu.config().pageSize, 16384u);
  EXPECT_EQ(ia % 16384, reinterpret_cast<uintptr_t>(a.data() + 3) % 16384);
  EXPECT_NE(ia, ib);
  uint8_t buf[16];
  ASSERT_EQ(iommu.DeviceRead(ib + 100, buf, sizeof buf), kIOReturnSuccess);
  EXPECT_EQ(buf[0], 0x22);
  std::memset(buf, 0x5a, sizeof buf);
  ASSERT_EQ(iommu.DeviceWrite(ia + 8990, buf, 10), kIOReturnSuccess);
  EXPECT_EQ(a[3 + 8990], 0x5a);
  EXPECT_EQ(a[3 + 8999], 0x5a);
  EXPECT_EQ(iommu.ViolationCount(), 0u);
}

// VT-d (an Iommu made alone, and the intel profile's) refuses and records every stray access.
TEST(Iommu, RefusesAndRecordsAccessOutsideAMappingOrAgainstItsDirection) {
  Iommu iommu;
  ASSERT_EQ(iommu.config().kind, Iommu::Kind::kVtd);
  std::vector<uint8_t> a(4096, 0x11);
  uint64_t ia = 0;
  ASSERT_EQ(iommu.Map(a.data(), 4096, DmaAccess::kDeviceRead, 64, &ia), kIOReturnSuccess);
  uint8_t buf[8] = {};
  EXPECT_EQ(iommu.DeviceWrite(ia, buf, 8), kIOReturnNotPermitted);  // read-only mapping
  EXPECT_EQ(a[0], 0x11);
  EXPECT_EQ(iommu.DeviceRead(ia + 4090, buf, 8), kIOReturnNotPermitted);       // crosses the end
  EXPECT_EQ(iommu.DeviceRead(ia - 1, buf, 1), kIOReturnNotPermitted);          // before the start
  EXPECT_EQ(iommu.DeviceRead(ia + (1 << 20), buf, 1), kIOReturnNotPermitted);  // in no page
  ASSERT_EQ(iommu.ViolationCount(), 4u);
  EXPECT_EQ(iommu.Violations()[0].reason, "direction");
  EXPECT_EQ(iommu.Violations()[1].reason, "range crosses mapping end");
  EXPECT_EQ(iommu.Violations()[3].reason, "unmapped");
  ASSERT_EQ(iommu.Unmap(ia), kIOReturnSuccess);
  EXPECT_EQ(iommu.DeviceRead(ia, buf, 1), kIOReturnNotPermitted);  // gone after unmap
  EXPECT_EQ(iommu.LiveMappings(), 0u);
}

TEST(Iommu, HonoursTheDeviceAddressLimit) {
  Iommu iommu;
  std::vector<uint8_t> a(1 << 20);
  uint64_t iova = 0;
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceRead, 32, &iova), kIOReturnSuccess);
    EXPECT_LT(iova + a.size(), 1ull << 32);
  }
  // A 31-bit device has no room above the IOVA base for 2 GiB.
  EXPECT_EQ(iommu.Map(a.data(), 1ull << 31, DmaAccess::kDeviceRead, 31, &iova),
            kIOReturnNoResources);
}

// xnu IOGeneralMemoryDescriptor::dmaMap asks the mapper for read access only when the memory was
// prepared read-only (kIOMemoryPreparedReadOnly); VT-d's page entries carry that access and the
// unit refuses a write (IOPCIFamily AppleVTD.cpp, vtd_space_set, unit_faults).
TEST(VtD, ReadOnlyPreparationIsEnforced) {
  Iommu iommu;  // VT-d
  EXPECT_EQ(iommu.config().pageSize, 4096u);
  std::vector<uint8_t> a(8192, 0x11);
  uint64_t ia = 0;
  ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceRead, 64, &ia), kIOReturnSuccess);
  const uint8_t buf[4] = {1, 2, 3, 4};
  EXPECT_EQ(iommu.DeviceWrite(ia + 100, buf, sizeof buf), kIOReturnNotPermitted);
  EXPECT_EQ(a[100], 0x11);
  ASSERT_EQ(iommu.ViolationCount(), 1u);
  EXPECT_EQ(iommu.Violations()[0].reason, "direction");
}

// DART does not enforce read-only for the device: a device write into memory prepared for device
// reads lands, and nothing is reported (Apple's source is silent; docs/emulation-memory-pci.md).
TEST(Dart, ReadOnlyPreparationIsNotEnforcedForTheDevice) {
  Iommu iommu(Dart());
  std::vector<uint8_t> a(8192, 0x11);
  uint64_t ia = 0;
  ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceRead, 64, &ia), kIOReturnSuccess);
  const uint8_t buf[4] = {1, 2, 3, 4};
  EXPECT_EQ(iommu.DeviceWrite(ia + 100, buf, sizeof buf), kIOReturnSuccess);
  EXPECT_EQ(a[100], 1);
  EXPECT_EQ(a[103], 4);
  EXPECT_EQ(iommu.ViolationCount(), 0u);
}

// DART maps and faults in 16 KiB pages.
TEST(Dart, IovaPagesAre16KiB) {
  Iommu iommu(Dart());
  EXPECT_EQ(iommu.config().pageSize, 16384u);
  std::vector<uint8_t> a(100), b(100);
  uint64_t ia = 0, ib = 0;
  ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceRead, 64, &ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Map(b.data(), b.size(), DmaAccess::kDeviceRead, 64, &ib), kIOReturnSuccess);
  // Two mappings never share a 16 KiB IOVA page.
  EXPECT_NE(ia / 16384, ib / 16384);
}

// On an Apple-silicon Mac a device access to an IOVA no mapping covers is fatal to the machine:
// the emulation stops at that access and names the device, the IOVA and the access.
TEST(Dart, DeviceAccessToUnmappedIovaStopsTheMachine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Iommu iommu(Dart());
  std::vector<uint8_t> a(4096);
  uint64_t ia = 0;
  ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceReadWrite, 64, &ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Unmap(ia), kIOReturnSuccess);
  uint8_t buf[8];
  EXPECT_DEATH(iommu.DeviceRead(ia, buf, sizeof buf, "fpga0"),
               "DART fault: fpga0: device read of 8 bytes at IOVA 0x[0-9a-f]+");
  EXPECT_DEATH(iommu.DeviceWrite(ia + (1 << 20), buf, 4, "fpga0"),
               "DART fault: fpga0: device write of 4 bytes");
}

}  // namespace
}  // namespace fpgadext::emu
