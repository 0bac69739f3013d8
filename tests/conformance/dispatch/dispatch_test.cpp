// Rules of the DriverKit dispatch sources a dext uses beside interrupts (docs: dispatch rules):
// IOTimerDispatchSource fires once per WakeAtTime, on its queue, and never after Cancel;
// IODataQueueDispatchSource keeps entry order, reports a full queue with kIOReturnOverrun and
// notifies DataAvailable / DataServiced as xnu's shared implementation does; OSAction's
// WillWait/Wait/EndWait wait for an invocation, also from the queue the invocation is due on.
#include <DriverKit/IODataQueueDispatchSource.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOServiceNotificationDispatchSource.h>
#include <DriverKit/IOTimerDispatchSource.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "DispatchTarget.h"
#include "dispatch_events.h"

namespace {

constexpr uint64_t kTicksPerMs = 24'000;  // mach_absolute_time() runs at 24 MHz (IOLib.h)

template <class Predicate>
bool WaitUntil(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Lets a wrong, late event happen before a negative assertion.
void Settle(int ms = 40) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

class DispatchRules : public ::testing::Test {
 protected:
  void SetUp() override {
    gDispatchEvents.timerCalls = 0;
    gDispatchEvents.timerOffQueue = 0;
    gDispatchEvents.dataAvailable = 0;
    gDispatchEvents.dataServiced = 0;
    gDispatchEvents.handlerDelayMs = 0;
    gDispatchEvents.timerRunning = false;
    gDispatchEvents.timerTime = 0;
    ASSERT_EQ(IODispatchQueue::Create("dispatch-test", 0, 0, &queue_), kIOReturnSuccess);
    gDispatchEvents.queue = queue_;
    target_ = OSTypeAlloc(DispatchTarget);
    ASSERT_NE(target_, nullptr);
    ASSERT_TRUE(target_->init());
  }
  void TearDown() override {
    if (timer_ != nullptr) timer_->Cancel(nullptr);
    OSSafeReleaseNULL(timer_);
    OSSafeReleaseNULL(data_);
    OSSafeReleaseNULL(timerAction_);
    OSSafeReleaseNULL(availableAction_);
    OSSafeReleaseNULL(servicedAction_);
    OSSafeReleaseNULL(target_);
    gDispatchEvents.queue = nullptr;
    OSSafeReleaseNULL(queue_);
  }
  void MakeTimer() {
    ASSERT_EQ(IOTimerDispatchSource::Create(queue_, &timer_), kIOReturnSuccess);
    ASSERT_EQ(target_->CreateActionTimerOccurred(0, &timerAction_), kIOReturnSuccess);
    ASSERT_EQ(timer_->SetHandler(timerAction_), kIOReturnSuccess);
  }
  void MakeDataQueue(uint64_t bytes) {
    ASSERT_EQ(IODataQueueDispatchSource::Create(bytes, queue_, &data_), kIOReturnSuccess);
    ASSERT_EQ(target_->CreateActionDataAvailable(0, &availableAction_), kIOReturnSuccess);
    ASSERT_EQ(target_->CreateActionDataServiced(0, &servicedAction_), kIOReturnSuccess);
  }
  IOReturn Enqueue(uint32_t size, uint8_t fill) {
    return data_->Enqueue(size, ^(void* data, size_t dataSize) {
      memset(data, fill, dataSize);
    });
  }
  // Dequeues one entry; its size and first byte in *size / *first.
  IOReturn Dequeue(size_t* size, uint8_t* first) {
    __block size_t gotSize = 0;
    __block uint8_t gotFirst = 0;
    IOReturn ret = data_->Dequeue(^(const void* data, size_t dataSize) {
      gotSize = dataSize;
      gotFirst = dataSize ? static_cast<const uint8_t*>(data)[0] : 0;
    });
    *size = gotSize;
    *first = gotFirst;
    return ret;
  }

  IODispatchQueue* queue_ = nullptr;
  DispatchTarget* target_ = nullptr;
  IOTimerDispatchSource* timer_ = nullptr;
  IODataQueueDispatchSource* data_ = nullptr;
  OSAction* timerAction_ = nullptr;
  OSAction* availableAction_ = nullptr;
  OSAction* servicedAction_ = nullptr;
};

// ---- IOTimerDispatchSource ----

TEST_F(DispatchRules, TimerFiresOncePerWakeAtTimeOnItsQueue) {
  MakeTimer();
  const uint64_t deadline = mach_absolute_time() + 5 * kTicksPerMs;
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, deadline, 0), kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([] { return gDispatchEvents.timerCalls == 1; }));
  EXPECT_GE(gDispatchEvents.timerTime.load(), deadline);
  EXPECT_EQ(gDispatchEvents.timerOffQueue, 0u);
  Settle();
  EXPECT_EQ(gDispatchEvents.timerCalls, 1u);  // one firing per WakeAtTime
  // Armed again, it fires again (nanosecond timebase this time).
  const uint64_t nowNs = mach_absolute_time() * 125 / 3;
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockUptimeRaw, nowNs + 2'000'000, 0), kIOReturnSuccess);
  EXPECT_TRUE(WaitUntil([] { return gDispatchEvents.timerCalls == 2; }));
}

