// The channel scheduler (docs/engine.md "Scheduling"; issue 12 items 5 and 6): the pool's queue,
// turns between clients, fair shares, the ring reserve, sleeping waits and cancellation. A fake
// data mover whose shares finish when the test says so, an injected clock and a fake wait seam:
// every test is deterministic and asserts orders and counts, never times.
#include <fpgadext/engine/channel_pool.h>
#include <fpgadext/engine/transfer_planner.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fpgadext::engine::test {
namespace {

constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

// Shares that run until the test finishes them (or, with `pollsToFinish`, after that many polls).
class FakeMover final : public DataMover {
 public:
  explicit FakeMover(uint32_t channels) {
    limits_ = {1ull << 40, 1ull << 28, 1, {channels, channels}};
  }
  const EngineLimits& Limits() const override { return limits_; }
  IOReturn Start(Direction d, uint32_t ch, uint64_t, HostMemory&, uint32_t, uint64_t,
                 uint64_t length) override {
    Channel& c = channel_[static_cast<int>(d)][ch];
    EXPECT_FALSE(c.running) << "channel " << ch << " handed out twice";
    c = Channel{true, false, pollsToFinish, length};
    ++starts;
    return kIOReturnSuccess;
  }
  IOReturn Poll(Direction d, uint32_t ch, uint64_t* done) override {
    Channel& c = channel_[static_cast<int>(d)][ch];
    if (!c.finished && pollsToFinish != 0 && --c.pollsLeft == 0) c.finished = true;
    if (!c.finished) return kIOReturnNotReady;
    if (done != nullptr) *done = c.length;
    c.running = false;
    return kIOReturnSuccess;
  }
  IOReturn Recover(Direction d, uint32_t ch) override {
    channel_[static_cast<int>(d)][ch].running = false;
    ++recovers;
    return kIOReturnSuccess;
  }
  void Finish(Direction d, uint32_t ch) { channel_[static_cast<int>(d)][ch].finished = true; }
  bool Running(Direction d, uint32_t ch) const { return channel_[static_cast<int>(d)][ch].running; }

  uint32_t pollsToFinish = 0;  // 0: only Finish ends a share
  std::atomic<uint32_t> starts{0};
  std::atomic<uint32_t> recovers{0};

 private:
  struct Channel {
    bool running = false;
    bool finished = false;
    uint32_t pollsLeft = 0;
    uint64_t length = 0;
  };
  EngineLimits limits_{};
  Channel channel_[2][4] = {};
};

class FakeHost final : public HostMemory {
 public:
  explicit FakeHost(uint64_t length) : length_(length) {}
  uint64_t Length() const override { return length_; }
  IOReturn PrepareWindow(uint32_t, uint64_t, uint64_t, BusSegment*, uint32_t*, uint64_t*) override {
    return kIOReturnUnsupported;  // the fake mover never asks
  }
  void CompleteWindow(uint32_t) override {}
  uint32_t Slots() const override { return 4; }

 private:
  uint64_t length_;
};

// The injected clock: only the fake seam and relax move it.
uint64_t gNow = 0;
uint32_t gRelaxes = 0;
std::function<void()> gOnRelax;
uint64_t Now() {
  return gNow;
}
void Relax() {
  ++gRelaxes;
  gNow += 1000;
  if (gOnRelax) gOnRelax();
}

// A wait seam that records the waits and runs `onWait` instead of sleeping (single thread).
struct FakeSeam {
  uint32_t waits = 0;
  uint32_t wakes = 0;
  uint32_t lastSeen = 0;
  uint64_t lastDeadline = 0;
  bool wordChangedBeforeWait = false;
  std::function<void()> onWait;

