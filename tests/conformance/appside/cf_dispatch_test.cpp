// The CoreFoundation and libdispatch subsets of the app side (CF-1153.18 CFNumber.c / CFString.c
// semantics; libdispatch-1542.0.4 queue.h: the main queue runs only on the main thread's run loop,
// the global queues are concurrent) and IOKit's map and method constants (xnu IOMapTypes.h,
// IOTypes.h).
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <gtest/gtest.h>

#include <atomic>
#include <type_traits>

namespace {

constexpr int64_t kWaitNs = 5 * NSEC_PER_SEC;

TEST(CoreFoundationRules, CFNumberGetValueConvertsAndReportsALossyConversion) {
  const int64_t big = 300;
  CFNumberRef n = CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt64Type, &big);
  int8_t small = 0;
  EXPECT_FALSE(CFNumberGetValue(n, kCFNumberSInt8Type, &small));  // does not fit
  EXPECT_EQ(small, static_cast<int8_t>(300));                     // truncated bits still written
  int32_t word = 0;
  EXPECT_TRUE(CFNumberGetValue(n, kCFNumberSInt32Type, &word));
  EXPECT_EQ(word, 300);
  double real = 0;
  EXPECT_TRUE(CFNumberGetValue(n, kCFNumberDoubleType, &real));
  EXPECT_EQ(real, 300.0);
  CFRelease(n);
}

TEST(CoreFoundationRules, CFNumberKeepsTheCanonicalType) {
  const int i = 7;
  CFNumberRef n = CFNumberCreate(kCFAllocatorDefault, kCFNumberIntType, &i);
  EXPECT_EQ(CFNumberGetType(n), kCFNumberSInt32Type);
  EXPECT_EQ(CFNumberGetByteSize(n), 4);
  EXPECT_FALSE(CFNumberIsFloatType(n));
  CFRelease(n);
}

TEST(CoreFoundationRules, CFStringGetCStringNeedsRoomForTheTerminator) {
  CFStringRef s = CFStringCreateWithCString(kCFAllocatorDefault, "abcd", kCFStringEncodingUTF8);
  char exact[4];
  EXPECT_FALSE(CFStringGetCString(s, exact, sizeof exact, kCFStringEncodingUTF8));
  char room[5];
  EXPECT_TRUE(CFStringGetCString(s, room, sizeof room, kCFStringEncodingUTF8));
  EXPECT_STREQ(room, "abcd");
  EXPECT_EQ(CFStringGetLength(s), 4);
  CFRelease(s);
}

TEST(CoreFoundationRules, CFSTRIsOneImmortalObjectPerLiteral) {
  CFStringRef a = CFSTR("IOProviderClass");
  EXPECT_EQ(a, CFSTR("IOProviderClass"));
  CFRelease(a);  // does nothing to a constant
  EXPECT_EQ(CFStringCompare(a, CFSTR("IOProviderClass"), 0), kCFCompareEqualTo);
}

TEST(CoreFoundationRules, CFDictionaryComparesKeysByValue) {
  CFMutableDictionaryRef d = CFDictionaryCreateMutable(
      kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
  CFStringRef key = CFStringCreateWithCString(kCFAllocatorDefault, "k", kCFStringEncodingUTF8);
  CFDictionarySetValue(d, key, kCFBooleanTrue);
  EXPECT_EQ(CFDictionaryGetValue(d, CFSTR("k")), kCFBooleanTrue);
  CFDictionarySetValue(d, CFSTR("k"), kCFBooleanFalse);  // replaces
  EXPECT_EQ(CFDictionaryGetCount(d), 1);
  EXPECT_EQ(CFDictionaryGetValue(d, key), kCFBooleanFalse);
  CFRelease(key);
  CFRelease(d);
}

TEST(LibdispatchRules, TheMainQueueRunsOnlyWhenTheMainThreadRunsItsRunLoop) {
  // gtest runs tests on the process's main thread.
  ASSERT_EQ(CFRunLoopGetCurrent(), CFRunLoopGetMain());
  static std::atomic<bool> ran;
  ran = false;
  dispatch_async(dispatch_get_main_queue(), ^{
    ran = true;
  });
  EXPECT_FALSE(ran);  // nothing else drains the main queue
  EXPECT_EQ(CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5.0, true), kCFRunLoopRunHandledSource);
  EXPECT_TRUE(ran);
}

