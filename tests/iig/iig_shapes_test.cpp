// Runs what emu/iig/iig.py generates from TestShapes.iig, the shapes of Apple's own .iig files:
// a NATIVE KERNEL class, its EXTENDS extension, INVOKEREPLY, reference and namespaced
// parameters, #if decided at generation time, TYPE(Class::Method) and TYPE(Method).
#include <gtest/gtest.h>

#include <cstring>

#include "TestShapes.h"

extern char gShapesTrace[16];
extern uint64_t gShapesCount;

#define SHAPES_STR2(...) #__VA_ARGS__
#define SHAPES_STR(...) SHAPES_STR2(__VA_ARGS__)

namespace {

TEST(IigShapes, ArgsMacrosAsApplesIigWritesThem) {
  EXPECT_STREQ(SHAPES_STR(TestShapesSource_Poll_Args), "const IORPC rpc, bool synchronous");
  EXPECT_STREQ(SHAPES_STR(TestShapesSource_Measure_Args),
               "const IOAddressSegment & segment, testshapes::Blob * blob");
  EXPECT_STREQ(SHAPES_STR(TestShapesSource__Secret_Args), "uint64_t value, uint64_t * out");
  EXPECT_STREQ(SHAPES_STR(TestShapesSource_Create_Args),
               "uint64_t seed, TestShapesSource ** source");
  // LOCALONLY: no macro. The #if'd-out Missing: no method at all.
  EXPECT_STREQ(SHAPES_STR(TestShapesSource_Seed_Args), "TestShapesSource_Seed_Args");
  EXPECT_STREQ(SHAPES_STR(TestShapesSource_Missing_Args), "TestShapesSource_Missing_Args");
}

TEST(IigShapes, InvokeReplyMethodGetsTheMessageAndSuperdispatches) {
  TestShapesSource* source = nullptr;
  ASSERT_EQ(TestShapesSource::Create(3, &source), kIOReturnSuccess);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->getMetaClass(), &TestShapesUser::gMetaClass);
  memset(gShapesTrace, 0, sizeof(gShapesTrace));
  EXPECT_EQ(source->Poll(true), kIOReturnSuccess);
  EXPECT_STREQ(gShapesTrace, "US");  // the subclass, then the class it extends via SUPERDISPATCH
  EXPECT_EQ(source->Poll(false), kIOReturnNotReady);
  source->release();
  EXPECT_EQ(TestShapesSource::Create(0, &source), kIOReturnBadArgument);
}

TEST(IigShapes, ReferenceAndNamespacedParametersThroughSuperdispatch) {
  TestShapesUser* user = OSTypeAllocInitEmulated<TestShapesUser>();
  ASSERT_NE(user, nullptr);
  const IOAddressSegment segment{0x1000, 0x20};
  testshapes::Blob blob{};
  EXPECT_EQ(user->Measure_Impl(segment, &blob), kIOReturnSuccess);
  EXPECT_EQ(blob.value, 0x1021u);
  user->release();
}

TEST(IigShapes, ExtendsMethodsBelongToTheExtendedClass) {
  TestShapesUser* user = OSTypeAllocInitEmulated<TestShapesUser>();
  ASSERT_NE(user, nullptr);
  uint64_t out = 0;
  EXPECT_EQ(user->_Secret(6, &out), kIOReturnSuccess);
  EXPECT_EQ(out, 42u);
  user->release();
}

TEST(IigShapes, TypeQualifiedAndUnqualifiedNameTheSameMethod) {
  TestShapesUser* user = OSTypeAllocInitEmulated<TestShapesUser>();
  ASSERT_NE(user, nullptr);
  OSAction* handler = nullptr;
  OSAction* other = nullptr;
  ASSERT_EQ(user->CreateActionHandler(0, &handler), kIOReturnSuccess);
  ASSERT_EQ(user->CreateActionOther(0, &other), kIOReturnSuccess);
  EXPECT_EQ(handler->EmulationTypeID(), IORPCMethodID("TestShapesSource::Ready"));
  EXPECT_EQ(other->EmulationTypeID(), IORPCMethodID("TestShapesSource::Ready"));
  EXPECT_EQ(user->SetHandler(other), kIOReturnSuccess);
  EXPECT_EQ((other->EmulationInvoke<void, OSAction*, uint64_t>(
                IORPCMethodID("TestShapesSource::Ready"), other, uint64_t{5})),
            kIOReturnSuccess);
  EXPECT_EQ(gShapesCount, 2005u);
  EXPECT_EQ((handler->EmulationInvoke<void, OSAction*, uint64_t>(
                IORPCMethodID("TestShapesSource::Ready"), handler, uint64_t{5})),
            kIOReturnSuccess);
  EXPECT_EQ(gShapesCount, 1005u);
  handler->release();
  other->release();
  user->release();
}

}  // namespace