TEST_F(DispatchRules, TimerWakeAtTimeReplacesAnUnfiredDeadline) {
  MakeTimer();
  const uint64_t now = mach_absolute_time();
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, now + 60'000 * kTicksPerMs, 0),
            kIOReturnSuccess);
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, now + 3 * kTicksPerMs, 0),
            kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([] { return gDispatchEvents.timerCalls == 1; }));
  Settle();
  EXPECT_EQ(gDispatchEvents.timerCalls, 1u);
}

TEST_F(DispatchRules, TimerDoesNotFireAfterCancel) {
  MakeTimer();
  ASSERT_EQ(
      timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time() + 20 * kTicksPerMs, 0),
      kIOReturnSuccess);
  std::atomic<bool> cancelled{false};
  std::atomic<bool>* cancelledP = &cancelled;
  ASSERT_EQ(timer_->Cancel(^{
    *cancelledP = true;
  }),
            kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([&] { return cancelled.load(); }));
  Settle(60);  // past the deadline
  EXPECT_EQ(gDispatchEvents.timerCalls, 0u);
  EXPECT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time(), 0),
            kIOReturnUnsupported);
  EXPECT_EQ(timer_->SetEnable(true), kIOReturnUnsupported);
}

TEST_F(DispatchRules, TimerDeliveryAlreadyQueuedIsDroppedByCancel) {
  MakeTimer();
  // Hold the queue so that the firing is queued behind this block, then cancel.
  std::atomic<bool> release{false};
  std::atomic<bool>* releaseP = &release;
  queue_->DispatchAsync(^{
    WaitUntil([releaseP] { return releaseP->load(); });
  });
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time(), 0),
            kIOReturnSuccess);
  Settle();  // the timer thread queues the delivery
  ASSERT_EQ(timer_->Cancel(nullptr), kIOReturnSuccess);
  release = true;
  std::atomic<bool> drained{false};
  std::atomic<bool>* drainedP = &drained;
  queue_->DispatchAsync(^{
    *drainedP = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return drained.load(); }));
  EXPECT_EQ(gDispatchEvents.timerCalls, 0u);
}

TEST_F(DispatchRules, TimerSetEnableWithCompletionHoldsAFiringUntilEnabled) {
  MakeTimer();
  ASSERT_EQ(timer_->SetEnable(false), kIOReturnSuccess);
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time(), 0),
            kIOReturnSuccess);
  Settle();
  EXPECT_EQ(gDispatchEvents.timerCalls, 0u);
  std::atomic<bool> completed{false};
  std::atomic<bool>* completedP = &completed;
  ASSERT_EQ(timer_->SetEnableWithCompletion(true,
                                            ^{
                                              *completedP = true;
                                            }),
            kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([&] { return completed.load(); }));
  EXPECT_TRUE(WaitUntil([] { return gDispatchEvents.timerCalls == 1; }));
}

