// IOServiceNotificationDispatchSource (xnu iokit/DriverKit/IOServiceNotificationDispatchSource.iig;
// kernel half in xnu iokit/Kernel/IOUserServer.cpp): IOService matched and terminated
// notifications delivered to a dext.
//
// Not emulated: the emulated kernel publishes no matching notifications to dexts, so Create
// returns kIOReturnUnsupported and no instance ever exists.
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>

typedef void (^IOServiceNotificationBlock)(uint64_t type, IOService* service, uint64_t options);

enum {
  kIOServiceNotificationTypeTerminated = 0x00000000,
  kIOServiceNotificationTypeMatched = 0x00000001,
  kIOServiceNotificationTypeLast = kIOServiceNotificationTypeMatched,
  kIOServiceNotificationTypeNone = 0xFFFFFFFF,
};

#define IOServiceNotificationDispatchSource_SetHandler_Args OSAction* action
#define IOServiceNotificationDispatchSource_ServiceNotificationReady_Args OSAction* action

class IOServiceNotificationDispatchSource : public IODispatchSource {
  OSDeclareEmulatedClass(IOServiceNotificationDispatchSource)

 public:
  // kIOReturnUnsupported in the emulation (see above).
  static kern_return_t Create(OSDictionary* matching, uint64_t options, IODispatchQueue* queue,
                              IOServiceNotificationDispatchSource** notification);
  bool init() override;
  void free() override;

  kern_return_t SetHandler(OSAction* action, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetHandler, action);
  }
  kern_return_t DeliverNotifications(IOServiceNotificationBlock block);

  virtual kern_return_t SetHandler_Impl(OSAction* action);
  kern_return_t SetEnableWithCompletion_Impl(bool enable,
                                             IODispatchSourceCancelHandler handler) override;
  kern_return_t Cancel_Impl(IODispatchSourceCancelHandler handler) override;

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

 private:
  kern_return_t CheckForWork_Impl(bool synchronous) override;
};
