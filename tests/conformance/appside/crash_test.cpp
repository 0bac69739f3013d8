// Misuse that crashes CoreFoundation, libdispatch or IOKitLib on a Mac aborts the emulated app
// too, with a message (CF: CFRelease/CFRetain of NULL, an object of the wrong type; libdispatch:
// "BUG IN CLIENT OF LIBDISPATCH" traps; IOKitLib.c dereferences the notification port).
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <gtest/gtest.h>

namespace {

class CrashRules : public ::testing::Test {
 protected:
  // Other tests of this executable leave worker threads behind: re-run the test in the child.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(CrashRules, CFReleaseOfNullAborts) {
  EXPECT_DEATH(CFRelease(nullptr), "CFRelease called with NULL");
}

TEST_F(CrashRules, CFRetainOfNullAborts) {
  EXPECT_DEATH(CFRetain(nullptr), "CFRetain called with NULL");
}

TEST_F(CrashRules, AWrongTypedCFObjectAborts) {
  EXPECT_DEATH(CFStringGetLength(static_cast<CFStringRef>(static_cast<CFTypeRef>(kCFBooleanTrue))),
               "wrong type");
}

TEST_F(CrashRules, DispatchSyncOntoTheCurrentQueueAborts) {
  EXPECT_DEATH(
      {
        dispatch_queue_t q = dispatch_queue_create("crash.sync", DISPATCH_QUEUE_SERIAL);
        dispatch_sync(q, ^{
          dispatch_sync(q, ^{
                        });
        });
      },
      "already owned by current thread");
}

TEST_F(CrashRules, DispatchSyncOntoTheMainQueueFromTheMainThreadAborts) {
  EXPECT_DEATH(dispatch_sync(dispatch_get_main_queue(),
                             ^{
                             }),
               "already owned by current thread");
}

TEST_F(CrashRules, AnUnbalancedGroupLeaveAborts) {
  EXPECT_DEATH(dispatch_group_leave(dispatch_group_create()), "Unbalanced call");
}

TEST_F(CrashRules, ASemaphoreReleasedBelowItsInitialValueAborts) {
  EXPECT_DEATH(
      {
        dispatch_semaphore_t s = dispatch_semaphore_create(1);
        dispatch_semaphore_wait(s, DISPATCH_TIME_FOREVER);
        dispatch_release(s);
      },
      "deallocated while in use");
}

TEST_F(CrashRules, AMatchingNotificationWithoutAPortAborts) {
  io_iterator_t n = IO_OBJECT_NULL;
  EXPECT_DEATH(
      IOServiceAddMatchingNotification(nullptr, kIOFirstMatchNotification,
                                       IOServiceMatching("IOService"), nullptr, nullptr, &n),
      "NULL notification port");
}

}  // namespace