  static void Wait(void* context, const std::atomic<uint32_t>* word, uint32_t seen,
                   uint64_t deadlineNs) {
    auto* self = static_cast<FakeSeam*>(context);
    ++self->waits;
    self->lastSeen = seen;
    self->lastDeadline = deadlineNs;
    if (word->load() != seen) self->wordChangedBeforeWait = true;
    if (self->onWait) self->onWait();
  }
  static void Wake(void* context, const std::atomic<uint32_t>*) {
    ++static_cast<FakeSeam*>(context)->wakes;
  }
  ChannelWaitSeam Seam() {
    ChannelWaitSeam s;
    s.context = this;
    s.wait = Wait;
    s.wake = Wake;
    return s;
  }
};

class ChannelScheduler : public ::testing::Test {
 protected:
  void SetUp() override {
    gNow = 0;
    gRelaxes = 0;
    gOnRelax = nullptr;
  }
  void TearDown() override { gOnRelax = nullptr; }
  Platform platform_{Now, Relax};
};

// ---- The pool's queue ------------------------------------------------------------------------

TEST_F(ChannelScheduler, ClientsTakeTurnsInsteadOfRacing) {
  ChannelPool pool(1, 1);
  ChannelClient a, b;
  ChannelWaiter a1, a2, b1;
  EXPECT_EQ(pool.Acquire(&a1, kH2c, &a, 1), 0b1u);  // free: taken at once
  EXPECT_FALSE(a1.queued);
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 1), 0u);  // A's second transfer queues first
  EXPECT_EQ(pool.Acquire(&b1, kH2c, &b, 1), 0u);
  EXPECT_TRUE(a2.queued && b1.queued);
  pool.Release(kH2c, 0b1, &a);
  // A asks first after the release, but B was served longer ago: B's turn.
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 1), 0u);
  EXPECT_EQ(pool.Acquire(&b1, kH2c, &b, 1), 0b1u);
  pool.Release(kH2c, 0b1, &b);
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 1), 0b1u);
  EXPECT_FALSE(a2.queued || b1.queued);
  EXPECT_EQ(a.held[0], 1u);
  EXPECT_EQ(b.held[0], 0u);
}

TEST_F(ChannelScheduler, AClientsOwnTransfersGoInArrivalOrder) {
  ChannelPool pool(1, 1);
  ChannelClient a;
  ChannelWaiter w[4];
  ASSERT_EQ(pool.TryAcquire(kC2h, 1), 0b1u);  // held by someone outside the queue
  for (ChannelWaiter& x : w) EXPECT_EQ(pool.Acquire(&x, kC2h, &a, 1), 0u);
  for (int next = 0; next < 4; ++next) {
    pool.Release(kC2h, 0b1, next == 0 ? nullptr : &a);
    for (int i = 3; i > next; --i) EXPECT_EQ(pool.Acquire(&w[i], kC2h, &a, 1), 0u) << i;
    EXPECT_EQ(pool.Acquire(&w[next], kC2h, &a, 1), 0b1u) << next;
  }
}

TEST_F(ChannelScheduler, WhileOthersWaitAClientGetsItsShare) {
  ChannelPool pool(4, 4);
  ChannelClient a, b;
  ChannelWaiter wa, wb;
  ASSERT_EQ(pool.TryAcquire(kH2c, 4), 0b1111u);
  EXPECT_EQ(pool.Acquire(&wa, kH2c, &a, 4), 0u);
  EXPECT_EQ(pool.Acquire(&wb, kH2c, &b, 4), 0u);
  pool.Release(kH2c, 0b1111);
  // Two clients wait: each may hold 2 of the 4 channels.
  EXPECT_EQ(pool.Acquire(&wa, kH2c, &a, 4), 0b0011u);
  EXPECT_EQ(pool.Acquire(&wb, kH2c, &b, 4), 0b1100u);
  pool.Release(kH2c, 0b0011, &a);
  pool.Release(kH2c, 0b1100, &b);
  // Alone, a client takes every channel it asks for.
  EXPECT_EQ(pool.Acquire(&wa, kH2c, &a, 4), 0b1111u);
  EXPECT_EQ(a.held[0], 4u);
}

