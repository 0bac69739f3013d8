#include <fpgadext/emu/hardware_profile.h>
#include <fpgadext/emu/iommu.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

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

// ---- The aperture (issue 12 item 2) ----------------------------------------------------------

Iommu::Config SmallAperture(uint64_t size) {
  Iommu::Config config;  // VT-d, 4 KiB pages
  config.apertureSize = size;
  return config;
}

// Each mapper has a finite IOVA space: VT-d gives a device 2^21 pages of 4 KiB (IOPCIFamily
// AppleVTD.cpp, AppleVTDDeviceMapper::forDevice); DART a 32-bit space (4 GiB, an assumption
// from public DART drivers: Apple's is not open source).
TEST(IommuAperture, EachProfileHasItsMappersAperture) {
  Iommu vtd(HardwareProfileIommu(HardwareProfile::kIntel));
  Iommu dart(HardwareProfileIommu(HardwareProfile::kAppleSilicon));
  EXPECT_EQ(vtd.config().apertureSize, 8ull << 30);
  EXPECT_EQ(dart.config().apertureSize, 4ull << 30);
  Iommu::Config knob;
  knob.apertureSize = 1 << 20;
  EXPECT_EQ(Iommu(HardwareProfileIommu(HardwareProfile::kAppleSilicon, knob)).config().apertureSize,
            1u << 20);
}

TEST(IommuAperture, IovasStayInsideTheAperture) {
  const Iommu::Config config = SmallAperture(1 << 20);
  Iommu iommu(config);
  std::vector<uint8_t> a(10000);
  uint64_t iova = 0;
  int mapped = 0;
  while (iommu.Map(a.data(), a.size(), DmaAccess::kDeviceRead, 64, &iova) == kIOReturnSuccess) {
    EXPECT_GE(iova, config.iovaBase);
    EXPECT_LE(iova + a.size(), config.iovaBase + config.apertureSize);
    ASSERT_LT(++mapped, 1000) << "the aperture never fills";
  }
  EXPECT_GT(mapped, 10);
}

// AppleVTD::iovmMapMemory returns kIOReturnNoResources when its space has no room; xnu passes it
// on (IOMemoryDescriptor.cpp dmaMap, IODMACommand.cpp prepare, IOUserServer.cpp
// PrepareForDMA_Impl).
TEST(IommuAperture, AFullApertureIsNoResources) {
  Iommu iommu(SmallAperture(64 << 10));
  std::vector<uint8_t> a(4096 * 4);
  std::vector<uint64_t> iovas;
  uint64_t iova = 0;
  IOReturn ret;
  while ((ret = iommu.Map(a.data(), 4096, DmaAccess::kDeviceRead, 64, &iova)) == kIOReturnSuccess) {
    iovas.push_back(iova);
    ASSERT_LT(iovas.size(), 100u);
  }
  EXPECT_EQ(ret, kIOReturnNoResources);
  EXPECT_EQ(iommu.LiveMappings(), iovas.size());
  // Room comes back with an unmapping.
  ASSERT_EQ(iommu.Unmap(iovas[2]), kIOReturnSuccess);
  EXPECT_EQ(iommu.Map(a.data(), 4096, DmaAccess::kDeviceRead, 64, &iova), kIOReturnSuccess);
  EXPECT_EQ(iommu.Map(a.data(), 1 << 20, DmaAccess::kDeviceRead, 64, &iova), kIOReturnNoResources);
}

