// Implementation of TestDerived.iig and TestMore.iig, written as a dext's .cpp files are.
#include "TestDerived.h"

#include "TestDerivedIVars.h"
#include "TestMore.h"

bool TestDerived::init() {
  if (!super::init()) return false;
  ivars = new TestDerived_IVars{};
  return true;
}

void TestDerived::free() {
  delete ivars;
  ivars = nullptr;
  super::free();
}

kern_return_t IMPL(TestDerived, Ping) {
  Record('D');
  kern_return_t ret = Ping(value, out, SUPERDISPATCH);  // TestBase::Ping_Impl, never TestMore's
  if (ret != kIOReturnSuccess) return ret;
  *out *= 10;
  return kIOReturnSuccess;
}

kern_return_t IMPL(TestDerived, Add) {
  Record('d');
  ivars->adds++;
  if (sum != nullptr) *sum = a + b;
  return kIOReturnSuccess;
}

void IMPL(TestDerived, Touch) {
  ivars->touches += times;
}

uint32_t TestDerived::Local(uint32_t x) {
  return 3 * x;
}

uint32_t TestDerived::LocalVirtual(const uint32_t values[4]) {
  return values[0];
}

kern_return_t TestDerived::Sum_Impl(const uint32_t values[4], uint32_t count, uint64_t* total) {
  if (count > 4) return kIOReturnBadArgument;
  *total = 0;
  for (uint32_t i = 0; i < count; ++i) *total += values[i];
  return kIOReturnSuccess;
}

kern_return_t IMPL(TestMore, Ping) {
  Record('M');
  return Ping(value, out, SUPERDISPATCH);  // TestDerived::Ping_Impl
}

kern_return_t IMPL(TestMore, Add) {
  Record('m');
  return Add(a, b + 100, sum, SUPERDISPATCH);  // TestDerived::Add_Impl
}

uint32_t TestMore::LocalVirtual(const uint32_t values[4]) {
  return values[3];
}
