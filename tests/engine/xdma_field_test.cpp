// Field::Make of the typed register map refuses values wider than the field (hwreg asserts
// them): a constant expression does not compile, at run time the process stops. Truncate is
// the explicit "low bits".
#include <gtest/gtest.h>

#include "xdma/xdma_registers.h"

namespace fpgadext::engine::test {
namespace {

using Nibble = xdma::Field<7, 4>;

static_assert(Nibble::Fits(15) && !Nibble::Fits(16));
static_assert(Nibble::Make(0xF) == 0xF0);
static_assert(Nibble::Truncate(0x1F) == 0xF0);
static_assert(xdma::Field<31, 0>::Make(0xFFFF'FFFFu) == 0xFFFF'FFFFu);
static_assert(xdma::DescriptorLength::Fits(xdma::kDescriptorMaxLength));
static_assert(!xdma::DescriptorLength::Fits(xdma::kDescriptorMaxLength + 1));

// A value the compiler cannot see, so that the check runs at run time.
uint32_t Opaque(uint32_t v) {
  volatile uint32_t x = v;
  return x;
}

TEST(XdmaField, MakeKeepsValuesThatFit) {
  for (uint32_t v = 0; v < 16; ++v) EXPECT_EQ(Nibble::Make(Opaque(v)), v << 4);
  EXPECT_EQ(Nibble::Set(0xFFFF'FF0Fu, Opaque(0xA)), 0xFFFF'FFAFu);
}

TEST(XdmaFieldDeathTest, MakeOfAnOverWideValueStops) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)Nibble::Make(Opaque(16)), "");
  EXPECT_DEATH((void)xdma::DescriptorLength::Make(Opaque(1u << 28)), "");
  EXPECT_DEATH((void)xdma::SgdmaDescAdjacent::Get(xdma::Direction::kH2c, 0)
                   .FromValue(0)
                   .set_dsc_adj(Opaque(64)),
               "");
}

TEST(XdmaField, TruncateKeepsTheLowBits) {
  EXPECT_EQ(Nibble::Truncate(Opaque(0x1F)), 0xF0u);
  EXPECT_EQ(xdma::PollModeWriteback::completed_count_field::Truncate(Opaque(0x0100'0002)), 2u);
}

}  // namespace
}  // namespace fpgadext::engine::test