TEST_F(ChannelScheduler, AClientAtItsShareWaitsWhileAnotherIsServed) {
  ChannelPool pool(2, 2);
  ChannelClient a, b;
  ChannelWaiter a1, a2, b1;
  EXPECT_EQ(pool.Acquire(&a1, kH2c, &a, 2), 0b11u);  // alone: both channels
  EXPECT_EQ(pool.Acquire(&b1, kH2c, &b, 1), 0u);
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 2), 0u);
  pool.Release(kH2c, 0b01, &a);                   // one of A's shares is done; A still holds one
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 2), 0u);  // A is at its share (2 channels / 2 clients)
  EXPECT_EQ(pool.Acquire(&b1, kH2c, &b, 1), 0b01u);
  pool.Release(kH2c, 0b10, &a);
  EXPECT_EQ(pool.Acquire(&a2, kH2c, &a, 2), 0b10u);  // B no longer waits: what is free
}

TEST_F(ChannelScheduler, ACancelledWaiterPassesItsTurn) {
  ChannelPool pool(1, 1);
  ChannelClient a, b;
  ChannelWaiter wa, wb;
  ASSERT_EQ(pool.TryAcquire(kH2c, 1), 0b1u);
  EXPECT_EQ(pool.Acquire(&wa, kH2c, &a, 1), 0u);
  EXPECT_EQ(pool.Acquire(&wb, kH2c, &b, 1), 0u);
  pool.Cancel(&wa);
  EXPECT_FALSE(wa.queued);
  EXPECT_EQ(a.queued[0], 0u);
  pool.Release(kH2c, 0b1);
  EXPECT_EQ(pool.Acquire(&wb, kH2c, &b, 1), 0b1u);
  pool.Cancel(&wa);  // not queued: nothing happens
}

TEST_F(ChannelScheduler, RingsNeverTakeTheLastSharedChannel) {
  ChannelPool pool(2, 2);
  uint32_t mask = 0;
  EXPECT_EQ(pool.AcquireExclusive(kH2c, &mask), kIOReturnSuccess);
  EXPECT_EQ(mask, 0b01u);
  EXPECT_EQ(pool.Exclusive(kH2c), 0b01u);
  EXPECT_EQ(pool.AcquireExclusive(kH2c, &mask), kIOReturnExclusiveAccess);
  EXPECT_EQ(mask, 0u);
  // The shared channel left still serves every client.
  ChannelClient c;
  ChannelWaiter w;
  EXPECT_EQ(pool.Acquire(&w, kH2c, &c, 2), 0b10u);
  pool.Release(kH2c, 0b10, &c);
  // The other direction is independent; given back, a ring channel can be taken again.
  EXPECT_EQ(pool.AcquireExclusive(kC2h, &mask), kIOReturnSuccess);
  pool.Release(kH2c, 0b01);
  EXPECT_EQ(pool.Exclusive(kH2c), 0u);
  EXPECT_EQ(pool.AcquireExclusive(kH2c, &mask), kIOReturnSuccess);
  // A board with one channel per direction has none to give to a ring.
  ChannelPool single(1, 1);
  EXPECT_EQ(single.AcquireExclusive(kH2c, &mask), kIOReturnExclusiveAccess);
  // Every channel in use now: busy, try again.
  ChannelPool busy(3, 3);
  ASSERT_EQ(busy.TryAcquire(kC2h, 3), 0b111u);
  EXPECT_EQ(busy.AcquireExclusive(kC2h, &mask), kIOReturnBusy);
  EXPECT_EQ(busy.AcquireExclusive(kC2h, nullptr), kIOReturnBadArgument);
}

TEST_F(ChannelScheduler, WakesOnlyWhenSomeoneWaits) {
  ChannelPool pool(1, 1);
  FakeSeam seam;
  pool.SetWaitSeam(seam.Seam());
  ChannelClient a;
  ChannelWaiter w1, w2;
  const uint32_t before = pool.Events();
  EXPECT_EQ(pool.Acquire(&w1, kH2c, &a, 1), 0b1u);
  pool.Release(kH2c, 0b1, &a);
  EXPECT_NE(pool.Events(), before);  // a release always changes the word
  EXPECT_EQ(seam.wakes, 0u);         // but the seam is called only for waiters
  EXPECT_EQ(pool.Acquire(&w1, kH2c, &a, 1), 0b1u);
  EXPECT_EQ(pool.Acquire(&w2, kH2c, &a, 1), 0u);
  pool.Release(kH2c, 0b1, &a);
  EXPECT_EQ(seam.wakes, 1u);
  pool.Cancel(&w2);
}

