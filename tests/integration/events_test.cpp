// User interrupts end to end (issue 13 part 2): user logic on the board model asserts
// usr_irq_req lines through the reference design's user block, the XDMA IRQ block turns them
// into MSI-X messages, the dext counts and acknowledges them, and every subscribed app sees
// every event exactly once — by blocking, by callback, by polling shared memory.
#include <fpgadext/fpgadext.h>
#include <fpgadext/protocol.h>
#include <reference_design/user_block_registers.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using std::chrono::seconds;
namespace reg = reference_design::user_reg;
using Clock = std::chrono::steady_clock;

constexpr auto kForever = std::chrono::nanoseconds::max();

uint32_t AllLines(const Events& events) {
  return events.lines() >= 32 ? 0xFFFF'FFFFu : (1u << events.lines()) - 1u;
}

// What user logic does (PG195 "MSI and MSI-X Interrupts"): it holds usr_irq_req[line] until
// the host services it, so a line is asserted again only once the dext acknowledged it.
::testing::AssertionResult Raise(Device& device, unsigned line) {
  const int bar = device.info().userBar;
  const auto deadline = Clock::now() + seconds(30);
  for (;;) {
    uint32_t lines = 0;
    if (Status s = device.Read32(bar, reg::kIrqStatus, &lines); !s) {
      return ::testing::AssertionFailure() << s.message();
    }
    if (!(lines & (1u << line))) break;
    if (Clock::now() > deadline) {
      return ::testing::AssertionFailure() << "line " << line << " never acknowledged";
    }
    std::this_thread::yield();
  }
  if (Status s = device.Write32(bar, reg::kIrqRaise, 1u << line); !s) {
    return ::testing::AssertionFailure() << s.message();
  }
  return ::testing::AssertionSuccess();
}

uint64_t Total(const EventCounts& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts.count) total += c;
  return total;
}

using EventsTest = BoardFixture;

TEST_F(EventsTest, EveryLineIsDeliveredAndAcknowledged) {
  ASSERT_TRUE(device().info().userBar >= 0);
  Events events;
  ASSERT_TRUE(device().OpenEvents(0xFFFF, &events));
  ASSERT_EQ(events.lines(), 16u);
  for (unsigned line = 0; line < events.lines(); ++line) {
    const uint64_t before = events.Count(line);
    ASSERT_TRUE(Raise(device(), line));
    EventCounts got;
    ASSERT_TRUE(events.WaitForEvents(AllLines(events), seconds(30), &got)) << line;
    EXPECT_EQ(got.lines, 1u << line);
    EXPECT_EQ(got.count[line], 1u);
    EXPECT_EQ(events.Count(line), before + 1);
  }
  // Each was acknowledged where user logic expects it: the lines are low again.
  uint32_t status = 1;
  ASSERT_TRUE(device().Read32(device().info().userBar, reg::kIrqStatus, &status));
  EXPECT_EQ(status, 0u);
}

TEST_F(EventsTest, LinesOutsideTheMaskAreNeitherDeliveredNorAcknowledged) {
  Events events;
  ASSERT_TRUE(device().OpenEvents(0b0101, &events));
  const uint64_t line1Before = events.Count(1);
  ASSERT_TRUE(Raise(device(), 1));  // not subscribed: stays asserted, nobody counts it
  ASSERT_TRUE(Raise(device(), 2));
  EventCounts got;
  ASSERT_TRUE(events.WaitForEvents(0xFFFF, seconds(30), &got));
  EXPECT_EQ(got.lines, 1u << 2);
  uint32_t status = 0;
  ASSERT_TRUE(device().Read32(device().info().userBar, reg::kIrqStatus, &status));
  EXPECT_EQ(status, 1u << 1);
  EXPECT_EQ(events.Count(1), line1Before);
  // Subscribing to it later enables it while asserted: the event is delivered then (PG195 IRQ
  // Block User Interrupt Enable Mask).
  Events later;
  ASSERT_TRUE(device().OpenEvents(0b0111, &later));
  ASSERT_TRUE(later.WaitForEvents(1u << 1, seconds(30), &got));
  EXPECT_EQ(got.lines, 1u << 1);
  EXPECT_EQ(got.count[1], 1u);
  // A wait for lines outside the subscription is refused.
  Events narrow;
  ASSERT_TRUE(device().OpenEvents(0b0001, &narrow));
  EXPECT_EQ(narrow.WaitForEvents(0b1000, seconds(1), &got).code(), kIOReturnBadArgument);
}

