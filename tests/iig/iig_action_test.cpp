// TYPE(...) methods: the generated CreateAction<Method> makes an OSAction whose handler calls
// the target's <Method>_Impl with the TYPE's parameters.
#include <gtest/gtest.h>

#include "TestActionTarget.h"

extern uint64_t gTestFiredCount;
extern uint64_t gTestFiredTime;
extern OSAction* gTestFiredAction;

namespace {

TEST(IigAction, CreateActionCallsImplementation) {
  TestActionTarget* target = OSTypeAllocInitEmulated<TestActionTarget>();
  ASSERT_NE(target, nullptr);
  OSAction* action = nullptr;
  ASSERT_EQ(target->CreateActionFired(24, &action), kIOReturnSuccess);
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->EmulationTypeID(), IORPCMethodID("TestSource::Fired"));
  EXPECT_EQ(action->EmulationTarget(), target);
  EXPECT_NE(action->GetReference(), nullptr);
  EXPECT_EQ((action->EmulationInvoke<void, OSAction*, uint64_t, uint64_t>(
                IORPCMethodID("TestSource::Fired"), action, uint64_t{3}, uint64_t{44})),
            kIOReturnSuccess);
  EXPECT_EQ(gTestFiredCount, 3u);
  EXPECT_EQ(gTestFiredTime, 44u);
  EXPECT_EQ(gTestFiredAction, action);
  // An action only runs for its own TYPE.
  EXPECT_NE((action->EmulationInvoke<void, OSAction*, uint64_t, uint64_t>(
                IORPCMethodID("TestSource::Compute"), action, uint64_t{1}, uint64_t{1})),
            kIOReturnSuccess);
  EXPECT_EQ(gTestFiredCount, 3u);
  action->release();

  OSAction* compute = nullptr;
  ASSERT_EQ(target->CreateActionCompute(0, &compute), kIOReturnSuccess);
  EXPECT_EQ(compute->EmulationTypeID(), IORPCMethodID("TestSource::Compute"));
  const uint32_t values[2] = {5, 6};
  uint32_t result = 0;
  EXPECT_EQ((compute->EmulationInvoke<kern_return_t, OSAction*, const uint32_t*, uint32_t*>(
                IORPCMethodID("TestSource::Compute"), compute, values, &result)),
            kIOReturnSuccess);
  EXPECT_EQ(result, 11u);
  compute->release();
  target->release();
}

}  // namespace
