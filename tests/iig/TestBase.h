// A framework-like class written by hand as emu/include/DriverKit/IOService.h is: a non-virtual
// wrapper `Ping(..., supermethod)`, a virtual `Ping_Impl` and a `_Dispatch` that calls
// TestBase::Ping_Impl non-virtually. TestDerived.iig derives from it.
#pragma once

#include <DriverKit/OSObject.h>

#define TestBase_Ping_Args uint32_t value, uint32_t *out

class TestBase : public OSObject {
  OSDeclareEmulatedClass(TestBase)

 public:
  kern_return_t Ping(uint32_t value, uint32_t* out, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(Ping, value, out);
  }
  virtual kern_return_t Ping_Impl(uint32_t value, uint32_t* out);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

  // Which implementations ran, most recent last (one letter each).
  char trace[16] = {};
  void Record(char c);
};
