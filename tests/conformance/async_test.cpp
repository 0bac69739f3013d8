// Rules of async user-client calls (driverkit-semantics.md §5.3, §1.2 checkCompletionExists):
// IOConnectCallAsyncMethod with an IONotificationPort on a dispatch queue, the OSAction the
// dext gets as `completion`, and AsyncCompletion's delivery to the app's callback.
#include <mach/mach.h>  // MIG_ARRAY_TOO_LARGE

#include <mutex>
#include <vector>

#include "harness.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

// Generous: a bound so that a broken delivery fails the test instead of hanging it.
constexpr int64_t kWaitNs = 5 * NSEC_PER_SEC;

struct Completion {
  void* refcon;
  IOReturn status;
  std::vector<uint64_t> arguments;
};

class AsyncRules : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure()) return;
    queue_ = dispatch_queue_create("conformance.async", DISPATCH_QUEUE_SERIAL);
    arrived_ = dispatch_semaphore_create(0);
    port_ = IONotificationPortCreate(kIOMainPortDefault);
    ASSERT_NE(port_, nullptr);
    IONotificationPortSetDispatchQueue(port_, queue_);
  }

  void TearDown() override {
    if (port_ != nullptr) IONotificationPortDestroy(port_);
    if (queue_ != nullptr) dispatch_release(queue_);
    if (arrived_ != nullptr) dispatch_release(arrived_);
    ConformanceTest::TearDown();
  }

  static void Callback(void* refcon, IOReturn result, void** args, uint32_t numArgs) {
    auto* self = static_cast<AsyncRules*>(refcon);
    Completion c{refcon, result, {}};
    for (uint32_t i = 0; i < numArgs; ++i)
      c.arguments.push_back(reinterpret_cast<uint64_t>(args[i]));
    {
      std::lock_guard guard(self->lock_);
      self->received_.push_back(std::move(c));
    }
    dispatch_semaphore_signal(self->arrived_);
  }

  // IOConnectCallAsyncMethod with the callback and this test as refcon in the reference.
  kern_return_t CallAsync(uint32_t selector, const std::vector<uint64_t>& in,
                          std::vector<uint64_t>* out = nullptr, uint32_t referenceCnt = 3) {
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uint64_t>(&Callback);
    reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uint64_t>(this);
    uint64_t scalars[16] = {};
    uint32_t count = out ? static_cast<uint32_t>(out->size()) : 0;
    kern_return_t ret = IOConnectCallAsyncMethod(
        connection_, selector, IONotificationPortGetMachPort(port_), reference, referenceCnt,
        in.data(), static_cast<uint32_t>(in.size()), nullptr, 0, out ? scalars : nullptr,
        out ? &count : nullptr, nullptr, nullptr);
    if (out != nullptr && ret == kIOReturnSuccess) out->assign(scalars, scalars + count);
    return ret;
  }

  // The next completion, waiting at most kWaitNs for it.
  bool Next(Completion* c) {
    if (dispatch_semaphore_wait(arrived_, dispatch_time(DISPATCH_TIME_NOW, kWaitNs)) != 0) {
      return false;
    }
    std::lock_guard guard(lock_);
    *c = received_[taken_++];
    return true;
  }

  size_t ReceivedCount() {
    std::lock_guard guard(lock_);
    return received_.size();
  }

  dispatch_queue_t queue_ = nullptr;
  dispatch_semaphore_t arrived_ = nullptr;
  IONotificationPortRef port_ = nullptr;
  std::mutex lock_;
  std::vector<Completion> received_;
  size_t taken_ = 0;
};

TEST_F(AsyncRules, AsyncCompletionDeliversRefconStatusAndUpTo16ArgumentsByteExact) {
  for (uint32_t n = 0; n <= kMaxAsyncArgs; ++n) {
    SCOPED_TRACE(n);
    ASSERT_EQ(CallAsync(kSelAsyncComplete, {n}), kIOReturnSuccess);
    Completion c;
    ASSERT_TRUE(Next(&c)) << "no completion delivered";
    EXPECT_EQ(c.refcon, this);
    EXPECT_EQ(c.status, kIOReturnSuccess);
    ASSERT_EQ(c.arguments.size(), n);
    for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(c.arguments[i], AsyncArgument(i)) << i;
  }
}

TEST_F(AsyncRules, AsyncCompletionWithMoreThan16ArgumentsIsDroppedSilently) {
  ASSERT_EQ(CallAsync(kSelAsyncComplete, {17}), kIOReturnSuccess);
  // The dext completes both from its serial queue, in order: once the second one is here, the
  // first would have been delivered before it.
  ASSERT_EQ(CallAsync(kSelAsyncComplete, {2}), kIOReturnSuccess);
  Completion c;
  ASSERT_TRUE(Next(&c));
  EXPECT_EQ(c.arguments.size(), 2u) << "the 17-argument completion was delivered";
  EXPECT_EQ(ReceivedCount(), 1u);
  // And nothing else turns up.
  EXPECT_NE(
      dispatch_semaphore_wait(arrived_, dispatch_time(DISPATCH_TIME_NOW, 200 * NSEC_PER_MSEC)), 0);
  EXPECT_EQ(ReceivedCount(), 1u);
}

TEST_F(AsyncRules, AsyncReferenceCountZeroIsBadArgument) {
  EXPECT_EQ(CallAsync(kSelAsyncComplete, {0}, nullptr, 0), kIOReturnBadArgument);
  // The call never reached the dext: a later completion is the only one.
  ASSERT_EQ(CallAsync(kSelAsyncComplete, {1}), kIOReturnSuccess);
  Completion c;
  ASSERT_TRUE(Next(&c));
  EXPECT_EQ(c.arguments.size(), 1u);
  EXPECT_EQ(ReceivedCount(), 1u);
}

