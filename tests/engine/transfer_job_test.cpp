// The transfer planner's state machine on its own: Begin / Poll / Abort against models/xdma,
// and Execute (Begin + Poll until done) on a clock the test moves, so a hang times out in a few
// simulated milliseconds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine_harness.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
using State = TransferJob::State;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

xdma::Direction X(Direction d) {
  return d == kH2c ? xdma::Direction::kH2c : xdma::Direction::kC2h;
}

DmaAccess AccessFor(Direction d) {
  return d == kH2c ? DmaAccess::kDeviceRead : DmaAccess::kDeviceWrite;
}

// Polls the job until it is done, yielding in between; gives up (and fails) after 20 s.
IOReturn PollToEnd(TransferPlanner& planner, TransferJob* job) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  IOReturn r;
  while ((r = planner.Poll(job)) == kIOReturnNotReady) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "job still running after 20 s";
      return r;
    }
    std::this_thread::yield();
  }
  return r;
}

// Every channel of `d` is back in the pool.
void ExpectAllChannelsFree(Bench& b, Direction d) {
  const uint32_t all = (1u << b.pool->Count(d)) - 1;
  const uint32_t mask = b.pool->TryAcquire(d, 4);
  EXPECT_EQ(mask, all);
  b.pool->Release(d, mask);
}

// A clock only the test moves: each relax() is one millisecond later. Deadlines are then decided
// by how often the engine and the planner relaxed, not by how busy the machine is.
std::atomic<uint64_t> gManualNowNs{1'000'000'000};
std::atomic<uint64_t> gRelaxCount{0};
constexpr uint64_t kRelaxStepNs = 1'000'000;
Platform ManualClock() {
  return Platform{
      [] { return gManualNowNs.load(); },
      [] {
        gManualNowNs.fetch_add(kRelaxStepNs);
        gRelaxCount.fetch_add(1);
        std::this_thread::yield();
      },
  };
}

TEST(TransferJob, BeginThenPollMovesEveryByte) {
  BenchOptions o;
  o.planner.parallelThreshold = 1u << 20;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  struct Case {
    uint64_t size, card;
    uint32_t shares;  // 1 below the parallel threshold, else one per channel
  };
  for (const Case& c : {Case{1, 0, 1}, Case{4096, 0x1000, 1}, Case{70'001, 0x9003, 1},
                        Case{(3u << 20) + 5, 0x10'0001, 2}}) {
    for (Direction d : {kH2c, kC2h}) {
      SCOPED_TRACE(testing::Message() << (d == kH2c ? "H2C " : "C2H ") << c.size);
      HostBytes host(c.size, 5);
      uint8_t* cardMem = b.model.cardMemory().data();
      FillPattern(d == kH2c ? host.data() : cardMem + c.card, c.size, 7);
      IommuHostMemory memory(b.iommu, host.data(), c.size, AccessFor(d), 2, 4096);
      TransferJob job;
      ASSERT_EQ(b.planner->Begin(d, c.card, memory, c.size, &job), kIOReturnSuccess);
      EXPECT_EQ(job.state, State::kRunning);  // a channel was free: started at once
      EXPECT_EQ(job.shareCount, c.shares);
      EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);
      EXPECT_EQ(job.state, State::kDone);
      EXPECT_EQ(job.done, c.size);
      uint64_t sum = 0;
      for (uint32_t i = 0; i < job.shareCount; ++i) {
        sum += job.shares[i].length;
        if (i + 1 < job.shareCount) EXPECT_EQ(job.shares[i].length % 4096, 0u);
      }
      EXPECT_EQ(sum, c.size);
      EXPECT_EQ(FirstMismatch(host.data(), cardMem + c.card, c.size), -1);
      EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);  // a done job stays done
      EXPECT_EQ(memory.Outstanding(), 0u);
      ExpectAllChannelsFree(b, d);
    }
  }
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// What Execute refuses, Begin refuses at once: nothing started, no channel taken.
TEST(TransferJob, BeginRefusesWhatExecuteRefuses) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const uint64_t cardSize = b.engine->Limits().cardMemorySize;
  HostBytes host(8192, 0);
  IommuHostMemory memory(b.iommu, host.data(), 8192, DmaAccess::kDeviceReadWrite);
  IommuHostMemory noSlots(b.iommu, host.data(), 8192, DmaAccess::kDeviceReadWrite, 0);
  struct Case {
    uint64_t card, length;
    HostMemory* host;
    IOReturn expected;
  };
  const Case cases[] = {
      {cardSize - 10, 11, &memory, kIOReturnOverrun},
      {cardSize, 1, &memory, kIOReturnOverrun},
      {~uint64_t{0} - 5, 100, &memory, kIOReturnBadArgument},  // wraps around
      {0, 8193, &memory, kIOReturnBadArgument},                // longer than the host memory
      {0, 16, &noSlots, kIOReturnBadArgument},                 // no window slot
  };
  for (Direction d : {kH2c, kC2h}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(testing::Message() << c.card << "+" << c.length);
      TransferJob job;
      EXPECT_EQ(b.planner->Begin(d, c.card, *c.host, c.length, &job), c.expected);
      EXPECT_EQ(job.state, State::kIdle);
      EXPECT_EQ(b.planner->Poll(&job), kIOReturnNotOpen);
      EXPECT_EQ(b.planner->Execute(d, c.card, *c.host, c.length), c.expected);
      ExpectAllChannelsFree(b, d);
    }
    EXPECT_EQ(b.planner->Begin(d, 0, memory, 16, nullptr), kIOReturnBadArgument);
  }
  EXPECT_EQ(b.planner->Poll(nullptr), kIOReturnBadArgument);
  EXPECT_EQ(b.ModelBytes(kH2c) + b.ModelBytes(kC2h), 0u);
}

TEST(TransferJob, ZeroBytesAreDoneAtOnce) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  HostBytes host(16, 0);
  IommuHostMemory memory(b.iommu, host.data(), 16, DmaAccess::kDeviceReadWrite);
  TransferJob job;
  ASSERT_EQ(b.planner->Begin(kH2c, 0x100, memory, 0, &job), kIOReturnSuccess);
  EXPECT_EQ(job.state, State::kDone);
  EXPECT_EQ(b.planner->Poll(&job), kIOReturnSuccess);
  EXPECT_EQ(job.done, 0u);
  ExpectAllChannelsFree(b, kH2c);
}