TEST_F(DispatchRules, TimerRefusesAnUnknownClockAndAnotherTypesAction) {
  MakeTimer();
  EXPECT_EQ(timer_->WakeAtTime(0x1234, mach_absolute_time(), 0), kIOReturnBadArgument);
  EXPECT_EQ(timer_->SetHandler(nullptr), kIOReturnBadArgument);
  OSAction* other = nullptr;
  ASSERT_EQ(target_->CreateActionDataAvailable(0, &other), kIOReturnSuccess);
  EXPECT_EQ(timer_->SetHandler(other), kIOReturnBadArgument);
  other->release();
}

// ---- IODataQueueDispatchSource ----

TEST_F(DispatchRules, DataQueueSizeIsAMultipleOf4) {
  IODataQueueDispatchSource* source = nullptr;
  EXPECT_EQ(IODataQueueDispatchSource::Create(6, queue_, &source), kIOReturnBadArgument);
  EXPECT_EQ(source, nullptr);
  EXPECT_EQ(IODataQueueDispatchSource::GetDataQueueEntryHeaderSize(), 4u);
}

TEST_F(DispatchRules, DataQueueDequeuesInEnqueueOrderAcrossTheWrap) {
  MakeDataQueue(64);
  size_t size;
  uint8_t first;
  EXPECT_EQ(Dequeue(&size, &first), kIOReturnUnderrun);
  EXPECT_FALSE(data_->IsDataAvailable());
  // Entries take 4 + size rounded up to 4 bytes. Three rounds of three push the tail around
  // the 64-byte area.
  uint8_t next = 1, expect = 1;
  for (int round = 0; round < 3; ++round) {
    for (uint32_t s : {5u, 13u, 1u}) ASSERT_EQ(Enqueue(s, next++), kIOReturnSuccess);
    EXPECT_TRUE(data_->IsDataAvailable());
    __block size_t peeked = 0;
    EXPECT_EQ(data_->Peek(^(const void*, size_t dataSize) {
      peeked = dataSize;
    }),
              kIOReturnSuccess);
    EXPECT_EQ(peeked, 5u);  // Peek leaves the entry in place
    for (uint32_t s : {5u, 13u, 1u}) {
      ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
      EXPECT_EQ(size, s);
      EXPECT_EQ(first, expect++);
    }
    EXPECT_EQ(Dequeue(&size, &first), kIOReturnUnderrun);
  }
}

TEST_F(DispatchRules, DataQueueFullEnqueueIsOverrun) {
  MakeDataQueue(64);
  // 16-byte entries: four fill the area exactly (the tail may reach the end while the head is
  // at 0), a fifth would make the tail catch up with the head.
  for (uint8_t i = 0; i < 4; ++i) ASSERT_EQ(Enqueue(12, i), kIOReturnSuccess);
  EXPECT_EQ(data_->CanEnqueueData(12), kIOReturnOverrun);
  EXPECT_EQ(Enqueue(12, 9), kIOReturnOverrun);
  EXPECT_EQ(Enqueue(1000, 9), kIOReturnOverrun);
  size_t size;
  uint8_t first;
  ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
  EXPECT_EQ(first, 0u);
  // One entry free at the start, but the tail may not reach the head.
  EXPECT_EQ(data_->CanEnqueueData(12), kIOReturnOverrun);
  EXPECT_EQ(Enqueue(12, 9), kIOReturnOverrun);
  ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
  EXPECT_EQ(data_->CanEnqueueData(12), kIOReturnSuccess);
  EXPECT_EQ(Enqueue(12, 4), kIOReturnSuccess);
  for (uint8_t want : {2, 3, 4}) {
    ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
    EXPECT_EQ(first, want);
  }
}

