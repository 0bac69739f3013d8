#include <fpgadext/emu/iommu.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace fpgadext::emu {
namespace {

TEST(Iommu, MapsWithScatteredBusAddressesAndCopiesThroughThem) {
  Iommu iommu;
  std::vector<uint8_t> a(10000, 0x11), b(5000, 0x22);
  uint64_t ia = 0, ib = 0;
  ASSERT_EQ(iommu.Map(a.data() + 3, 9000, DmaAccess::kDeviceReadWrite, 64, &ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Map(b.data(), 5000, DmaAccess::kDeviceRead, 64, &ib), kIOReturnSuccess);
  EXPECT_NE(ia, reinterpret_cast<uint64_t>(a.data() + 3));
  EXPECT_EQ(ia % iommu.config().pageSize, reinterpret_cast<uintptr_t>(a.data() + 3) % 16384);
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

TEST(Iommu, RefusesAndRecordsAccessOutsideAMappingOrAgainstItsDirection) {
  Iommu iommu;
  std::vector<uint8_t> a(4096, 0x11);
  uint64_t ia = 0;
  ASSERT_EQ(iommu.Map(a.data(), 4096, DmaAccess::kDeviceRead, 64, &ia), kIOReturnSuccess);
  uint8_t buf[8] = {};
  EXPECT_EQ(iommu.DeviceWrite(ia, buf, 8), kIOReturnNotPermitted);  // read-only mapping
  EXPECT_EQ(a[0], 0x11);
  EXPECT_EQ(iommu.DeviceRead(ia + 4090, buf, 8), kIOReturnNotPermitted);  // crosses the end
  EXPECT_EQ(iommu.DeviceRead(ia - 1, buf, 1), kIOReturnNotPermitted);     // before the start
  ASSERT_EQ(iommu.ViolationCount(), 3u);
  EXPECT_EQ(iommu.Violations()[0].reason, "direction");
  EXPECT_EQ(iommu.Violations()[1].reason, "range crosses mapping end");
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

}  // namespace
}  // namespace fpgadext::emu