// No free channel: the job waits (nothing touches the engine) and starts on the next Poll after
// one is given back.
TEST(TransferJob, WaitsForAFreeChannelThenStarts) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    const uint32_t all = b.pool->TryAcquire(d, 4);
    ASSERT_NE(all, 0u);
    HostBytes host(20'000, 0);
    IommuHostMemory memory(b.iommu, host.data(), host.size(), AccessFor(d));
    TransferJob job;
    ASSERT_EQ(b.planner->Begin(d, 0, memory, host.size(), &job), kIOReturnSuccess);
    EXPECT_EQ(job.state, State::kWaitingForChannel);
    EXPECT_EQ(b.planner->Poll(&job), kIOReturnNotReady);
    EXPECT_EQ(job.state, State::kWaitingForChannel);
    EXPECT_EQ(memory.windowsPrepared(), 0u);
    b.pool->Release(d, all);
    EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);
    EXPECT_EQ(job.done, host.size());
    ExpectAllChannelsFree(b, d);
  }
}

// Waiting past the deadline: kIOReturnTimeout, nothing started (the clock is the test's).
TEST(TransferJob, WaitingPastTheDeadlineTimesOutWithNothingStarted) {
  BenchOptions o;
  o.platform = ManualClock();
  o.planner.timeoutBaseNs = 5 * kRelaxStepNs;
  o.planner.minimumBytesPerSecond = ~uint64_t{0};  // the base alone
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const uint32_t all = b.pool->TryAcquire(kC2h, 4);
  HostBytes host(4096, 0);
  IommuHostMemory memory(b.iommu, host.data(), host.size(), DmaAccess::kDeviceWrite);
  TransferJob job;
  ASSERT_EQ(b.planner->Begin(kC2h, 0, memory, host.size(), &job), kIOReturnSuccess);
  EXPECT_EQ(b.planner->Poll(&job), kIOReturnNotReady);
  gManualNowNs.fetch_add(5 * kRelaxStepNs);  // exactly the deadline: still waiting
  EXPECT_EQ(b.planner->Poll(&job), kIOReturnNotReady);
  gManualNowNs.fetch_add(1);
  EXPECT_EQ(b.planner->Poll(&job), kIOReturnTimeout);
  EXPECT_EQ(job.state, State::kDone);
  EXPECT_EQ(job.shareCount, 0u);
  EXPECT_EQ(memory.windowsPrepared(), 0u);
  b.pool->Release(kC2h, all);
  ExpectAllChannelsFree(b, kC2h);
  // The same through Execute: it relaxes until the deadline, then gives up.
  const uint32_t again = b.pool->TryAcquire(kC2h, 4);
  gRelaxCount = 0;
  EXPECT_EQ(b.planner->Execute(kC2h, 0, memory, host.size()), kIOReturnTimeout);
  EXPECT_EQ(gRelaxCount.load(), 6u);  // 5 ms of 1 ms relaxes, and one more to pass it
  b.pool->Release(kC2h, again);
}

