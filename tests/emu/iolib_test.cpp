// IOLib (memory, locks, time) and os_log of the emulated DriverKit runtime.
#include <DriverKit/IOLib.h>
#include <fpgadext/emu/log_capture.h>
#include <gtest/gtest.h>
#include <os/log.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Pair {
  uint64_t a;
  uint32_t b;
};

TEST(IOLib, MallocFreeAndZero) {
  auto* p = static_cast<uint8_t*>(IOMalloc(100));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
  memset(p, 0xab, 100);
  IOFree(p, 100);
  auto* z = static_cast<uint8_t*>(IOMallocZero(64));
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(z[i], 0);
  IOFree(z, 64);
  IOFree(nullptr, 12);  // no-op
  void* empty = IOMalloc(0);
  EXPECT_NE(empty, nullptr);
  IOFree(empty, 0);
}

TEST(IOLib, NewZeroDeleteAndSafeDelete) {
  Pair* pairs = IONewZero(Pair, 10);
  ASSERT_NE(pairs, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pairs[i].a + pairs[i].b, 0u);
  IODelete(pairs, Pair, 10);
  Pair* one = IONew(Pair, 1);
  ASSERT_NE(one, nullptr);
  IOSafeDeleteNULL(one, Pair, 1);
  EXPECT_EQ(one, nullptr);
  IOSafeDeleteNULL(one, Pair, 1);  // NULL stays NULL
}

TEST(IOLib, NewReturnsNullOnCountOverflow) {
  EXPECT_EQ(IONew(Pair, SIZE_MAX / 2), nullptr);
  EXPECT_EQ(IONewZero(Pair, SIZE_MAX / sizeof(Pair) + 1), nullptr);
  EXPECT_EQ(IONew(uint64_t, -1), nullptr);  // a negative count converts to a huge one
}

// IOFree's rules (wrong length, memory from `new`): tests/conformance/iolib_test.cpp.

TEST(IOLib, LockExcludesAndTryLockFailsWhenHeld) {
  IOLock* lock = IOLockAlloc();
  ASSERT_NE(lock, nullptr);
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        IOLockLock(lock);
        ++counter;
        IOLockUnlock(lock);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 40000);

  IOLockLock(lock);
  IOLockAssert(lock, kIOLockAssertOwned);
  bool otherGot = true;
  std::thread([&] {
    otherGot = IOLockTryLock(lock);
    IOLockAssert(lock, kIOLockAssertNotOwned);
  }).join();
  EXPECT_FALSE(otherGot);
  IOLockUnlock(lock);
  IOLockAssert(lock, kIOLockAssertNotOwned);
  ASSERT_TRUE(IOLockTryLock(lock));
  IOLockUnlock(lock);
  IOLockFree(lock);
}

TEST(IOLib, RecursiveLock) {
  IORecursiveLock* lock = IORecursiveLockAlloc();
  ASSERT_NE(lock, nullptr);
  EXPECT_FALSE(IORecursiveLockHaveLock(lock));
  IORecursiveLockLock(lock);
  IORecursiveLockLock(lock);
  EXPECT_TRUE(IORecursiveLockTryLock(lock));
  EXPECT_TRUE(IORecursiveLockHaveLock(lock));
  bool otherGot = true;
  std::thread([&] { otherGot = IORecursiveLockTryLock(lock); }).join();
  EXPECT_FALSE(otherGot);
  IORecursiveLockUnlock(lock);
  IORecursiveLockUnlock(lock);
  EXPECT_TRUE(IORecursiveLockHaveLock(lock));
  IORecursiveLockUnlock(lock);
  EXPECT_FALSE(IORecursiveLockHaveLock(lock));
  std::thread([&] {
    otherGot = IORecursiveLockTryLock(lock);
    if (otherGot) IORecursiveLockUnlock(lock);
  }).join();
  EXPECT_TRUE(otherGot);
  IORecursiveLockFree(lock);
}

TEST(IOLib, TimeAndDelays) {
  mach_timebase_info_data_t timebase{};
  ASSERT_EQ(mach_timebase_info(&timebase), KERN_SUCCESS);
  EXPECT_EQ(timebase.numer, 125u);  // Apple Silicon: 24 MHz ticks
  EXPECT_EQ(timebase.denom, 3u);
  auto nanos = [&](uint64_t ticks) { return ticks * timebase.numer / timebase.denom; };

  uint64_t t0 = mach_absolute_time();
  IOSleep(20);
  uint64_t t1 = mach_absolute_time();
  EXPECT_GE(nanos(t1 - t0), 20'000'000u);
  IODelay(500);
  uint64_t t2 = mach_absolute_time();
  EXPECT_GE(nanos(t2 - t1), 500'000u);
  EXPECT_GE(t2, t1);
}

TEST(IOLib, PageSizeIsAppleSilicons) {
  EXPECT_EQ(IOVMPageSize, 16384u);
}

TEST(OSLog, StripsAnnotationsAndFormats) {
  fpgadext::emu::LogCapture capture;
  const char* name = "fpga";
  unsigned long long big = 18446744073709551615ull;
  os_log(OS_LOG_DEFAULT, "dev %{public}s at %{private}llx: 100%% ok, %{public}llu", name,
         0xdeadbeefull, big);
  os_log_error(OS_LOG_DEFAULT, "plain %d %s", 42, "text");
  os_log_info(OS_LOG_DEFAULT, "no arguments");
  os_log_debug(OS_LOG_DEFAULT, "%{bool}d %{public}5.2f|%-4d|", 1, 3.14159, 7);
  auto messages = capture.messages();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0], "dev fpga at <private>: 100% ok, 18446744073709551615");
  EXPECT_EQ(messages[1], "plain 42 <private>");
  EXPECT_EQ(messages[2], "no arguments");
  EXPECT_EQ(messages[3], "1  3.14|7   |");
  auto records = capture.records();
  EXPECT_EQ(records[0].type, OS_LOG_TYPE_DEFAULT);
  EXPECT_EQ(records[1].type, OS_LOG_TYPE_ERROR);
  EXPECT_EQ(records[2].type, OS_LOG_TYPE_INFO);
  EXPECT_EQ(records[3].type, OS_LOG_TYPE_DEBUG);
  EXPECT_EQ(records[0].subsystem, "");
}