// A mapper's allocator hands a freed range out again (AppleVTD space_free returns it to the
// space), so a device access through a stale IOVA reaches the memory of whoever holds the range
// now. The emulation takes the lowest free range, which makes the reuse immediate.
TEST(IommuAperture, AFreedRangeIsHandedOutAgain) {
  Iommu iommu;
  std::vector<uint8_t> a(3 * 4096, 0xaa), b(3 * 4096, 0xbb), c(3 * 4096, 0xcc);
  uint64_t ia = 0, ib = 0, ic = 0;
  ASSERT_EQ(iommu.Map(a.data(), a.size(), DmaAccess::kDeviceReadWrite, 64, &ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Map(b.data(), b.size(), DmaAccess::kDeviceReadWrite, 64, &ib), kIOReturnSuccess);
  ASSERT_EQ(iommu.Unmap(ia), kIOReturnSuccess);
  ASSERT_EQ(iommu.Map(c.data(), c.size(), DmaAccess::kDeviceReadWrite, 64, &ic), kIOReturnSuccess);
  EXPECT_EQ(ic & ~4095ull, ia & ~4095ull);
  // The stale IOVA now writes into c, and nothing records it.
  const uint8_t late[4] = {1, 2, 3, 4};
  ASSERT_EQ(iommu.DeviceWrite(ia + 4096, late, sizeof late), kIOReturnSuccess);
  EXPECT_EQ(c[ia + 4096 - ic], 1);
  EXPECT_EQ(c[ia + 4096 - ic + 3], 4);
  EXPECT_EQ(iommu.ViolationCount(), 0u);
  EXPECT_EQ(iommu.LiveMappings(), 2u);
}

// ---- Wiring of app pages (issue 12 item 9) ---------------------------------------------------

class AppPages : public ::testing::Test {
 protected:
  void SetUp() override {
    pages_ = static_cast<uint8_t*>(
        mmap(nullptr, kLength, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(pages_, MAP_FAILED);
    std::memset(pages_, 0x5a, kLength);
    ASSERT_EQ(iommu_.Map(pages_, kLength, DmaAccess::kDeviceReadWrite, 64, &iova_, HostPages::kApp),
              kIOReturnSuccess);
  }
  void TearDown() override {
    if (pages_ != nullptr) munmap(pages_, kLength);
  }
  static constexpr size_t kLength = 4 * 16384;
  Iommu iommu_;
  uint8_t* pages_ = nullptr;
  uint64_t iova_ = 0;
};

// A wired page stays the device's whatever the app's protection: reads and writes go on.
TEST_F(AppPages, DeviceReachesPagesTheAppMadeInaccessible) {
  ASSERT_EQ(mprotect(pages_, kLength, PROT_NONE), 0);
  std::vector<uint8_t> in(kLength), out(kLength, 0x33);
  ASSERT_EQ(iommu_.DeviceRead(iova_, in.data(), in.size()), kIOReturnSuccess);
  EXPECT_EQ(in[0], 0x5a);
  EXPECT_EQ(in[kLength - 1], 0x5a);
  ASSERT_EQ(iommu_.DeviceWrite(iova_, out.data(), out.size()), kIOReturnSuccess);
  ASSERT_EQ(mprotect(pages_, kLength, PROT_READ), 0);
  EXPECT_EQ(pages_[0], 0x33);
  EXPECT_EQ(pages_[kLength - 1], 0x33);
  EXPECT_EQ(iommu_.ViolationCount(), 0u);
  EXPECT_EQ(iommu_.BytesOfUnmappedAppPages(), 0u);
}

TEST_F(AppPages, DeviceWritesIntoReadOnlyPagesLand) {
  ASSERT_EQ(mprotect(pages_, kLength, PROT_READ), 0);
  const uint32_t word = 0x12345678;
  ASSERT_EQ(iommu_.DeviceWrite(iova_ + 64, &word, 4), kIOReturnSuccess);
  uint32_t seen = 0;
  std::memcpy(&seen, pages_ + 64, 4);
  EXPECT_EQ(seen, word);
}

// Pages the app unmapped: a Mac's device still reaches the wired pages, which the app no longer
// sees. Here the bytes have nowhere to go: writes are dropped, reads give zeros, and the
// emulation counts them; nothing faults and nothing is recorded as a violation.
TEST_F(AppPages, DeviceAccessToPagesTheAppUnmappedIsSkippedAndCounted) {
  ASSERT_EQ(munmap(pages_ + 16384, 16384), 0);
  std::vector<uint8_t> in(kLength, 0xee), out(kLength, 0x44);
  ASSERT_EQ(iommu_.DeviceWrite(iova_, out.data(), out.size()), kIOReturnSuccess);
  EXPECT_EQ(pages_[0], 0x44);
  EXPECT_EQ(pages_[2 * 16384], 0x44);
  ASSERT_EQ(iommu_.DeviceRead(iova_, in.data(), in.size()), kIOReturnSuccess);
  EXPECT_EQ(in[0], 0x44);
  EXPECT_EQ(in[16384], 0);
  EXPECT_EQ(in[2 * 16384 - 1], 0);
  EXPECT_EQ(in[2 * 16384], 0x44);
  EXPECT_EQ(iommu_.BytesOfUnmappedAppPages(), 2u * 16384);
  EXPECT_EQ(iommu_.ViolationCount(), 0u);
}

}  // namespace
}  // namespace fpgadext::emu