// A running job stopped by its owner on a hung card: the job is done with the reason it was
// given and no longer uses the host memory object. If the engine had taken up the descriptor it
// does not stop: the window stays mapped (the engine holds it) and the channel is quarantined,
// not given back; when the card resumes, the stuck chunk lands in that window, and the next
// acquire finds the channel idle, unmaps the window and takes the channel again. (If the abort
// came before the engine fetched the descriptor, it stops at once and all is given back.)
TEST(TransferJob, AbortStopsARunningJob) {
  BenchOptions o;
  o.stopTimeoutNs = 5'000'000;  // Recover of the hung channel gives up after 5 ms
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  const size_t baseline = b.iommu.LiveMappings();
  int quarantinedRuns = 0;
  for (Direction d : {kH2c, kC2h, kH2c, kC2h}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    b.model.InjectHang(X(d), 0);
    HostBytes host(65536, 0);
    IommuHostMemory memory(b.iommu, host.data(), host.size(), AccessFor(d), 1);
    TransferJob job;
    const uint64_t wakeBefore = b.model.counters().wakeNs;
    ASSERT_EQ(b.planner->Begin(d, 0, memory, host.size(), &job), kIOReturnSuccess);
    ASSERT_EQ(job.state, State::kRunning);
    EXPECT_EQ(b.planner->Poll(&job), kIOReturnNotReady);
    EXPECT_EQ(memory.Outstanding(), 1u);
    // Let the engine take the job up (its pick-up adds to wakeNs); then it hangs in the data.
    const auto pickup = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (b.model.counters().wakeNs == wakeBefore) {
      ASSERT_LT(std::chrono::steady_clock::now(), pickup);
      std::this_thread::yield();
    }
    b.planner->Abort(&job, kIOReturnAborted);
    EXPECT_EQ(job.state, State::kDone);
    EXPECT_EQ(b.planner->Poll(&job), kIOReturnAborted);
    EXPECT_EQ(memory.Outstanding(), 0u);       // no longer the memory object's in any case
    b.planner->Abort(&job, kIOReturnIOError);  // a done job keeps its result
    EXPECT_EQ(job.result, kIOReturnAborted);
    if (job.quarantined == 0) {  // stopped before the data: nothing kept
      EXPECT_EQ(memory.handedOver(), 0u);
      EXPECT_EQ(b.iommu.LiveMappings(), baseline);
      ExpectAllChannelsFree(b, d);
      b.model.ClearFaults();
      continue;
    }
    ++quarantinedRuns;
    EXPECT_EQ(job.quarantined, 1u);
    EXPECT_EQ(memory.handedOver(), 1u);  // the engine keeps the window
    EXPECT_GT(b.iommu.LiveMappings(), baseline);
    EXPECT_EQ(b.pool->Quarantined(d), 1u);
    const uint32_t free = b.pool->TryAcquire(d, 4);
    EXPECT_EQ(free, 2u);  // channel 0 is not handed out
    // The card wakes up and finishes into the kept window. A job that finds no free channel
    // (channel 1 held here) looks at the quarantined one, which is idle once the chunk is done.
    b.model.ClearFaults();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      ASSERT_EQ(b.planner->Begin(d, 0, memory, host.size(), &job), kIOReturnSuccess);
      if (job.state == State::kWaitingForChannel) b.planner->Abort(&job, kIOReturnAborted);
    } while (job.state != State::kRunning);
    EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);
    EXPECT_EQ(job.shares[0].channel, 0u);
    b.pool->Release(d, free);
    ExpectAllChannelsFree(b, d);
    EXPECT_EQ(b.iommu.LiveMappings(), baseline);
  }
  RecordProperty("quarantinedRuns", quarantinedRuns);
  TransferJob never;
  b.planner->Abort(&never, kIOReturnAborted);  // never begun: stays idle
  EXPECT_EQ(never.state, State::kIdle);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// A caller's own channel (a ring's): the job runs on it and never takes from or gives back to
