// Implementation of TestShapes.iig, written as a dext's .cpp files are (IMPL and the generated
// _Args), for iig_shapes_test.cpp.
#include "TestShapes.h"

#include <fpgadext/emu/object_model.h>

char gShapesTrace[16];
uint64_t gShapesCount;

namespace {
void Record(char c) {
  size_t n = strlen(gShapesTrace);
  if (n + 1 < sizeof(gShapesTrace)) gShapesTrace[n] = c;
}
}  // namespace

kern_return_t IMPL(TestShapesSource, SetHandler) {
  return action ? kIOReturnSuccess : kIOReturnBadArgument;
}

kern_return_t IMPL(TestShapesSource, Poll) {
  Record(rpc.msgid == IORPCMethodID("Poll") ? 'S' : '?');
  return synchronous ? kIOReturnSuccess : kIOReturnNotReady;
}

kern_return_t TestShapesSource::Create(uint64_t seed, TestShapesSource** source) {
  if (seed == 0) return kIOReturnBadArgument;
  *source = OSTypeAllocInitEmulated<TestShapesUser>();
  return *source ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IMPL(TestShapesSource, Measure) {
  blob->value = segment.address + segment.length;
  return kIOReturnSuccess;
}

void IMPL(TestShapesSource, Ready) {
  gShapesCount = count;
}

uint64_t TestShapesSource::Seed() const {
  return 7;
}

kern_return_t IMPL(TestShapesSource, _Secret) {
  *out = value * Seed();
  return kIOReturnSuccess;
}

kern_return_t IMPL(TestShapesUser, Poll) {
  Record('U');
  return Poll(synchronous, SUPERDISPATCH);
}

kern_return_t IMPL(TestShapesUser, Measure) {
  kern_return_t ret = Measure(segment, blob, SUPERDISPATCH);
  blob->value += 1;
  return ret;
}

void IMPL(TestShapesUser, Handler) {
  gShapesCount = count + 1000;
}

void IMPL(TestShapesUser, Other) {
  gShapesCount = count + 2000;
}
