// Must compile: what <IOKit/IOKitLib.h> brings in on a Mac — IOTypes/IOMapTypes, IOKitKeys,
// OSMessageNotification, the CF headers (CFString via CFRunLoop), dispatch, mach_init.
#include <IOKit/IOKitLib.h>

static_assert(kIOMapCacheMask == 0xf00);
static_assert(kIOMapReference == 0x02000000);
static_assert(kIOConnectMethodVarOutputSize == -3);

bool Uses(io_service_t service, char* name, CFIndex size) {
  CFStringRef key = CFSTR(kIOProviderClassKey);
  CFTypeRef value = IORegistryEntryCreateCFProperty(service, key, kCFAllocatorDefault, 0);
  bool ok = value && CFGetTypeID(value) == CFStringGetTypeID() &&
            CFStringGetCString(static_cast<CFStringRef>(value), name, size, kCFStringEncodingUTF8);
  if (value) CFRelease(value);
  IONotificationPortRef port = IONotificationPortCreate(kIOMainPortDefault);
  IONotificationPortSetDispatchQueue(port,
                                     dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 0));
  CFRunLoopAddSource(CFRunLoopGetMain(), IONotificationPortGetRunLoopSource(port),
                     kCFRunLoopDefaultMode);
  uint64_t reference[kOSAsyncRef64Count] = {};
  reference[kIOAsyncCalloutFuncIndex] = 0;
  (void)reference;
  io_connect_t connect = IO_OBJECT_NULL;
  ok = ok && IOServiceOpen(service, mach_task_self(), 0, &connect) == KERN_SUCCESS;
  IONotificationPortDestroy(port);
  return ok && kIOGeneralInterest[0] && kIOFirstMatchNotification[0] &&
         kIOTerminatedNotification[0];
}