// A Mac's unified log redacts dynamic strings and shows scalars unless the format says
// otherwise (os_log(3); docs/emulation-headers.md, "Object model and core headers").
TEST(OSLog, StringArgumentsArePrivateUnlessMarkedPublic) {
  fpgadext::emu::LogCapture capture;
  const char* name = "fpga0";
  os_log(OS_LOG_DEFAULT, "%s|%{public}s|%{private}s", name, name, name);
  os_log(OS_LOG_DEFAULT, "%d %u %x %llu %c %.1f", -1, 2u, 0xabu, 4ull, 'z', 2.5);
  os_log(OS_LOG_DEFAULT, "%{private}d %{sensitive}llx %{public}d %{bool}d", 7, 8ull, 9, 1);
  os_log(OS_LOG_DEFAULT, "%p %{private}p", static_cast<void*>(nullptr), &capture);
  os_log(OS_LOG_DEFAULT, "[%*d] [%.*s] [%{public}.*s]", 4, 5, 2, name, 3, name);
  auto messages = capture.messages();
  ASSERT_EQ(messages.size(), 5u);
  EXPECT_EQ(messages[0], "<private>|fpga0|<private>");
  EXPECT_EQ(messages[1], "-1 2 ab 4 z 2.5");
  EXPECT_EQ(messages[2], "<private> <private> 9 1");
  char pointer[32];
  snprintf(pointer, sizeof(pointer), "%p", static_cast<void*>(nullptr));
  EXPECT_EQ(messages[3], std::string(pointer) + " <private>");
  EXPECT_EQ(messages[4], "[   5] [<private>] [fpg]");
}

TEST(OSLog, CreateNamesSubsystemAndCategory) {
  os_log_t log = os_log_create("com.example.fpgadext", "dma");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(os_log_create("com.example.fpgadext", "dma"), log);
  EXPECT_NE(os_log_create("com.example.fpgadext", "irq"), log);
  fpgadext::emu::LogCapture capture;
  os_log_fault(log, "bad %{public}s", "thing");
  auto records = capture.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].subsystem, "com.example.fpgadext");
  EXPECT_EQ(records[0].category, "dma");
  EXPECT_EQ(records[0].message, "bad thing");
  EXPECT_EQ(records[0].type, OS_LOG_TYPE_FAULT);
}

TEST(OSLog, ThresholdAndDisabledLog) {
  ASSERT_TRUE(fpgadext::emu::SetLogLevel("error"));
  EXPECT_FALSE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_DEBUG));
  EXPECT_FALSE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_DEFAULT));
  EXPECT_TRUE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_ERROR));
  EXPECT_TRUE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_FAULT));
  EXPECT_FALSE(os_log_type_enabled(OS_LOG_DISABLED, OS_LOG_TYPE_FAULT));
  // Arguments of a disabled level are not evaluated.
  int evaluated = 0;
  os_log_debug(OS_LOG_DEFAULT, "%d", ++evaluated);
  EXPECT_EQ(evaluated, 0);
  ASSERT_TRUE(fpgadext::emu::SetLogLevel("debug"));
  EXPECT_TRUE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_DEBUG));
  ASSERT_TRUE(fpgadext::emu::SetLogLevel("off"));
  EXPECT_FALSE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_FAULT));
  EXPECT_FALSE(fpgadext::emu::SetLogLevel("verbose"));
  {
    // A capture records every level; the disabled log still records nothing.
    fpgadext::emu::LogCapture capture;
    EXPECT_TRUE(os_log_type_enabled(OS_LOG_DEFAULT, OS_LOG_TYPE_DEBUG));
    os_log_debug(OS_LOG_DEFAULT, "seen");
    os_log(OS_LOG_DISABLED, "never");
    EXPECT_EQ(capture.messages(), std::vector<std::string>{"seen"});
    capture.clear();
    EXPECT_TRUE(capture.messages().empty());
  }
  ASSERT_TRUE(fpgadext::emu::SetLogLevel("error"));
}

TEST(OSLog, LongMessagesAreTruncated) {
  fpgadext::emu::LogCapture capture;
  std::string longText(5000, 'x');
  os_log(OS_LOG_DEFAULT, "%{public}s|end", longText.c_str());
  auto messages = capture.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].size(), 1023u);
  EXPECT_EQ(messages[0], std::string(1023, 'x'));
}

TEST(OSLog, ThreadSafe) {
  fpgadext::emu::LogCapture capture;
  os_log_t log = os_log_create("com.example.fpgadext", "threads");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([log, t] {
      for (int i = 0; i < 200; ++i) os_log_info(log, "thread %d message %{public}d", t, i);
    });
  }
  for (auto& t : threads) t.join();
  auto records = capture.records();
  ASSERT_EQ(records.size(), 800u);
  int perThread[4] = {};
  for (const auto& r : records) {
    int t = -1, i = -1;
    ASSERT_EQ(sscanf(r.message.c_str(), "thread %d message %d", &t, &i), 2) << r.message;
    ASSERT_GE(t, 0);
    ASSERT_LT(t, 4);
    EXPECT_EQ(i, perThread[t]++);  // each thread's messages stay in order
  }
}

}  // namespace
