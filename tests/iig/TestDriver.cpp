// Compiled, not run: the generated TestDriver.h/.iig.cpp must build against the emulated
// framework classes the way fpgadext's dext sources will use them.
#include "TestDriver.h"

#include <TargetConditionals.h>

// What clang defines for an apple-driverkit target: DriverKit code that tests TARGET_OS_OSX takes
// the same branch here as on a Mac.
static_assert(TARGET_OS_DRIVERKIT == 1 && TARGET_OS_OSX == 0 && TARGET_OS_MAC == 1,
              "a dext is built for DriverKit, not macOS");

struct TestDriver_IVars {
  IOInterruptDispatchSource* source;
  OSAction* action;
};

bool TestDriver::init() {
  if (!super::init()) return false;
  ivars = new TestDriver_IVars{};
  return true;
}

void TestDriver::free() {
  delete ivars;
  ivars = nullptr;
  super::free();
}

kern_return_t IMPL(TestDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  return CreateActionInterruptOccurred(0, &ivars->action);
}

kern_return_t IMPL(TestDriver, Stop) {
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(TestDriver, NewUserClient) {
  return NewUserClient(type, userClient, SUPERDISPATCH);
}

void IMPL(TestDriver, InterruptOccurred) {
  (void)DoThing(static_cast<uint32_t>(count));
}

kern_return_t TestDriver::DoThing(uint32_t x) {
  return x ? kIOReturnSuccess : kIOReturnError;
}

kern_return_t IMPL(TestDriver, Other) {
  *b = a;
  return kIOReturnSuccess;
}

kern_return_t IMPL(TestUserClient, Start) {
  return Start(provider, SUPERDISPATCH);
}

kern_return_t TestUserClient::ExternalMethod(uint64_t selector,
                                             IOUserClientMethodArguments* arguments,
                                             const IOUserClientMethodDispatch* dispatch,
                                             OSObject* target, void* reference) {
  return super::ExternalMethod(selector, arguments, dispatch, target, reference);
}

kern_return_t IMPL(TestUserClient, CopyClientMemoryForType) {
  return CopyClientMemoryForType(type, options, memory, SUPERDISPATCH);
}