TEST_F(DispatchRules, DataQueueDataAvailableWhenTheQueueStopsBeingEmpty) {
  MakeDataQueue(256);
  ASSERT_EQ(data_->SetDataAvailableHandler(availableAction_), kIOReturnSuccess);
  Settle();
  EXPECT_EQ(gDispatchEvents.dataAvailable, 0u);  // empty: nothing to tell
  ASSERT_EQ(Enqueue(8, 1), kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([] { return gDispatchEvents.dataAvailable == 1; }));
  ASSERT_EQ(Enqueue(8, 2), kIOReturnSuccess);  // not empty before: no notification
  Settle();
  EXPECT_EQ(gDispatchEvents.dataAvailable, 1u);
  // A handler set while data waits is told at once.
  OSAction* again = nullptr;
  ASSERT_EQ(target_->CreateActionDataAvailable(0, &again), kIOReturnSuccess);
  ASSERT_EQ(data_->SetDataAvailableHandler(again), kIOReturnSuccess);
  again->release();
  EXPECT_TRUE(WaitUntil([] { return gDispatchEvents.dataAvailable == 2; }));
}

TEST_F(DispatchRules, DataQueueDataServicedAfterAFullEnqueue) {
  MakeDataQueue(32);
  ASSERT_EQ(data_->SetDataServicedHandler(servicedAction_), kIOReturnSuccess);
  ASSERT_EQ(Enqueue(12, 1), kIOReturnSuccess);
  size_t size;
  uint8_t first;
  ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
  Settle();
  EXPECT_EQ(gDispatchEvents.dataServiced, 0u);  // no producer waits
  ASSERT_EQ(Enqueue(12, 2), kIOReturnSuccess);
  ASSERT_EQ(Enqueue(12, 3), kIOReturnOverrun);
  ASSERT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
  EXPECT_TRUE(WaitUntil([] { return gDispatchEvents.dataServiced == 1; }));
}

TEST_F(DispatchRules, DataQueueHandlersMustBeOfTheirType) {
  MakeDataQueue(64);
  EXPECT_EQ(data_->SetDataAvailableHandler(servicedAction_), kIOReturnBadArgument);
  EXPECT_EQ(data_->SetDataServicedHandler(availableAction_), kIOReturnBadArgument);
}

TEST_F(DispatchRules, DataQueueCancelRunsItsHandlerAtOnceAndStopsNothing) {
  MakeDataQueue(64);
  __block bool ran = false;
  ASSERT_EQ(data_->Cancel(^{
    ran = true;
  }),
            kIOReturnSuccess);
  EXPECT_TRUE(ran);  // in the caller's thread, before Cancel returns (xnu's shared code)
  EXPECT_EQ(Enqueue(4, 7), kIOReturnSuccess);
  size_t size;
  uint8_t first;
  EXPECT_EQ(Dequeue(&size, &first), kIOReturnSuccess);
  EXPECT_EQ(first, 7u);
}

TEST_F(DispatchRules, ServiceNotificationSourceIsNotEmulated) {
  IOServiceNotificationDispatchSource* source = nullptr;
  EXPECT_EQ(IOServiceNotificationDispatchSource::Create(nullptr, 0, queue_, &source),
            kIOReturnUnsupported);
  EXPECT_EQ(source, nullptr);
}

// ---- OSAction WillWait / Wait / EndWait ----

TEST_F(DispatchRules, OSActionWaitReturnsWhenTheInvocationCompleted) {
  MakeTimer();
  gDispatchEvents.handlerDelayMs = 20;  // a Wait that returned at the start would see 0 calls
  OSActionWaitToken* token = nullptr;
  ASSERT_EQ(timerAction_->WillWait(&token), kIOReturnSuccess);
  OSActionWaitToken* second = nullptr;
  EXPECT_NE(timerAction_->WillWait(&second), kIOReturnSuccess);  // one waiter per action
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time(), 0),
            kIOReturnSuccess);
  const uint64_t deadline = mach_absolute_time() + 5000 * kTicksPerMs;
  EXPECT_EQ(timerAction_->Wait(token, kIOTimerClockMachAbsoluteTime, deadline), kIOReturnSuccess);
  EXPECT_EQ(gDispatchEvents.timerCalls, 1u);
  EXPECT_EQ(timerAction_->EndWait(token), kIOReturnSuccess);
  EXPECT_EQ(timerAction_->WillWait(&token), kIOReturnSuccess);  // free again after EndWait
  EXPECT_EQ(timerAction_->EndWait(token), kIOReturnSuccess);
}

