// OSObject, the root of DriverKit's object model, as the emulation provides it: what Apple's iig
// output of xnu iokit/DriverKit/OSObject.iig declares for a dext (iig 16.4 OSObject.h), and what
// that header brings in: <string.h> (memcpy, memcmp, bzero…), <DriverKit/IOReturn.h> and
// <DriverKit/OSMetaClass.h> (OSDynamicCast, OSRequiredCast, OSTypeAlloc, SUPERDISPATCH).
// OSSafeReleaseNULL is not here: it lives in <DriverKit/IOLib.h>, as on a Mac.
//
// The iig annotations (KERNEL, LOCAL, LOCALONLY, QUEUENAME, TYPE…) are not macros outside iig,
// as in Apple's header: only their IIG_-prefixed forms are, and they expand to nothing.
//
// Underneath, methods that can be called with SUPERDISPATCH have a non-virtual wrapper (what
// user code calls) and a virtual `<Method>_Impl` (what a subclass overrides); see
// <fpgadext/emu/object_model.h>.
#pragma once

#include <DriverKit/IOReturn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <DriverKit/OSMetaClass.h>

class OSObject;
typedef OSObject* OSObjectPtr;

#ifndef __IIG_ATTRIBUTES_DEFINED__
#define __IIG_ATTRIBUTES_DEFINED__ 1
#define IIG_KERNEL
#define IIG_NATIVE
#define IIG_LOCAL
#define IIG_LOCALONLY
#define IIG_REMOTE
#define IIG_LOCALHOST
#define IIG_INVOKEREPLY
#define IIG_REPLY
#define IIG_PORTMAKESEND
#define IIG_PORTCOPYSEND
#define IIG_TARGET
#define IIG_TYPE(p)
#define IIG_EXTENDS(cls)
#define IIG_QUEUENAME(name)
#define IIG_SERIALIZABLE
#endif

class OSContainer;

// Ownership annotations for the clang static analyzer.
#if __has_attribute(os_returns_retained)
#define DRIVERKIT_RETURNS_RETAINED __attribute__((os_returns_retained))
#else
#define DRIVERKIT_RETURNS_RETAINED
#endif
#if __has_attribute(os_returns_not_retained)
#define DRIVERKIT_RETURNS_NOT_RETAINED __attribute__((os_returns_not_retained))
#else
#define DRIVERKIT_RETURNS_NOT_RETAINED
#endif
#if __has_attribute(os_consumed)
#define DRIVERKIT_CONSUMED __attribute__((os_consumed))
#else
#define DRIVERKIT_CONSUMED
#endif
#if __has_attribute(os_consumes_this)
#define DRIVERKIT_CONSUMES_THIS __attribute__((os_consumes_this))
#else
#define DRIVERKIT_CONSUMES_THIS
#endif
#if __has_attribute(os_returns_retained_on_zero)
#define DRIVERKIT_RETURNS_RETAINED_ON_ZERO __attribute__((os_returns_retained_on_zero))
#else
#define DRIVERKIT_RETURNS_RETAINED_ON_ZERO
#endif
#if __has_attribute(os_returns_retained_on_non_zero)
#define DRIVERKIT_RETURNS_RETAINED_ON_NONZERO __attribute__((os_returns_retained_on_non_zero))
#else
#define DRIVERKIT_RETURNS_RETAINED_ON_NONZERO
#endif
#define LIBKERN_RETURNS_RETAINED DRIVERKIT_RETURNS_RETAINED
#define LIBKERN_RETURNS_NOT_RETAINED DRIVERKIT_RETURNS_NOT_RETAINED
#define LIBKERN_CONSUMED DRIVERKIT_CONSUMED
#define LIBKERN_CONSUMES_THIS DRIVERKIT_CONSUMES_THIS
#define LIBKERN_RETURNS_RETAINED_ON_ZERO DRIVERKIT_RETURNS_RETAINED_ON_ZERO
#define LIBKERN_RETURNS_RETAINED_ON_NONZERO DRIVERKIT_RETURNS_RETAINED_ON_NONZERO

class OSData;
class OSNumber;
class OSString;
class OSBoolean;
class OSDictionary;
class OSArray;
class OSSet;
class OSOrderedSet;

class OSMetaClass;
class IODispatchQueue;
typedef char IODispatchQueueName[256];

class OSObject : public OSMetaClassBase {
  OSDeclareEmulatedClass(OSObject)

 public:
  OSObject();
  virtual bool init();
  virtual void free();

  void retain() const override;
  // At zero references, free() runs and the object is deleted.
  void release() const override;

  // Named dispatch queues; implemented by IOService. An OSObject that is not an IOService has
  // none: kIOReturnUnsupported.
  kern_return_t SetDispatchQueue(const char* name, IODispatchQueue* queue,
                                 OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(SetDispatchQueue, name, queue);
  }
  virtual kern_return_t SetDispatchQueue_Impl(const char* name, IODispatchQueue* queue);
  kern_return_t CopyDispatchQueue(const char* name, IODispatchQueue** queue,
                                  OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(CopyDispatchQueue, name, queue);
  }
  virtual kern_return_t CopyDispatchQueue_Impl(const char* name, IODispatchQueue** queue);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

 protected:
  ~OSObject() override;
};

#define OSObject_SetDispatchQueue_Args const char *name, IODispatchQueue *queue
#define OSObject_CopyDispatchQueue_Args const char *name, IODispatchQueue **queue

// IMPL(Class, Method) names the implementation of an iig method.
#define DEFN(classname, name) name##_Impl(classname##_##name##_Args)
#define IMPL(classname, name) classname::DEFN(classname, name)