TEST_F(AsyncRules, AsyncReferenceOfMoreThan8EntriesIsMigArrayTooLarge) {
  EXPECT_EQ(CallAsync(kSelInspect, {}, nullptr, kOSAsyncRef64Count + 1), MIG_ARRAY_TOO_LARGE);
  std::vector<uint64_t> seen(kInspectCount);
  EXPECT_EQ(CallAsync(kSelInspect, {}, &seen, kOSAsyncRef64Count), kIOReturnSuccess);
}

TEST_F(AsyncRules, AsyncCallWithoutReferenceGetsIOKitLibsOneEntryDummy) {
  uint64_t scalars[kInspectCount] = {};
  uint32_t count = kInspectCount;
  ASSERT_EQ(IOConnectCallAsyncMethod(connection_, kSelInspect, IONotificationPortGetMachPort(port_),
                                     nullptr, 0, nullptr, 0, nullptr, 0, scalars, &count, nullptr,
                                     nullptr),
            kIOReturnSuccess);
  EXPECT_NE(scalars[kInspectFlags] & kHasCompletion, 0u);
  // A NULL reference with a count is a NULL pointer with a count.
  count = kInspectCount;
  EXPECT_EQ(IOConnectCallAsyncMethod(connection_, kSelInspect, IONotificationPortGetMachPort(port_),
                                     nullptr, 2, nullptr, 0, nullptr, 0, scalars, &count, nullptr,
                                     nullptr),
            kIOReturnBadArgument);
}

TEST_F(AsyncRules, CompletionIsPresentInArgumentsOnlyForAsyncCalls) {
  std::vector<uint64_t> seen(kInspectCount);
  ASSERT_EQ(Call(kSelInspect, {}, &seen), kIOReturnSuccess);
  EXPECT_EQ(seen[kInspectFlags] & kHasCompletion, 0u);
  seen.assign(kInspectCount, 0);
  ASSERT_EQ(CallAsync(kSelInspect, {}, &seen), kIOReturnSuccess);
  EXPECT_NE(seen[kInspectFlags] & kHasCompletion, 0u);
  // Scalar outputs of an async call come back with the call itself.
  EXPECT_EQ(seen[kInspectVersion], 2u);  // kIOUserClientMethodArgumentsCurrentVersion
}

TEST_F(AsyncRules, DispatchCheckCompletionExistsOneFailsSyncAndPassesAsync) {
  std::vector<uint64_t> out(1);
  EXPECT_EQ(Call(kSelTableNeedsCompletion, {2, 3}, &out), kIOReturnBadArgument);
  out.assign(1, 0);
  ASSERT_EQ(CallAsync(kSelTableNeedsCompletion, {2, 3}, &out), kIOReturnSuccess);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], 5u);
}

TEST_F(AsyncRules, DispatchCheckCompletionExistsZeroFailsAsync) {
  uint64_t in[2] = {2, 3}, out[1] = {};
  uint32_t outCount = 1;
  uint8_t input[8] = {}, output[16] = {};
  size_t outSize = sizeof output;
  uint64_t reference[3] = {0, reinterpret_cast<uint64_t>(&Callback),
                           reinterpret_cast<uint64_t>(this)};
  // Every other check of kSelTableChecked passes.
  EXPECT_EQ(IOConnectCallAsyncMethod(connection_, kSelTableChecked,
                                     IONotificationPortGetMachPort(port_), reference, 3, in, 2,
                                     input, sizeof input, out, &outCount, output, &outSize),
            kIOReturnBadArgument);
  // The same call made synchronously passes.
  std::vector<uint64_t> sum(1);
  outSize = sizeof output;
  EXPECT_EQ(Call(kSelTableChecked, {2, 3}, &sum, input, sizeof input, output, &outSize),
            kIOReturnSuccess);
  EXPECT_EQ(sum[0], 5u);
}

TEST_F(AsyncRules, DispatchCheckCompletionExistsMinusOneIsDontCare) {
  std::vector<uint8_t> input(8192, 1);
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelTableLargeInput, {}, &out, input.data(), input.size()), kIOReturnSuccess);
  EXPECT_EQ(out[0], 8192u);
  uint64_t reference[3] = {0, reinterpret_cast<uint64_t>(&Callback),
                           reinterpret_cast<uint64_t>(this)};
  uint64_t scalar = 0;
  uint32_t count = 1;
  EXPECT_EQ(IOConnectCallAsyncMethod(connection_, kSelTableLargeInput,
                                     IONotificationPortGetMachPort(port_), reference, 3, nullptr, 0,
                                     input.data(), input.size(), &scalar, &count, nullptr, nullptr),
            kIOReturnSuccess);
  EXPECT_EQ(scalar, 8192u);
}

TEST_F(AsyncRules, AsyncCallHasNoVariableSizeOutputAndTheKernelRefusesIt) {
  // -3 is "variable output" only for the sync call; async IOKitLib sends it out-of-line as a
  // size above UINT_MAX, which is_io_connect_async_method refuses.
  void* result = nullptr;
  size_t size = kIOConnectMethodVarOutputSize;
  uint64_t reference[1] = {};
  EXPECT_EQ(IOConnectCallAsyncMethod(connection_, kSelCorrectedOutput,
                                     IONotificationPortGetMachPort(port_), reference, 1, nullptr, 0,
                                     nullptr, 0, nullptr, nullptr, &result, &size),
            kIOReturnIPCError);
  EXPECT_EQ(result, nullptr);
}

}  // namespace
}  // namespace fpgadext::conformance