// ---- The planner ------------------------------------------------------------------------------

// Before the fix, the first poll after a release won the channel: a client polling its 8
// queued transfers before another client's one starved it. Now the other client is served at
// the first release after it asked.
TEST_F(ChannelScheduler, ABulkClientCannotStarveAnother) {
  FakeMover mover(2);
  ChannelPool pool(2, 2);
  TransferPlanner planner(mover, pool, platform_);
  ChannelClient bulk, small;
  FakeHost big(64ull << 20), little(4096);
  constexpr int kBulk = 8;
  TransferJob bulkJobs[kBulk];
  for (TransferJob& j : bulkJobs) {
    ASSERT_EQ(planner.Begin(kH2c, 0, big, big.Length(), &j, 0, &bulk), kIOReturnSuccess);
  }
  EXPECT_EQ(bulkJobs[0].state, TransferJob::State::kRunning);  // both channels
  TransferJob smallJob;
  ASSERT_EQ(planner.Begin(kH2c, 0, little, 4096, &smallJob, 0, &small), kIOReturnSuccess);
  EXPECT_EQ(smallJob.state, TransferJob::State::kWaitingForChannel);
  mover.Finish(kH2c, 0);  // one share of the first bulk transfer ends: channel 0 comes free
  // The bulk client polls all of its transfers first, every round.
  for (TransferJob& j : bulkJobs) (void)planner.Poll(&j);
  EXPECT_EQ(planner.Poll(&smallJob), kIOReturnNotReady);
  EXPECT_EQ(smallJob.state, TransferJob::State::kRunning);
  for (int i = 1; i < kBulk; ++i) EXPECT_NE(bulkJobs[i].state, TransferJob::State::kRunning) << i;
  mover.Finish(kH2c, 0);
  EXPECT_EQ(planner.Poll(&smallJob), kIOReturnSuccess);
  // Drain: every bulk transfer ends, and every channel comes back.
  for (int round = 0; round < 100; ++round) {
    mover.Finish(kH2c, 0);
    mover.Finish(kH2c, 1);
    for (TransferJob& j : bulkJobs) (void)planner.Poll(&j);
  }
  for (TransferJob& j : bulkJobs) EXPECT_EQ(j.result, kIOReturnSuccess);
  EXPECT_EQ(pool.TryAcquire(kH2c, 2), 0b11u);
  EXPECT_EQ(bulk.held[0], 0u);
  EXPECT_EQ(small.held[0], 0u);
}

TEST_F(ChannelScheduler, ExecuteSleepsWhileNoChannelIsFree) {
  FakeMover mover(1);
  mover.pollsToFinish = 3;
  ChannelPool pool(1, 1);
  FakeSeam seam;
  pool.SetWaitSeam(seam.Seam());
  TransferPlanner planner(mover, pool, platform_);
  FakeHost host(4096);
  ASSERT_EQ(pool.TryAcquire(kH2c, 1), 0b1u);  // someone else's transfer holds the channel
  uint32_t relaxesWhileWaiting = 0;
  seam.onWait = [&] {
    relaxesWhileWaiting = gRelaxes;
    if (seam.waits == 2) pool.Release(kH2c, 0b1);  // the other transfer ends during the 2nd wait
  };
  ChannelClient me;
  EXPECT_EQ(planner.Execute(kH2c, 0, host, 4096, &me), kIOReturnSuccess);
  EXPECT_EQ(seam.waits, 2u);  // slept twice (the first return had no news), never spun
  EXPECT_EQ(relaxesWhileWaiting, 0u);
  EXPECT_FALSE(seam.wordChangedBeforeWait);  // it slept on the word it had seen
  EXPECT_EQ(seam.lastDeadline, 2'000'000'000ull + 4096ull * 1'000'000'000 / 50'000'000);
  EXPECT_GT(gRelaxes, 0u);  // polling a running share still relaxes (a short pause, no sleep)
  EXPECT_EQ(me.held[0], 0u);
}