// the pool.
TEST(TransferJob, OwnedChannelsStayWithTheCaller) {
  BenchOptions o;
  o.planner.parallelThreshold = 1u << 20;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    const uint32_t own = b.pool->TryAcquire(d, 1);
    ASSERT_EQ(own, 1u);
    HostBytes host(2u << 20, 0);
    IommuHostMemory memory(b.iommu, host.data(), host.size(), AccessFor(d), 2);
    TransferJob job;
    ASSERT_EQ(b.planner->Begin(d, 0, memory, host.size(), &job, own), kIOReturnSuccess);
    ASSERT_EQ(job.shareCount, 1u);  // one owned channel, however long the transfer
    EXPECT_EQ(job.shares[0].channel, 0u);
    EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);
    EXPECT_EQ(job.done, host.size());
    // Channel 0 is still the caller's: the pool has only channel 1 to give.
    const uint32_t rest = b.pool->TryAcquire(d, 4);
    EXPECT_EQ(rest, 2u);
    b.pool->Release(d, rest | own);
  }
}

// An engine error ends the job with the bytes known to have moved; the channel is recovered and
// given back.
TEST(TransferJob, EngineErrorEndsTheJobWithTheBytesDone) {
  Bench b;
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    const uint64_t size = 1u << 20, failAt = 100'000;
    HostBytes host(size, 0);
    IommuHostMemory memory(b.iommu, host.data(), size, AccessFor(d), 1, 4096);
    b.model.InjectErrorAfterBytes(X(d), 0, failAt);
    TransferJob job;
    ASSERT_EQ(b.planner->Begin(d, 0, memory, size, &job), kIOReturnSuccess);
    EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnIOError);
    EXPECT_LE(job.done, failAt);
    EXPECT_GT(job.done, failAt - 4096);  // whole descriptors of at most 4 KiB
    EXPECT_EQ(memory.Outstanding(), 0u);
    ExpectAllChannelsFree(b, d);
    ASSERT_EQ(b.planner->Begin(d, 0, memory, size, &job), kIOReturnSuccess);
    EXPECT_EQ(PollToEnd(*b.planner, &job), kIOReturnSuccess);  // recovered by the planner
  }
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// The hang test on an injected clock: Execute gives up after the planner's timeout and the
// engine's stop timeout, counted in relaxes (no real waiting); the channel is quarantined with
// its window kept until the card resumes and a later acquire finds it idle.
TEST(TransferPlannerTimeouts, HangTimesOutOnAnInjectedClock) {
  BenchOptions o;
  o.platform = ManualClock();
  o.planner.timeoutBaseNs = 5 * kRelaxStepNs;
  o.planner.minimumBytesPerSecond = ~uint64_t{0};  // the base alone
  o.stopTimeoutNs = 2 * kRelaxStepNs;
  Bench b(o);
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    SCOPED_TRACE(d == kH2c ? "H2C" : "C2H");
    b.model.InjectHang(X(d), 0);
    HostBytes host(65536, 0);
    IommuHostMemory memory(b.iommu, host.data(), host.size(), AccessFor(d), 1);
    gRelaxCount = 0;
    EXPECT_EQ(b.planner->Execute(d, 0, memory, host.size()), kIOReturnTimeout);
    // Polls relax until the deadline has passed (6), Recover waits its stop timeout (3).
    EXPECT_EQ(gRelaxCount.load(), 9u);
    EXPECT_EQ(memory.handedOver(), 1u);  // the window stays mapped, held by the engine
    EXPECT_EQ(b.engine->Start(d, 0, 0, memory, 0, 0, 16), kIOReturnBusy);  // still hung
    EXPECT_EQ(b.pool->Quarantined(d), 1u);
    b.model.ClearFaults();
    // A good transfer, with a deadline no machine reaches in simulated time (each relax is a
    // simulated millisecond; a slow build may poll thousands of times). Channel 1 is held, so
    // it waits for channel 0, looking at it on each acquire until the resumed card is done.
    const uint32_t other = b.pool->TryAcquire(d, 4);
    EXPECT_EQ(other, 2u);
    TransferPlanner patient(*b.engine, *b.pool, b.platform,
                            PlannerOptions{.timeoutBaseNs = ~uint64_t{0} / 2});
    EXPECT_EQ(patient.Execute(d, 0, memory, host.size()), kIOReturnSuccess);
    b.pool->Release(d, other);
    ExpectAllChannelsFree(b, d);
  }
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

}  // namespace
}  // namespace fpgadext::engine::test
