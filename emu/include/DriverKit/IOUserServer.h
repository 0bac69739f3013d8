// IOUserServer (xnu iokit/DriverKit/IOUserServer.iig; Apple's generated IOUserServer.h, iig 16.4):
// the kernel's object for a dext process. Xcode's DriverKit template includes this header; like
// Apple's it brings in OSObject.h, OSAction.h and IOService.h. The emulated machine has no
// separate server process to create, exit or load modules into: Create, Exit and LoadModule
// return kIOReturnUnsupported.
#pragma once

#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSObject.h>

class IOUserServer : public IOService {
  OSDeclareEmulatedClass(IOUserServer)

 public:
  static kern_return_t Create(const char name[64], uint64_t tag, uint64_t options,
                              OSString* bundleID, IOUserServer** server);

  bool init() override;
  void free() override;

  kern_return_t Exit(const char reason[1024], OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(Exit, reason);
  }
  virtual kern_return_t Exit_Impl(const char* reason);
  kern_return_t LoadModule(const char path[1024], OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(LoadModule, path);
  }
  virtual kern_return_t LoadModule_Impl(const char* path);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);
};
