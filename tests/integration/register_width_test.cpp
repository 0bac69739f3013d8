// Read64/Write64 on the user BAR (an AXI4-Lite master: 32-bit accesses only, PG195): two 32-bit
// accesses, the low word at the offset, the high word at offset + 4, mapped or through the dext.
#include <reference_design/user_block_registers.h>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

namespace reg = reference_design::user_reg;

class RegisterWidth : public BoardFixture {};

TEST_F(RegisterWidth, Write64PutsTheLowWordAtTheOffsetAndTheHighWordAfterIt) {
  const int bar = device().info().userBar;
  ASSERT_GE(bar, 0);
  ASSERT_TRUE(device().Write64(bar, reg::Scratch(0), 0x1122334455667788ull));
  uint32_t low = 0, high = 0;
  ASSERT_TRUE(device().Read32(bar, reg::Scratch(0), &low));
  ASSERT_TRUE(device().Read32(bar, reg::Scratch(1), &high));
  EXPECT_EQ(low, 0x55667788u);
  EXPECT_EQ(high, 0x11223344u);
  ASSERT_TRUE(device().Write32(bar, reg::Scratch(2), 0xCAFEF00Du));
  ASSERT_TRUE(device().Write32(bar, reg::Scratch(3), 0x0BADBEEFu));
  uint64_t v = 0;
  ASSERT_TRUE(device().Read64(bar, reg::Scratch(2), &v));
  EXPECT_EQ(v, 0x0BADBEEFCAFEF00Dull);
  // 8-byte alignment and bounds as for a 64-bit register.
  EXPECT_EQ(device().Read64(bar, reg::Scratch(1), &v).code(), kIOReturnBadArgument);
}

}  // namespace
}  // namespace fpgadext::integration