TEST_F(ChannelScheduler, AWaitEndsAtTheDeadline) {
  FakeMover mover(1);
  ChannelPool pool(1, 1);
  FakeSeam seam;
  pool.SetWaitSeam(seam.Seam());
  PlannerOptions options;
  options.timeoutBaseNs = 5'000'000;
  TransferPlanner planner(mover, pool, platform_, options);
  FakeHost host(4096);
  ASSERT_EQ(pool.TryAcquire(kC2h, 1), 0b1u);
  seam.onWait = [&] { gNow = seam.lastDeadline + 1; };  // slept until the deadline
  EXPECT_EQ(planner.Execute(kC2h, 0, host, 4096), kIOReturnTimeout);
  EXPECT_EQ(seam.waits, 1u);
  EXPECT_EQ(gRelaxes, 0u);
  EXPECT_EQ(mover.starts.load(), 0u);
  // It left the queue: the next transfer is not stuck behind it.
  pool.Release(kC2h, 0b1);
  ChannelClient other;
  ChannelWaiter w;
  EXPECT_EQ(pool.Acquire(&w, kC2h, &other, 1), 0b1u);
}

TEST_F(ChannelScheduler, WithoutASeamWaitingRelaxesAsBefore) {
  FakeMover mover(1);
  ChannelPool pool(1, 1);
  TransferPlanner planner(mover, pool, platform_);
  FakeHost host(4096);
  ASSERT_EQ(pool.TryAcquire(kH2c, 1), 0b1u);
  gOnRelax = [&] {
    if (gRelaxes == 3) pool.Release(kH2c, 0b1);
    if (gRelaxes == 6) mover.Finish(kH2c, 0);
  };
  EXPECT_EQ(planner.Execute(kH2c, 0, host, 4096), kIOReturnSuccess);
  EXPECT_GE(gRelaxes, 6u);
}

TEST_F(ChannelScheduler, BeginRefusesAJobStillWaiting) {
  FakeMover mover(1);
  ChannelPool pool(1, 1);
  TransferPlanner planner(mover, pool, platform_);
  FakeHost host(4096);
  ASSERT_EQ(pool.TryAcquire(kH2c, 1), 0b1u);
  TransferJob job;
  ASSERT_EQ(planner.Begin(kH2c, 0, host, 4096, &job), kIOReturnSuccess);
  ASSERT_TRUE(job.waiter.queued);
  EXPECT_EQ(planner.Begin(kH2c, 0, host, 4096, &job), kIOReturnBusy);
  planner.Abort(&job, kIOReturnAborted);  // leaves the queue
  EXPECT_FALSE(job.waiter.queued);
  EXPECT_EQ(planner.Poll(&job), kIOReturnAborted);
  EXPECT_EQ(planner.Begin(kH2c, 0, host, 4096, &job), kIOReturnSuccess);
  planner.Abort(&job, kIOReturnAborted);
}

// ---- Cancellation (issue 12 item 6) -----------------------------------------------------------

TEST_F(ChannelScheduler, CancelStopsARunningExecute) {
  FakeMover mover(2);
  ChannelPool pool(2, 2);
  TransferPlanner planner(mover, pool, platform_);
  FakeHost host(64ull << 20);
  TransferCancel cancel;
  gOnRelax = [&] {
    if (gRelaxes == 5) planner.Cancel(&cancel);  // the shares never finish on their own
  };
  ChannelClient me;
  EXPECT_EQ(planner.Execute(kH2c, 0, host, host.Length(), &me, &cancel), kIOReturnAborted);
  EXPECT_EQ(mover.starts.load(), 2u);
  EXPECT_EQ(mover.recovers.load(), 2u);  // both channels stopped before Execute returned
  EXPECT_FALSE(mover.Running(kH2c, 0) || mover.Running(kH2c, 1));
  EXPECT_EQ(pool.TryAcquire(kH2c, 2), 0b11u);  // and given back
  EXPECT_EQ(me.held[0], 0u);
}

