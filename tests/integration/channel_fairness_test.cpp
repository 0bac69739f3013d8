// Issue 12 item 5, through the library on the emulated Mac: two clients each making a ring in
// both directions took every channel of the 2+2 board, and a third client's 8 KiB write timed
// out after 2 s. A ring may not take the last shared channel of a direction (docs/engine.md
// "Scheduling"): the second ring is refused with a clear error, every other client's transfers
// go on.
#include <cstring>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class ChannelFairness : public BoardFixture {};

// Fails on a dext that takes ring channels without the reserve (TryAcquire): the second ring
// takes the last channels and the write and read below time out (verified: fails, 2 × 2 s).
TEST_F(ChannelFairness, RingsLeaveEveryClientAChannel) {
  Device a, b, c;
  ASSERT_TRUE(Device::Open(0, &a));
  ASSERT_TRUE(Device::Open(0, &b));
  ASSERT_TRUE(Device::Open(0, &c));
  Ring ra, rb;
  ASSERT_TRUE(a.CreateRing(4, RingDirections::kBoth, &ra));
  const Status second = b.CreateRing(4, RingDirections::kBoth, &rb);
  EXPECT_EQ(second.code(), kIOReturnExclusiveAccess) << second.message();
  EXPECT_FALSE(rb.valid());
  PageBuffer buffer(8192);
  for (size_t i = 0; i < 8192; ++i) buffer.data()[i] = static_cast<std::byte>(i * 7);
  const Status write = c.Write(0x4000, buffer.span(0, 8192));
  EXPECT_TRUE(write) << write.message();
  PageBuffer back(8192);
  const Status read = c.Read(0x4000, back.span(0, 8192));
  EXPECT_TRUE(read) << read.message();
  EXPECT_EQ(std::memcmp(buffer.data(), back.data(), 8192), 0);
  // The ring's owner gives its channels back: now a second client's ring fits.
  ASSERT_TRUE(ra.Destroy());
  const Status again = b.CreateRing(4, RingDirections::kBoth, &rb);
  EXPECT_TRUE(again) << again.message();
}

}  // namespace
}  // namespace fpgadext::integration
