// App-side IOKitLib rules: matching and interest notifications (IOKitUser IOKitLib.c
// IOServiceAddMatchingNotification / IOServiceAddInterestNotification /
// IODispatchCalloutFromCFMessage; xnu iokit/Kernel/IOUserClient.cpp IOServiceUserNotification and
// IOServiceMessageUserNotification), delivered on a dispatch queue or a CFRunLoop.
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <IOKit/IOMessage.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace fpgadext::conformance {
namespace {

// Generous: a bound so that a broken delivery fails the test instead of hanging it.
constexpr int64_t kWaitNs = 5 * NSEC_PER_SEC;

struct Entry {
  std::string name;
  uint64_t id = 0;
};

class NotificationRules : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure()) return;
    queue_ = dispatch_queue_create("conformance.notifications", DISPATCH_QUEUE_SERIAL);
    arrived_ = dispatch_semaphore_create(0);
    port_ = IONotificationPortCreate(kIOMainPortDefault);
    ASSERT_NE(port_, nullptr);
    IONotificationPortSetDispatchQueue(port_, queue_);
  }

  void TearDown() override {
    for (io_object_t n : notifications_) IOObjectRelease(n);
    if (port_ != nullptr) IONotificationPortDestroy(port_);
    if (queue_ != nullptr) dispatch_release(queue_);
    ConformanceTest::TearDown();  // the machine goes before the extra function it holds
    extra_.reset();
    if (arrived_ != nullptr) dispatch_release(arrived_);
  }

  static void Matched(void* refcon, io_iterator_t iterator) {
    auto* self = static_cast<NotificationRules*>(refcon);
    {
      std::lock_guard guard(self->lock_);
      self->matched_.push_back(iterator);
      self->calloutThread_ = std::this_thread::get_id();
    }
    dispatch_semaphore_signal(self->arrived_);
  }

  static void Interest(void* refcon, io_service_t service, uint32_t type, void* argument) {
    auto* self = static_cast<NotificationRules*>(refcon);
    {
      std::lock_guard guard(self->lock_);
      self->messages_.emplace_back(service, type);
    }
    dispatch_semaphore_signal(self->arrived_);
  }

  io_iterator_t AddMatching(const char* type, CFDictionaryRef matching,
                            IONotificationPortRef port = nullptr) {
    io_iterator_t n = IO_OBJECT_NULL;
    EXPECT_EQ(
        IOServiceAddMatchingNotification(port ? port : port_, type, matching, Matched, this, &n),
        kIOReturnSuccess);
    if (n != IO_OBJECT_NULL) notifications_.push_back(n);
    return n;
  }

  bool WaitForCallout() {
    return dispatch_semaphore_wait(arrived_, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)) == 0;
  }

  // Runs every callout already queued on the port's queue.
  void Flush() {
    dispatch_sync(queue_, ^{
                  });
  }

  size_t MatchedCount() {
    std::lock_guard guard(lock_);
    return matched_.size();
  }

  // Takes every service from an iterator (which arms a notification iterator again).
  static std::vector<Entry> Drain(io_iterator_t iterator) {
    std::vector<Entry> out;
    while (io_object_t s = IOIteratorNext(iterator)) {
      Entry e;
      io_name_t name;
      if (IORegistryEntryGetName(s, name) == kIOReturnSuccess) e.name = name;
      IORegistryEntryGetRegistryEntryID(s, &e.id);
      out.push_back(e);
      IOObjectRelease(s);
    }
    return out;
  }

  void AttachExtraFunction() {
    extra_ = std::make_unique<ProbeDevice>();
    ASSERT_EQ(machine_->AttachPciFunction(extra_.get(), "probe2"), kIOReturnSuccess);
  }

  uint64_t IdOf(io_object_t object) {
    uint64_t id = 0;
    EXPECT_EQ(IORegistryEntryGetRegistryEntryID(object, &id), kIOReturnSuccess);
    return id;
  }

  dispatch_queue_t queue_ = nullptr;
  dispatch_semaphore_t arrived_ = nullptr;
  IONotificationPortRef port_ = nullptr;
  std::vector<io_object_t> notifications_;
  std::unique_ptr<ProbeDevice> extra_;
  std::mutex lock_;
  std::vector<io_iterator_t> matched_;
  std::vector<std::pair<io_service_t, uint32_t>> messages_;
  std::thread::id calloutThread_;
};

TEST_F(NotificationRules, FirstMatchPutsExistingServicesInTheIteratorWithoutACallout) {
  io_iterator_t n =
      AddMatching(kIOFirstMatchNotification, IOServiceNameMatching("ConformanceDriver"));
  Flush();
  EXPECT_EQ(MatchedCount(), 0u);
  const auto existing = Drain(n);
  ASSERT_EQ(existing.size(), 1u);
  EXPECT_EQ(existing[0].name, "ConformanceDriver");
  EXPECT_EQ(existing[0].id, IdOf(service_));
  EXPECT_EQ(IOIteratorNext(n), IO_OBJECT_NULL);
}