TEST(LibdispatchRules, GlobalQueuesExistForEachPriorityAndRefuseFlags) {
  dispatch_queue_global_t high = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 0);
  dispatch_queue_global_t normal = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
  dispatch_queue_global_t low = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_LOW, 0);
  dispatch_queue_global_t background =
      dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_BACKGROUND, 0);
  ASSERT_NE(high, nullptr);
  ASSERT_NE(normal, nullptr);
  ASSERT_NE(low, nullptr);
  ASSERT_NE(background, nullptr);
  EXPECT_NE(high, normal);
  EXPECT_NE(low, background);
  EXPECT_EQ(dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 1), nullptr);
  EXPECT_EQ(dispatch_get_global_queue(12345, 0), nullptr);
}

TEST(LibdispatchRules, AGlobalQueueRunsBlocksConcurrently) {
  // The first block waits for the second: only a concurrent queue lets both finish.
  dispatch_queue_t queue = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 0);
  dispatch_semaphore_t second = dispatch_semaphore_create(0);
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  dispatch_async(queue, ^{
    if (dispatch_semaphore_wait(second, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)) == 0) {
      dispatch_semaphore_signal(done);
    }
  });
  dispatch_async(queue, ^{
    dispatch_semaphore_signal(second);
  });
  EXPECT_EQ(dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 2 * kWaitNs)), 0);
  dispatch_release(second);
  dispatch_release(done);
}

TEST(LibdispatchRules, DispatchOnceRunsTheBlockOnceAndMarksThePredicate) {
  static dispatch_once_t once = 0;
  static int runs = 0;
  for (int i = 0; i < 3; ++i) {
    dispatch_once(&once, ^{
      ++runs;
    });
  }
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(once, ~intptr_t{0});
}

TEST(LibdispatchRules, AGroupWaitsForItsBlocksAndNotifiesWhenEmpty) {
  dispatch_queue_t queue = dispatch_queue_create("conformance.group", DISPATCH_QUEUE_SERIAL);
  dispatch_group_t group = dispatch_group_create();
  dispatch_semaphore_t gate = dispatch_semaphore_create(0);
  dispatch_semaphore_t notified = dispatch_semaphore_create(0);
  dispatch_group_async(group, queue, ^{
    dispatch_semaphore_wait(gate, DISPATCH_TIME_FOREVER);
  });
  dispatch_group_notify(group, queue, ^{
    dispatch_semaphore_signal(notified);
  });
  EXPECT_NE(dispatch_group_wait(group, DISPATCH_TIME_NOW), 0);  // still running
  dispatch_semaphore_signal(gate);
  EXPECT_EQ(dispatch_group_wait(group, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)), 0);
  EXPECT_EQ(dispatch_semaphore_wait(notified, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)), 0);
  dispatch_group_enter(group);
  dispatch_group_leave(group);
  dispatch_release(group);
  dispatch_release(gate);
  dispatch_release(notified);
  dispatch_release(queue);
}

TEST(LibdispatchRules, DispatchAfterRunsTheBlockOnTheQueue) {
  dispatch_queue_t queue = dispatch_queue_create("conformance.after", DISPATCH_QUEUE_SERIAL);
  dispatch_semaphore_t ran = dispatch_semaphore_create(0);
  dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 1000 * NSEC_PER_USEC), queue, ^{
    dispatch_semaphore_signal(ran);
  });
  EXPECT_EQ(dispatch_semaphore_wait(ran, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)), 0);
  dispatch_release(ran);
  dispatch_release(queue);
}

TEST(IOKitConstants, MapOptionsAndVarOutputSizeAreApples) {
  EXPECT_EQ(kIOMapCacheMask, 0x00000f00);
  EXPECT_EQ(kIOMapCacheShift, 8);
  EXPECT_EQ(kIOMapWriteCombineCache, 0x00000400);
  EXPECT_EQ(kIOMapReadOnly, 0x00001000);
  EXPECT_EQ(kIOMapReference, 0x02000000);
  EXPECT_TRUE(std::is_enum_v<decltype(kIOConnectMethodVarOutputSize)>);
  EXPECT_EQ(static_cast<int>(kIOConnectMethodVarOutputSize), -3);
}

}  // namespace
