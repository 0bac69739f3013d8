// Registers of the user BAR through the library: mapped into the process when the platform
// allows it (volatile loads and stores, no driver call), else through the dext's bounds-checked
// register selectors. Either way the values must agree with what the dext itself reads.
#include <fpgadext/emu/broker_stats.h>
#include <fpgadext/protocol.h>
#include <reference_design/user_block_registers.h>

#include <cstdlib>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

namespace reg = reference_design::user_reg;
using reference_design::kUserBlockId;
using reference_design::kUserBlockVersion;

// Each test runs twice: with the BAR mapped when the platform allows (the default), and with
// FPGADEXT_MAP_BARS=0, which makes the library use the dext's register selectors.
class Registers : public BoardFixture, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    BoardFixture::SetUp();
    if (GetParam()) {
      dev_ = &device();
      return;
    }
    setenv("FPGADEXT_MAP_BARS", "0", 1);
    Status s = Device::Open(0, &unmapped_);
    unsetenv("FPGADEXT_MAP_BARS");
    ASSERT_TRUE(s) << s.message();
    for (int bar = 0; bar < 6; ++bar) EXPECT_FALSE(unmapped_.IsBarMapped(bar));
    dev_ = &unmapped_;
  }
  Device& dev() { return *dev_; }

 private:
  Device unmapped_;
  Device* dev_ = nullptr;
};

TEST_P(Registers, UserBlock) {
  const int bar = dev().info().userBar;
  ASSERT_GE(bar, 0);
  RecordProperty("userBarMapped", dev().IsBarMapped(bar) ? "yes" : "no");
  uint32_t v = 0;
  ASSERT_TRUE(dev().Read32(bar, reg::kId, &v));
  EXPECT_EQ(v, kUserBlockId);
  ASSERT_TRUE(dev().Read32(bar, reg::kVersion, &v));
  EXPECT_EQ(v, kUserBlockVersion);
  ASSERT_TRUE(dev().Read32(bar, reg::kCardMemSizeLo, &v));
  EXPECT_EQ(v, static_cast<uint32_t>(kCardMemory));
  ASSERT_TRUE(dev().Read32(bar, reg::kCardMemSizeHi, &v));
  EXPECT_EQ(v, static_cast<uint32_t>(kCardMemory >> 32));

  for (uint32_t i = 0; i < reg::kScratchCount; ++i) {
    ASSERT_TRUE(dev().Write32(bar, reg::Scratch(i), 0xA5A50000u + i));
  }
  std::vector<uint32_t> block(reg::kScratchCount);
  ASSERT_TRUE(dev().ReadBlock(bar, reg::kScratch0, block));
  for (uint32_t i = 0; i < reg::kScratchCount; ++i) EXPECT_EQ(block[i], 0xA5A50000u + i);
  const std::vector<uint32_t> values = {1, 2, 3, 4};
  ASSERT_TRUE(dev().WriteBlock(bar, reg::kScratch0, values));
  ASSERT_TRUE(dev().ReadBlock(bar, reg::kScratch0, block));
  EXPECT_EQ(block, values);

  // The free-running counter moves: a register with side effects, read each time.
  uint32_t a = 0, b = 0;
  ASSERT_TRUE(dev().Read32(bar, reg::kCounterLo, &a));
  ASSERT_TRUE(dev().Read32(bar, reg::kCounterLo, &b));
  EXPECT_NE(a, b);
}

// The library's view (mapped or not) and the dext's register selectors see the same register.
TEST_P(Registers, AgreesWithTheDext) {
  const int bar = dev().info().userBar;
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  ASSERT_TRUE(dev().Write32(bar, reg::Scratch(2), 0x1234'5678));
  const uint64_t read[3] = {static_cast<uint64_t>(bar), reg::Scratch(2), 4};
  uint64_t out = 0;
  uint32_t count = 1;
  ASSERT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, read, 3, &out, &count),
            kIOReturnSuccess);
  EXPECT_EQ(out, 0x1234'5678u);
  const uint64_t write[4] = {static_cast<uint64_t>(bar), reg::Scratch(3), 4, 0xCAFE'F00D};
  ASSERT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorRegisterWrite, write, 4, nullptr, nullptr),
      kIOReturnSuccess);
  uint32_t v = 0;
  ASSERT_TRUE(dev().Read32(bar, reg::Scratch(3), &v));
  EXPECT_EQ(v, 0xCAFE'F00Du);
  IOServiceClose(c);
}

// On the emulated Mac the dext hands out the user BAR through the device's opener (the driver,
// as IOPCIFamily requires), so the library maps it and a register access is a plain load or
// store: no driver call at all.
using MappedRegisters = BoardFixture;

TEST_F(MappedRegisters, UserBarIsMappedAndItsRegistersCostNoDriverCall) {
  const int bar = device().info().userBar;
  ASSERT_GE(bar, 0);
  ASSERT_TRUE(device().IsBarMapped(bar)) << "the library fell back to driver calls";
  const uint64_t before = emu::broker::CallCount();
  uint32_t v = 0;
  ASSERT_TRUE(device().Read32(bar, reg::kId, &v));
  EXPECT_EQ(v, kUserBlockId);
  for (uint32_t i = 0; i < 64; ++i) {
    ASSERT_TRUE(device().Write32(bar, reg::kScratch0, 0x5A00'0000u + i));
    ASSERT_TRUE(device().Read32(bar, reg::kScratch0, &v));
    EXPECT_EQ(v, 0x5A00'0000u + i);
  }
  EXPECT_EQ(emu::broker::CallCount(), before) << "driver calls for mapped register accesses";
}

INSTANTIATE_TEST_SUITE_P(Access, Registers, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "MappedWhenPossible" : "DriverCalls";
                         });

}  // namespace
}  // namespace fpgadext::integration
