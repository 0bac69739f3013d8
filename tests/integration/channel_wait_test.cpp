// The channel pool's sleeping wait on the emulated Mac (docs/engine.md "Scheduling"; issue 12 item
// 5): the dext's sleeping wait seam (dext/channel_wait.h) on DriverKit's IODispatchQueue
// Sleep/Wakeup.
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <fpgadext/engine/channel_pool.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "dext/channel_wait.h"

namespace fpgadext::integration {
namespace {

using engine::ChannelPool;
using engine::Direction;

uint64_t NowNs() {
  mach_timebase_info_data_t timebase{};
  mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

// Waits up to 30 s for `done`; the condition, not the time, is what the tests assert.
bool WaitFor(const std::atomic<bool>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class ChannelWaitQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dext::CreateChannelWaitQueue(&queue_), kIOReturnSuccess);
    pool_.SetWaitSeam(dext::ChannelWaitSeamOn(queue_));
    ASSERT_TRUE(pool_.HasWaitSeam());
  }
  void TearDown() override { OSSafeReleaseNULL(queue_); }

  IODispatchQueue* queue_ = nullptr;
  ChannelPool pool_{1, 1};
};

TEST_F(ChannelWaitQueue, AReleaseWakesATransferAsleepForAChannel) {
  ASSERT_EQ(pool_.TryAcquire(Direction::kHostToCard, 1), 1u);
  engine::ChannelClient client;
  engine::ChannelWaiter waiter;
  const uint32_t seen = pool_.Events();
  ASSERT_EQ(pool_.Acquire(&waiter, Direction::kHostToCard, &client, 1), 0u);  // queued
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    pool_.Wait(seen, NowNs() + 60'000'000'000ull);  // only a wake ends it before a minute
    woke = true;
  });
  pool_.Release(Direction::kHostToCard, 1);
  ASSERT_TRUE(WaitFor(woke));
  sleeper.join();
  EXPECT_EQ(pool_.Acquire(&waiter, Direction::kHostToCard, &client, 1), 1u);
}

TEST_F(ChannelWaitQueue, AChangeBeforeTheWaitIsNotMissed) {
  const uint32_t seen = pool_.Events();
  pool_.Notify();  // the pool changed after `seen` was read, before the wait
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    pool_.Wait(seen, NowNs() + 60'000'000'000ull);
    returned = true;
  });
  ASSERT_TRUE(WaitFor(returned));
  waiter.join();
}

TEST_F(ChannelWaitQueue, AWaitEndsAtItsDeadline) {
  const uint32_t seen = pool_.Events();
  const uint64_t deadline = NowNs() + 2'000'000;  // nothing will change: the deadline ends it
  pool_.Wait(seen, deadline);
  EXPECT_GE(NowNs(), deadline);
  EXPECT_EQ(pool_.Events(), seen);
}

TEST_F(ChannelWaitQueue, ManySleepersAllWake) {
  ASSERT_EQ(pool_.TryAcquire(Direction::kCardToHost, 1), 1u);
  constexpr int kSleepers = 4;
  engine::ChannelClient clients[kSleepers];
  engine::ChannelWaiter waiters[kSleepers];
  const uint32_t seen = pool_.Events();
  for (int i = 0; i < kSleepers; ++i) {
    ASSERT_EQ(pool_.Acquire(&waiters[i], Direction::kCardToHost, &clients[i], 1), 0u);
  }
  std::atomic<int> woke{0};
  std::thread sleepers[kSleepers];
  for (std::thread& t : sleepers) {
    t = std::thread([&] {
      pool_.Wait(seen, NowNs() + 60'000'000'000ull);
      ++woke;
    });
  }
  pool_.Release(Direction::kCardToHost, 1);
  // Each returns only once woken (or after its minute, which this bound fails first).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (woke.load() < kSleepers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(woke.load(), kSleepers);
  for (std::thread& t : sleepers) t.join();
  for (engine::ChannelWaiter& w : waiters) pool_.Cancel(&w);
}

}  // namespace
}  // namespace fpgadext::integration
