// IOLib rules (docs/emulation-headers.md, "Object model and core headers"), in process against the
// runtime library: delays sleep, and IOFree accepts the memory a Mac's IOFree accepts.
//
// A delay that gives up the CPU blocks: the thread makes a voluntary context switch (a spin makes
// none, and a yielding spin only involuntary ones), and it uses a small part of the time that
// passed in CPU time (a spin uses nearly all of it unless the machine is overloaded). The margins
// are wide; nothing here is a performance figure.
#include <DriverKit/IOLib.h>
#include <fpgadext/emu/log_capture.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <time.h>

#include <string>

namespace {

uint64_t Ns(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

long VoluntarySwitches() {
  struct rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

struct Spent {
  uint64_t wallNs;
  uint64_t cpuNs;
  long blocked;  // voluntary context switches
};

template <typename Wait>
Spent Measure(Wait wait) {
  const long switches0 = VoluntarySwitches();
  const uint64_t wall0 = Ns(CLOCK_MONOTONIC);
  const uint64_t cpu0 = Ns(CLOCK_THREAD_CPUTIME_ID);
  wait();
  const uint64_t cpu = Ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  const uint64_t wall = Ns(CLOCK_MONOTONIC) - wall0;
  return Spent{wall, cpu, VoluntarySwitches() - switches0};
}

TEST(IOLib, IODelayWaitsAtLeastTheTimeAsked) {
  for (uint64_t us : {1ull, 10ull, 100ull, 2'000ull}) {
    const Spent spent = Measure([us] { IODelay(us); });
    EXPECT_GE(spent.wallNs, us * 1000) << "IODelay(" << us << ")";
  }
}

TEST(IOLib, IODelayGivesUpTheCpu) {
  const Spent spent = Measure([] { IODelay(50'000); });
  ASSERT_GE(spent.wallNs, 50'000'000u);
  EXPECT_GE(spent.blocked, 1) << "IODelay(50 ms) never blocked";
  EXPECT_LT(spent.cpuNs, spent.wallNs / 4)
      << "IODelay(50 ms) used " << spent.cpuNs << " ns of CPU in " << spent.wallNs << " ns";
}

TEST(IOLib, IOSleepWaitsAtLeastTheTimeAsked) {
  for (uint64_t ms : {1ull, 20ull}) {
    const Spent spent = Measure([ms] { IOSleep(ms); });
    EXPECT_GE(spent.wallNs, ms * 1'000'000) << "IOSleep(" << ms << ")";
  }
}

TEST(IOLib, IOSleepGivesUpTheCpu) {
  const Spent spent = Measure([] { IOSleep(50); });
  ASSERT_GE(spent.wallNs, 50'000'000u);
  EXPECT_GE(spent.blocked, 1) << "IOSleep(50) never blocked";
  EXPECT_LT(spent.cpuNs, spent.wallNs / 4)
      << "IOSleep(50) used " << spent.cpuNs << " ns of CPU in " << spent.wallNs << " ns";
}

struct Record {
  uint64_t counter;
  uint32_t flags;
};

TEST(IOLib, IOFreeOfNewMemoryIsAccepted) {
  fpgadext::emu::LogCapture capture;
  auto* record = new Record{1, 2};
  IOFree(record, sizeof(Record));
  // The emulation says so in the log (a Mac's malloc would release it without a word).
  bool logged = false;
  for (const auto& r : capture.records()) {
    logged |= r.type == OS_LOG_TYPE_ERROR && r.message.find("IOFree") != std::string::npos &&
              r.message.find("not from IOMalloc") != std::string::npos;
  }
  EXPECT_TRUE(logged);
  // IOMalloc memory is still checked against its length and released without a word.
  capture.clear();
  void* block = IOMalloc(48);
  ASSERT_NE(block, nullptr);
  IOFree(block, 48);
  EXPECT_TRUE(capture.records().empty());
}

TEST(IOLibDeathTest, IOFreeWithAWrongLengthAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        void* block = IOMallocZero(64);
        IOFree(block, 32);
      },
      "IOFree with a wrong length");
}

}  // namespace