TEST_F(EventsTest, EveryClientSeesEveryEvent) {
  constexpr int kClients = 3;
  constexpr uint64_t kEvents = 40;
  Device devices[kClients];
  Events events[kClients];
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(Device::Open(0, &devices[i]));
    ASSERT_TRUE(devices[i].OpenEvents(1u << 3 | 1u << 9, &events[i]));
  }
  std::thread raiser([&] {
    for (uint64_t n = 0; n < kEvents; ++n) ASSERT_TRUE(Raise(device(), n % 2 ? 9 : 3));
  });
  for (int i = 0; i < kClients; ++i) {
    uint64_t seen[2] = {};
    while (seen[0] + seen[1] < kEvents) {
      EventCounts got;
      ASSERT_TRUE(events[i].WaitForEvents(0xFFFF, seconds(30), &got)) << "client " << i;
      EXPECT_EQ(got.lines & ~(1u << 3 | 1u << 9), 0u);
      seen[0] += got.count[3];
      seen[1] += got.count[9];
    }
    EXPECT_EQ(seen[0], kEvents / 2) << "client " << i;
    EXPECT_EQ(seen[1], kEvents / 2) << "client " << i;
  }
  raiser.join();
  for (int i = 0; i < kClients; ++i) {
    EventCounts extra;
    ASSERT_TRUE(events[i].Poll(0xFFFF, &extra));
    EXPECT_EQ(extra.lines, 0u) << "client " << i;
  }
}

// A burst on all lines at once from four threads of "user logic": the callback's counts sum to
// exactly what was raised, per line.
TEST_F(EventsTest, BurstIsNeverLostOrDuplicatedByTheCallback) {
  constexpr uint64_t kPerLine = 60;
  Events events;
  ASSERT_TRUE(device().OpenEvents(0xFFFF, &events));
  std::mutex lock;
  std::condition_variable changed;
  uint64_t counted[kMaxEventLines] = {};
  uint64_t total = 0;
  ASSERT_TRUE(events.SetCallback(0xFFFF, [&](const EventCounts& got) {
    std::lock_guard guard(lock);
    for (unsigned i = 0; i < kMaxEventLines; ++i) counted[i] += got.count[i];
    total += Total(got);
    changed.notify_all();
  }));
  std::vector<std::thread> raisers;
  for (unsigned t = 0; t < 4; ++t) {
    raisers.emplace_back([&, t] {
      for (uint64_t n = 0; n < kPerLine; ++n) {
        for (unsigned line = t; line < kMaxEventLines; line += 4) {
          ASSERT_TRUE(Raise(device(), line));
        }
      }
    });
  }
  for (auto& r : raisers) r.join();
  {
    std::unique_lock guard(lock);
    ASSERT_TRUE(changed.wait_for(guard, seconds(60), [&] {
      return total >= kPerLine * kMaxEventLines;
    })) << total;
  }
  ASSERT_TRUE(events.SetCallback(0xFFFF, {}));
  std::lock_guard guard(lock);
  for (unsigned i = 0; i < kMaxEventLines; ++i) EXPECT_EQ(counted[i], kPerLine) << "line " << i;
  EXPECT_EQ(total, kPerLine * kMaxEventLines);
}

