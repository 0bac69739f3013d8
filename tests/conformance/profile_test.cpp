// The emulated Mac's hardware profile (docs/emulation.md, "Hardware profiles"): the page size a
// dext sees in IOVMPageSize and the page granularity of what an app maps, in the apple-silicon
// profile (the default) and the intel profile. The IOMMU side (DART, VT-d) is tested on the
// IOMMU itself in tests/emu/iommu_test.cpp and through a dext in dma_test.cpp.
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>

#include "harness.h"
#include "process_memory.h"

// The dext side's IOVMPageSize (DriverKit/IOLib.h, which cannot be included beside IOKitLib.h).
extern "C" uint64_t IOVMPageSize;

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class Profile : public ConformanceTest {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.profile = profile_;
    return config;
  }
  emu::HardwareProfile profile_ = emu::HardwareProfile::kAppleSilicon;
};

class IntelProfile : public Profile {
 protected:
  IntelProfile() { profile_ = emu::HardwareProfile::kIntel; }
};

// arm64 macOS has 16 KiB VM pages (xnu osfmk/mach/arm/vm_param.h); DriverKit's IOVMPageSize is
// the page size of the dext's task.
TEST_F(Profile, AppleSiliconIOVMPageSizeIs16KiB) {
  EXPECT_EQ(machine_->profile(), emu::HardwareProfile::kAppleSilicon);
  EXPECT_EQ(IOVMPageSize, 16384u);
  EXPECT_EQ(machine_->iommu().config().kind, emu::Iommu::Kind::kDart);
  EXPECT_EQ(machine_->iommu().config().pageSize, 16384u);
}

// x86_64 has 4 KiB pages (xnu osfmk/mach/i386/vm_param.h, I386_PGBYTES).
TEST_F(IntelProfile, IntelIOVMPageSizeIs4KiB) {
  EXPECT_EQ(machine_->profile(), emu::HardwareProfile::kIntel);
  EXPECT_EQ(IOVMPageSize, 4096u);
  EXPECT_EQ(machine_->iommu().config().kind, emu::Iommu::Kind::kVtd);
  EXPECT_EQ(machine_->iommu().config().pageSize, 4096u);
}

// xnu maps whole pages into the app: a 4096-byte buffer (xnu rounds a buffer shared with user
// space to whole pages, IOBufferMemoryDescriptor.cpp) is mapped at a 16 KiB-aligned address with
// the rest of its 16 KiB page the buffer's own; the size reported is the buffer's length.
TEST_F(Profile, AppMappingsArePageGranular) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemNoSetLength, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_EQ(size, 4096u);
  EXPECT_EQ(address % 16384, 0u);
  EXPECT_TRUE(Writable(address + 4096)) << MappingAt(address + 4096).perms;
  EXPECT_TRUE(Writable(address + 16383)) << MappingAt(address + 16383).perms;
  auto* tail = reinterpret_cast<volatile uint8_t*>(address + 16383);
  *tail = 0x5a;  // the buffer's own last page: no fault
  EXPECT_EQ(*tail, 0x5a);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemNoSetLength, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(IntelProfile, AppMappingsArePageGranular) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemNoSetLength, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_EQ(size, 4096u);
  EXPECT_EQ(address % 4096, 0u);
  EXPECT_TRUE(Writable(address + 4095));
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemNoSetLength, mach_task_self(), address),
            kIOReturnSuccess);
}

// The profile comes from FPGADEXT_EMU_PROFILE, so whole test programs and the CLI run in either;
// unset means apple-silicon, and a value that is not a profile is a setup error.
TEST(ProfileEnvironment, DefaultIsAppleSiliconAndABadValueIsAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        unsetenv("FPGADEXT_EMU_PROFILE");
        std::exit(emu::HardwareProfileFromEnvironment() == emu::HardwareProfile::kAppleSilicon ? 0
                                                                                               : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("FPGADEXT_EMU_PROFILE", "intel", 1);
        std::exit(emu::HardwareProfileFromEnvironment() == emu::HardwareProfile::kIntel ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("FPGADEXT_EMU_PROFILE", "m2", 1);
        emu::HardwareProfileFromEnvironment();
      },
      ::testing::ExitedWithCode(2), "FPGADEXT_EMU_PROFILE=m2 is not a hardware profile");
}

}  // namespace
}  // namespace fpgadext::conformance