TEST_F(NotificationRules, FirstMatchCallsOutForANewlyAttachedFunctionOnceDrained) {
  io_iterator_t n =
      AddMatching(kIOFirstMatchNotification, IOServiceNameMatching("ConformanceDriver"));
  ASSERT_EQ(Drain(n).size(), 1u);  // arms it
  AttachExtraFunction();
  ASSERT_TRUE(WaitForCallout());
  {
    std::lock_guard guard(lock_);
    ASSERT_EQ(matched_.size(), 1u);
    EXPECT_EQ(matched_[0], n);  // the callout receives the notification's iterator
  }
  const auto added = Drain(n);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].name, "ConformanceDriver");
  EXPECT_NE(added[0].id, IdOf(service_));
}

TEST_F(NotificationRules, AnUndrainedIteratorIsNotArmedAndHandsOutTheNewestFirst) {
  io_iterator_t n =
      AddMatching(kIOFirstMatchNotification, IOServiceNameMatching("ConformanceDriver"));
  AttachExtraFunction();
  Flush();
  EXPECT_EQ(MatchedCount(), 0u);  // no message until the app has emptied the iterator once
  const auto all = Drain(n);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].id, IdOf(service_));  // the one added last
  EXPECT_EQ(all[1].id, IdOf(service_));
}

TEST_F(NotificationRules, TerminatedNotificationCallsOutOnSurpriseRemoval) {
  io_service_t nub =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceMatching("IOPCIDevice"));
  ASSERT_NE(nub, IO_OBJECT_NULL);
  const uint64_t nubID = IdOf(nub);
  IOObjectRelease(nub);
  io_iterator_t n = AddMatching(kIOTerminatedNotification, IOServiceMatching("IOPCIDevice"));
  EXPECT_TRUE(Drain(n).empty());  // nothing terminated yet; arms it
  machine_->SurpriseRemovePciFunction(device_.get());
  ASSERT_TRUE(WaitForCallout());
  const auto gone = Drain(n);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, nubID);  // still readable from the terminated entry
}

TEST_F(NotificationRules, GeneralInterestReceivesServiceIsTerminated) {
  io_object_t n = IO_OBJECT_NULL;
  ASSERT_EQ(
      IOServiceAddInterestNotification(port_, service_, kIOGeneralInterest, Interest, this, &n),
      kIOReturnSuccess);
  notifications_.push_back(n);
  machine_->SurpriseRemovePciFunction(device_.get());
  ASSERT_TRUE(WaitForCallout());
  std::lock_guard guard(lock_);
  ASSERT_GE(messages_.size(), 1u);
  EXPECT_EQ(messages_[0].first, service_);
  EXPECT_EQ(messages_[0].second, static_cast<uint32_t>(kIOMessageServiceIsTerminated));
}

TEST_F(NotificationRules, UnknownNotificationAndInterestTypesAreUnsupported) {
  io_object_t n = IO_OBJECT_NULL;
  EXPECT_EQ(IOServiceAddMatchingNotification(port_, "IOServiceSomethingElse",
                                             IOServiceMatching("IOService"), Matched, this, &n),
            kIOReturnUnsupported);
  EXPECT_EQ(IOServiceAddInterestNotification(port_, service_, "IOSomethingElseInterest", Interest,
                                             this, &n),
            kIOReturnUnsupported);
  EXPECT_EQ(n, IO_OBJECT_NULL);
}

TEST_F(NotificationRules, AReleasedNotificationCallsNothingOut) {
  io_iterator_t n = AddMatching(kIOTerminatedNotification, IOServiceMatching("IOPCIDevice"));
  Drain(n);
  ASSERT_EQ(IOObjectRelease(n), kIOReturnSuccess);
  notifications_.clear();
  EXPECT_FALSE(IOIteratorIsValid(n));
  machine_->SurpriseRemovePciFunction(device_.get());
  Flush();
  EXPECT_EQ(MatchedCount(), 0u);
}

TEST_F(NotificationRules, ARunLoopSourceDeliversOnTheThreadRunningTheLoop) {
  IONotificationPortRef loopPort = IONotificationPortCreate(kIOMainPortDefault);
  CFRunLoopSourceRef source = IONotificationPortGetRunLoopSource(loopPort);
  ASSERT_NE(source, nullptr);
  CFRunLoopAddSource(CFRunLoopGetCurrent(), source, kCFRunLoopDefaultMode);
  io_iterator_t n =
      AddMatching(kIOFirstMatchNotification, IOServiceNameMatching("ConformanceDriver"), loopPort);
  Drain(n);
  AttachExtraFunction();
  EXPECT_EQ(MatchedCount(), 0u);  // waits for the loop
  EXPECT_EQ(CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5.0, true), kCFRunLoopRunHandledSource);
  {
    std::lock_guard guard(lock_);
    ASSERT_EQ(matched_.size(), 1u);
    EXPECT_EQ(calloutThread_, std::this_thread::get_id());
  }
  IOObjectRelease(n);
  notifications_.clear();
  CFRunLoopRemoveSource(CFRunLoopGetCurrent(), source, kCFRunLoopDefaultMode);
  IONotificationPortDestroy(loopPort);
}

}  // namespace
}  // namespace fpgadext::conformance