TEST_F(DispatchRules, OSActionWaitOnTheInvocationsQueueRunsIt) {
  MakeTimer();
  // A handler on the queue waits for a timer whose TimerOccurred is due on that same queue.
  __block IOReturn waited = kIOReturnError;
  __block uint64_t callsSeen = 0;
  std::atomic<bool> done{false};
  std::atomic<bool>* doneP = &done;
  OSAction* action = timerAction_;
  IOTimerDispatchSource* timer = timer_;
  queue_->DispatchAsync(^{
    OSActionWaitToken* token = nullptr;
    if (action->WillWait(&token) != kIOReturnSuccess) return;
    timer->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time() + kTicksPerMs, 0);
    waited = action->Wait(token, kIOTimerClockMachAbsoluteTime,
                          mach_absolute_time() + 5000 * kTicksPerMs);
    callsSeen = gDispatchEvents.timerCalls;
    action->EndWait(token);
    *doneP = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return done.load(); }, std::chrono::seconds(10)));
  EXPECT_EQ(waited, kIOReturnSuccess);
  EXPECT_EQ(callsSeen, 1u);
  EXPECT_EQ(gDispatchEvents.timerOffQueue, 0u);  // it ran in the thread holding the queue
}

TEST_F(DispatchRules, OSActionWaitTimesOutAndIsAbortedByCancel) {
  MakeTimer();
  OSActionWaitToken* token = nullptr;
  ASSERT_EQ(timerAction_->WillWait(&token), kIOReturnSuccess);
  EXPECT_EQ(timerAction_->Wait(token, kIOTimerClockMachAbsoluteTime,
                               mach_absolute_time() + 10 * kTicksPerMs),
            kIOReturnTimeout);
  std::thread canceller([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    timerAction_->Cancel(nullptr);
  });
  EXPECT_EQ(timerAction_->Wait(token, 0, 0), kIOReturnAborted);
  canceller.join();
  EXPECT_EQ(timerAction_->EndWait(token), kIOReturnSuccess);
}

TEST_F(DispatchRules, OSActionCancelHandlerRunsAfterTheRunningInvocation) {
  MakeTimer();
  gDispatchEvents.handlerDelayMs = 30;
  ASSERT_EQ(timer_->WakeAtTime(kIOTimerClockMachAbsoluteTime, mach_absolute_time(), 0),
            kIOReturnSuccess);
  // Cancel while TimerOccurred runs: the cancel handler waits for it to return.
  ASSERT_TRUE(WaitUntil([] { return gDispatchEvents.timerRunning.load(); }));
  std::atomic<uint64_t> callsAtCancel{~0ull};
  std::atomic<uint64_t>* callsAtCancelP = &callsAtCancel;
  std::atomic<bool> cancelled{false};
  std::atomic<bool>* cancelledP = &cancelled;
  EXPECT_EQ(timerAction_->Cancel(^{
    *callsAtCancelP = gDispatchEvents.timerCalls.load();
    *cancelledP = true;
  }),
            kIOReturnSuccess);
  ASSERT_TRUE(WaitUntil([&] { return cancelled.load(); }));
  EXPECT_EQ(callsAtCancel.load(), 1u);
}

// ---- IODispatchQueue Sleep / Wakeup ----

