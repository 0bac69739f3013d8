#include "TestBase.h"

OSDefineMetaClass(TestBase, OSObject);

kern_return_t TestBase::_Dispatch(OSObject* self, const IORPC rpc) {
  switch (rpc.msgid) {
    case IORPCMethodID("Ping"):
      return IORPCInvoke(rpc, &TestBase::Ping_Impl, [self](auto&&... a) {
        return static_cast<TestBase*>(self)->TestBase::Ping_Impl(a...);
      });
    default:
      return OSObject::_Dispatch(self, rpc);
  }
}

kern_return_t IMPL(TestBase, Ping) {
  Record('B');
  *out = value + 1;
  return kIOReturnSuccess;
}

void TestBase::Record(char c) {
  size_t n = 0;
  while (n + 1 < sizeof(trace) && trace[n] != 0) ++n;
  trace[n] = c;
}