TEST_F(ChannelScheduler, CancelWakesAnExecuteAsleepForAChannel) {
  FakeMover mover(1);
  ChannelPool pool(1, 1);
  FakeSeam seam;
  pool.SetWaitSeam(seam.Seam());
  TransferPlanner planner(mover, pool, platform_);
  FakeHost host(4096);
  ASSERT_EQ(pool.TryAcquire(kC2h, 1), 0b1u);
  TransferCancel cancel;
  uint32_t wakesByCancel = 0;
  seam.onWait = [&] {
    const uint32_t before = seam.wakes;
    planner.Cancel(&cancel);  // from "another queue", while it sleeps
    wakesByCancel = seam.wakes - before;
  };
  EXPECT_EQ(planner.Execute(kC2h, 0, host, 4096, nullptr, &cancel), kIOReturnAborted);
  EXPECT_EQ(seam.waits, 1u);
  EXPECT_EQ(wakesByCancel, 1u);  // Cancel woke it
  EXPECT_EQ(mover.starts.load(), 0u);
  // A cancelled client's next transfer does not start.
  EXPECT_EQ(planner.Execute(kC2h, 0, host, 4096, nullptr, &cancel), kIOReturnAborted);
  EXPECT_EQ(mover.starts.load(), 0u);
  ChannelWaiter w;
  ChannelClient other;
  pool.Release(kC2h, 0b1);
  EXPECT_EQ(pool.Acquire(&w, kC2h, &other, 1), 0b1u);  // the cancelled one left the queue
}

// ---- Threads: a seam that really sleeps --------------------------------------------------------

// A condition-variable seam, as the dext's queue seam behaves: no lost wake-up, no timing.
struct SleepingSeam {
  std::mutex lock;
  std::condition_variable changed;
  std::atomic<uint32_t> waits{0};
  std::atomic<uint32_t> unanswered{0};  // waits no change ended: a lost wake-up

  static void Wait(void* context, const std::atomic<uint32_t>* word, uint32_t seen, uint64_t) {
    auto* self = static_cast<SleepingSeam*>(context);
    ++self->waits;
    std::unique_lock guard(self->lock);
    // Bounded so that a lost wake-up fails the test instead of hanging it.
    if (!self->changed.wait_for(guard, std::chrono::seconds(60),
                                [&] { return word->load() != seen; })) {
      ++self->unanswered;
    }
  }
  static void Wake(void* context, const std::atomic<uint32_t>*) {
    auto* self = static_cast<SleepingSeam*>(context);
    std::lock_guard guard(self->lock);
    self->changed.notify_all();
  }
};

uint64_t SteadyNow() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}
void Yield() {
  std::this_thread::yield();
}

TEST(ChannelSchedulerThreads, ManyClientsSleepingAndWaking) {
  FakeMover mover(2);
  mover.pollsToFinish = 4;
  ChannelPool pool(2, 2);
  SleepingSeam seam;
  ChannelWaitSeam s;
  s.context = &seam;
  s.wait = SleepingSeam::Wait;
  s.wake = SleepingSeam::Wake;
  pool.SetWaitSeam(s);
  PlannerOptions options;
  options.timeoutBaseNs = 600'000'000'000ull;  // never: a timeout would be a lost wake-up
  TransferPlanner planner(mover, pool, Platform{SteadyNow, Yield}, options);
  constexpr int kClients = 6;
  ChannelClient clients[kClients];
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      FakeHost host(t % 2 ? (8ull << 20) : 4096);
      for (int i = 0; i < 200; ++i) {
        if (planner.Execute(t % 3 ? kH2c : kC2h, 0, host, host.Length(), &clients[t]) !=
            kIOReturnSuccess) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(seam.unanswered.load(), 0u);
  EXPECT_EQ(pool.TryAcquire(kH2c, 2), 0b11u);
  EXPECT_EQ(pool.TryAcquire(kC2h, 2), 0b11u);
  for (const ChannelClient& c : clients)
    EXPECT_EQ(c.held[0] + c.held[1] + c.queued[0] + c.queued[1], 0u);
}

}  // namespace
}  // namespace fpgadext::engine::test
