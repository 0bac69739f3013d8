// IODispatchSource (xnu iokit/DriverKit/IODispatchSource.iig; Apple's generated IODispatchSource.h,
// iig 16.4): the base of the interrupt, timer, data-queue and service-notification sources.
//
// As everywhere in the emulation (OSObject.h), each method is a non-virtual wrapper taking an
// optional `supermethod` and a virtual `<Method>_Impl` that the sources override.
#pragma once

#include <DriverKit/OSObject.h>

typedef void (^IODispatchSourceCancelHandler)(void);

#define IODispatchSource_Cancel_Args IODispatchSourceCancelHandler handler
#define IODispatchSource_SetEnableWithCompletion_Args \
  bool enable, IODispatchSourceCancelHandler handler
#define IODispatchSource_CheckForWork_Args bool synchronous
#define IODispatchSource_SetEnable_Args bool enable

class IODispatchSource : public OSObject {
  OSDeclareEmulatedClass(IODispatchSource)

 public:
  bool init() override;
  void free() override;

  // After cancellation the source delivers nothing more and cannot be enabled again; `handler`
  // runs on the source's queue once any delivery already queued has run.
  kern_return_t Cancel(IODispatchSourceCancelHandler handler,
                       OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(Cancel, handler);
  }
  // Enables or disables delivery; `handler` (may be NULL) runs on the source's queue once any
  // delivery already queued has run.
  kern_return_t SetEnableWithCompletion(bool enable, IODispatchSourceCancelHandler handler,
                                        OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetEnableWithCompletion, enable, handler);
  }
  // The runtime's own call to collect a source's pending event; a driver has no use for it.
  kern_return_t CheckForWork(bool synchronous, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(CheckForWork, synchronous);
  }
  // SetEnableWithCompletion(enable, NULL).
  kern_return_t SetEnable(bool enable, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetEnable, enable);
  }

  virtual kern_return_t Cancel_Impl(IODispatchSourceCancelHandler handler) = 0;
  virtual kern_return_t SetEnableWithCompletion_Impl(bool enable,
                                                     IODispatchSourceCancelHandler handler) = 0;
  virtual kern_return_t CheckForWork_Impl(bool synchronous) = 0;
  virtual kern_return_t SetEnable_Impl(bool enable);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);
};
