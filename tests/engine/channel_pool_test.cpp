// ChannelPool: lock-free channel bits.
#include <fpgadext/engine/channel_pool.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace fpgadext::engine::test {
namespace {

constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

TEST(ChannelPool, TakesLowestFreeChannelsUpToWanted) {
  ChannelPool pool(4, 2);
  EXPECT_EQ(pool.Count(kH2c), 4u);
  EXPECT_EQ(pool.Count(kC2h), 2u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 1), 0b0001u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 2), 0b0110u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 4), 0b1000u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 1), 0u);
  pool.Release(kH2c, 0b0100u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 3), 0b0100u);
  // Directions are independent.
  EXPECT_EQ(pool.TryAcquire(kC2h, 4), 0b11u);
  EXPECT_EQ(pool.TryAcquire(kC2h, 1), 0u);
  EXPECT_EQ(pool.TryAcquire(kC2h, 0), 0u);
}

TEST(ChannelPool, CountIsClampedToFour) {
  ChannelPool pool(9, 0);
  EXPECT_EQ(pool.Count(kH2c), 4u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 8), 0b1111u);
  EXPECT_EQ(pool.TryAcquire(kC2h, 1), 0u);
}

TEST(ChannelPool, NoChannelIsEverHeldTwice) {
  ChannelPool pool(3, 3);
  std::atomic<int> holders[3] = {};
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const uint32_t m = pool.TryAcquire(kH2c, 1 + (t % 2));
        for (int c = 0; c < 3; ++c) {
          if (m & (1u << c)) {
            if (holders[c].fetch_add(1) != 0) bad = true;
          }
        }
        for (int c = 0; c < 3; ++c) {
          if (m & (1u << c)) holders[c].fetch_sub(1);
        }
        pool.Release(kH2c, m);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(pool.TryAcquire(kH2c, 3), 0b111u);
}

}  // namespace
}  // namespace fpgadext::engine::test