TEST_F(DispatchRules, DispatchQueueSleepReleasesTheQueueUntilWakeup) {
  MakeTimer();
  // The idiom of public dexts: disable a source from a RunAction block, sleep until its
  // completion (on the same queue) wakes the sleeper.
  IODispatchQueue* queue = queue_;
  IOTimerDispatchSource* timer = timer_;
  static int event;
  __block bool onQueueAfter = false;
  const kern_return_t ret = queue_->RunAction(^{
    kern_return_t err = timer->SetEnableWithCompletion(false, ^{
      queue->Wakeup(&event);
    });
    if (err != kIOReturnSuccess) return err;
    // Bounded, so that a queue not released fails the test instead of hanging it.
    err = queue->SleepWithDeadline(&event, kIOTimerClockMachAbsoluteTime,
                                   mach_absolute_time() + 5000 * kTicksPerMs);
    onQueueAfter = queue->OnQueue();
    return err;
  });
  EXPECT_EQ(ret, kIOReturnSuccess);
  EXPECT_TRUE(onQueueAfter);  // the sleeper holds the queue again
}

TEST_F(DispatchRules, DispatchQueueSleepTimesOutAndNeedsTheQueue) {
  IODispatchQueue* queue = queue_;
  static int event;
  const kern_return_t ret = queue_->RunAction(^{
    return queue->SleepWithDeadline(&event, kIOTimerClockMachAbsoluteTime,
                                    mach_absolute_time() + 5 * kTicksPerMs);
  });
  EXPECT_EQ(ret, kIOReturnTimeout);
  EXPECT_EQ(queue_->SleepWithDeadline(&event, 0, 0), kIOReturnNotPermitted);  // off the queue
}

TEST_F(DispatchRules, DispatchQueueOnQueueHoldsInABlockItRunsSync) {
  IODispatchQueue* second = nullptr;
  ASSERT_EQ(IODispatchQueue::Create("dispatch-test-2", 0, 0, &second), kIOReturnSuccess);
  IODispatchQueue* first = queue_;
  __block bool firstHeld = false, secondHeld = false, firstHeldAfter = true;
  first->DispatchSync(^{
    second->DispatchSync(^{
      firstHeld = first->OnQueue();  // "OnQueue can return true for more than one queue"
      secondHeld = second->OnQueue();
    });
  });
  second->DispatchSync(^{
    firstHeldAfter = first->OnQueue();
  });
  EXPECT_TRUE(firstHeld);
  EXPECT_TRUE(secondHeld);
  EXPECT_FALSE(firstHeldAfter);
  EXPECT_FALSE(first->OnQueue());
  second->release();
}

// IODispatchQueue.iig (Cancel): the queue stops dequeuing work; the handler runs once the block
// in flight has finished. Work queued but not started never runs.
TEST_F(DispatchRules, DispatchQueueCancelStopsDequeuingWorkNotYetStarted) {
  IODispatchQueue* queue = nullptr;
  ASSERT_EQ(IODispatchQueue::Create("dispatch-test-cancel", 0, 0, &queue), kIOReturnSuccess);
  struct State {
    std::atomic<bool> started{false}, gate{false}, inFlightDone{false}, handled{false};
    std::atomic<bool> inFlightDoneAtHandler{false};
    std::atomic<int> later{0};
  } state;
  State* st = &state;
  queue->DispatchAsync(^{
    st->started = true;
    while (!st->gate) std::this_thread::yield();
    st->inFlightDone = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return state.started.load(); }));
  for (int i = 0; i < 3; ++i) {
    queue->DispatchAsync(^{
      ++st->later;
    });
  }
  EXPECT_EQ(queue->Cancel(^{
    st->inFlightDoneAtHandler = st->inFlightDone.load();
    st->handled = true;
  }),
            kIOReturnSuccess);
  state.gate = true;
  ASSERT_TRUE(WaitUntil([&] { return state.handled.load(); }));
  EXPECT_TRUE(state.inFlightDoneAtHandler);  // the block in flight finished first
  EXPECT_EQ(state.later.load(), 0);          // queued before Cancel, never started
  queue->release();
}

}  // namespace