TEST_F(EventsTest, PollModeSeesEventsWithoutADriverCall) {
  Events events;
  ASSERT_TRUE(device().OpenEvents(1u << 5, &events));
  constexpr uint64_t kEvents = 20;
  uint64_t seen = 0;
  for (uint64_t n = 0; n < kEvents; ++n) {
    ASSERT_TRUE(Raise(device(), 5));
    const auto deadline = Clock::now() + seconds(30);
    EventCounts got;
    do {
      ASSERT_TRUE(events.Poll(0xFFFF, &got));
    } while (got.lines == 0 && Clock::now() < deadline);
    ASSERT_EQ(got.lines, 1u << 5);
    seen += got.count[5];
  }
  EXPECT_EQ(seen, kEvents);
}

// A wait in progress when its connection closes returns with an error; nothing is left behind
// (the fixture checks user clients, IOMalloc blocks and IOMMU mappings after the test).
TEST_F(EventsTest, CloseDuringAWaitEndsItWithAnError) {
  Device other;
  ASSERT_TRUE(Device::Open(0, &other));
  Events events;
  ASSERT_TRUE(other.OpenEvents(1u << 7, &events));
  std::atomic<int> result{kIOReturnSuccess};
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    started = true;
    EventCounts got;
    result = events.WaitForEvents(1u << 7, kForever, &got).code();
  });
  while (!started) std::this_thread::yield();
  other.Close();
  waiter.join();
  EXPECT_EQ(result.load(), kIOReturnNotOpen);
  EventCounts got;
  EXPECT_EQ(events.Poll(1u << 7, &got).code(), kIOReturnNotOpen);
}

TEST_F(EventsTest, EventsCloseDuringAWaitEndsIt) {
  Events events;
  ASSERT_TRUE(device().OpenEvents(1u << 8, &events));
  std::atomic<int> result{kIOReturnSuccess};
  Events second;  // a second handle on the same subscription, closed from this thread
  ASSERT_TRUE(device().OpenEvents(1u << 8, &second));
  std::thread waiter([&] {
    EventCounts got;
    result = events.WaitForEvents(1u << 8, kForever, &got).code();
  });
  ASSERT_TRUE(second.Close());
  waiter.join();
  EXPECT_EQ(result.load(), kIOReturnNotOpen);
}

// The C API: open, raise, wait, poll, close.
TEST_F(EventsTest, CApiWaitsAndPolls) {
  fpgadext_device* c = nullptr;
  ASSERT_EQ(fpgadext_open(0, &c), kIOReturnSuccess);
  fpgadext_events* e = nullptr;
  ASSERT_EQ(fpgadext_events_open(c, 1u << 4, &e), kIOReturnSuccess) << fpgadext_last_error(c);
  ASSERT_TRUE(Raise(device(), 4));
  fpgadext_event_counts counts{};
  ASSERT_EQ(fpgadext_events_wait(e, 0xFFFF, 30'000'000'000ull, &counts), kIOReturnSuccess);
  EXPECT_EQ(counts.lines, 1u << 4);
  EXPECT_EQ(counts.count[4], 1u);
  ASSERT_EQ(fpgadext_events_poll(e, 0xFFFF, &counts), kIOReturnSuccess);
  EXPECT_EQ(counts.lines, 0u);
  fpgadext_events_close(e);
  fpgadext_close(c);
}

using EventsRemoval = FreshBoardFixture;

TEST_F(EventsRemoval, WaitInProgressReturnsWhenTheBoardGoes) {
  Events events;
  ASSERT_TRUE(device().OpenEvents(0xFFFF, &events));
  std::atomic<int> result{kIOReturnSuccess};
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    started = true;
    EventCounts got;
    result = events.WaitForEvents(0xFFFF, kForever, &got).code();
  });
  while (!started) std::this_thread::yield();
  machine().SurpriseRemovePciFunction(board_.get());
  waiter.join();
  // The connection's end (kIOReturnNoDevice), or the dext's stop got there first.
  EXPECT_THAT(result.load(), ::testing::AnyOf(kIOReturnNoDevice, kIOReturnAborted, kIOReturnOffline,
                                              kIOReturnNotOpen));
  EventCounts got;
  EXPECT_FALSE(events.WaitForEvents(0xFFFF, seconds(1), &got));
}

}  // namespace
}  // namespace fpgadext::integration
