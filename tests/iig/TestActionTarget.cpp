#include "TestActionTarget.h"

uint64_t gTestFiredCount = 0;
uint64_t gTestFiredTime = 0;
OSAction* gTestFiredAction = nullptr;

void IMPL(TestActionTarget, Fired) {
  gTestFiredCount = count;
  gTestFiredTime = time;
  gTestFiredAction = action;
}

kern_return_t IMPL(TestActionTarget, Compute) {
  *result = values[0] + values[1];
  return values[0] == 0 ? kIOReturnBadArgument : kIOReturnSuccess;
}
