// IOKitLib, app side (IOKitUser IOKitLib.c): objects, iterators, matching dictionaries, the
// registry and its CF properties, notification ports and the callouts of their messages
// (IODispatchCalloutFromCFMessage: async completions, matching and interest notifications).
// The user-client calls are in IOConnect.cpp.
#include <IOKit/IOKitLib.h>
#include <mach/mach.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fpgadext/emu/host_cost.h>

#include "../kernel/broker.h"
#include "cf_bridge.h"
#include "cf_internal.h"
#include "iokit_internal.h"
#include "kernel_link.h"

namespace broker = fpgadext::emu::broker;
namespace kernel_link = fpgadext::emu::kernel_link;
namespace cf = fpgadext::emu::cf;

struct IONotificationPort {
  mach_port_t port = 0;
  dispatch_queue_t queue = nullptr;
  CFRunLoopSourceRef source = nullptr;
};

namespace {

void CopyName(const std::string& from, io_name_t to) {
  std::strncpy(to, from.c_str(), sizeof(io_name_t) - 1);
  to[sizeof(io_name_t) - 1] = 0;
}

[[noreturn]] void Crash(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

// What IODispatchCalloutFromCFMessage does with one message.
void Callout(const broker::AsyncMessage& m) {
  using Kind = broker::AsyncMessage::Kind;
  // A notification the app has released delivers nothing (IOKitLib checks the notifier's
  // send-right count before the callout).
  if (m.kind != Kind::kAsyncCompletion && !kernel_link::NotificationIsLive(m.notification)) return;
  switch (m.kind) {
    case Kind::kAsyncCompletion: {
      auto callback = reinterpret_cast<IOAsyncCallback>(m.reference[kIOAsyncCalloutFuncIndex]);
      void* refcon = reinterpret_cast<void*>(m.reference[kIOAsyncCalloutRefconIndex]);
      void* args[kMaxAsyncArgs];
      for (uint32_t i = 0; i < m.argumentCount; ++i)
        args[i] = reinterpret_cast<void*>(m.arguments[i]);
      // A Mac's delivery of the dext's AsyncCompletion to the app (docs/performance.md).
      fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kCompletionToApp);
      if (callback != nullptr) callback(refcon, m.status, args, m.argumentCount);
      break;
    }
    case Kind::kMatching: {
      auto callback =
          reinterpret_cast<IOServiceMatchingCallback>(m.reference[kIOMatchingCalloutFuncIndex]);
      if (callback != nullptr) {
        callback(reinterpret_cast<void*>(m.reference[kIOMatchingCalloutRefconIndex]),
                 m.notification);
      }
      break;
    }
    case Kind::kInterest: {
      auto callback =
          reinterpret_cast<IOServiceInterestCallback>(m.reference[kIOInterestCalloutFuncIndex]);
      if (callback != nullptr) {
        callback(reinterpret_cast<void*>(m.reference[kIOInterestCalloutRefconIndex]), m.service,
                 m.messageType, reinterpret_cast<void*>(m.messageArgument));
      }
      break;
    }
  }
}

// The port's receiver: queues the callout on the port's dispatch queue or run loop source.
void Deliver(void* context, const broker::AsyncMessage& message) {
  auto* notify = static_cast<IONotificationPort*>(context);
  const broker::AsyncMessage copy = message;
  if (notify->queue != nullptr) {
    dispatch_async(notify->queue, ^{
      Callout(copy);
    });
  } else if (notify->source != nullptr) {
    cf::PostToRunLoopSource(notify->source, [copy] { Callout(copy); });
  }
}

// IOCFSerialize + OSUnserialize: the matching dictionary as the kernel sees it (+1), or nullptr.
OSDictionary* KernelDictionary(CFDictionaryRef matching) {
  OSObject* object = cf::ToOS(matching);
  OSDictionary* dict = cf::AsDictionary(object);
  if (dict == nullptr) cf::ReleaseOS(object);
  return dict;
}

std::string CString(CFStringRef s) {
  const CFIndex size =
      CFStringGetMaximumSizeForEncoding(CFStringGetLength(s), kCFStringEncodingUTF8) + 1;
  std::string out(static_cast<size_t>(size), '\0');
  if (!CFStringGetCString(s, out.data(), size, kCFStringEncodingUTF8)) return {};
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool ServicePlane(const char* plane) {
  return plane != nullptr && std::strcmp(plane, kIOServicePlane) == 0;
}

CFMutableDictionaryRef OneEntry(const char* key, CFTypeRef value) {
  CFMutableDictionaryRef dict = CFDictionaryCreateMutable(
      kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
  CFStringRef k = CFStringCreateWithCString(kCFAllocatorDefault, key, kCFStringEncodingUTF8);
  CFDictionarySetValue(dict, k, value);
  CFRelease(k);
  CFRelease(value);
  return dict;
}

}  // namespace

extern "C" {

const mach_port_t kIOMainPortDefault = 0;
const mach_port_t kIOMasterPortDefault = 0;
mach_port_t mach_task_self_ = fpgadext::emu::iokit::kTaskSelf;

kern_return_t IOMainPort(mach_port_t, mach_port_t* mainPort) {
  if (mainPort == nullptr) return kIOReturnBadArgument;
  *mainPort = kIOMainPortDefault;
  return KERN_SUCCESS;
}

kern_return_t IOMasterPort(mach_port_t bootstrapPort, mach_port_t* mainPort) {
  return IOMainPort(bootstrapPort, mainPort);
}

kern_return_t vm_deallocate(vm_map_t, vm_address_t address, vm_size_t) {
  std::free(reinterpret_cast<void*>(address));
  return KERN_SUCCESS;
}

// Objects and iterators.

kern_return_t IOObjectRelease(io_object_t object) {
  return kernel_link::ObjectRelease(object);
}
kern_return_t IOObjectRetain(io_object_t object) {
  return kernel_link::ObjectRetain(object);
}

kern_return_t IOObjectGetClass(io_object_t object, io_name_t className) {
  std::string name;
  kern_return_t ret = kernel_link::ObjectGetClass(object, &name);
  if (ret == kIOReturnSuccess) CopyName(name, className);
  return ret;
}

CFStringRef IOObjectCopyClass(io_object_t object) {
  std::string name;
  if (kernel_link::ObjectGetClass(object, &name) != kIOReturnSuccess) return nullptr;
  return CFStringCreateWithCString(kCFAllocatorDefault, name.c_str(), kCFStringEncodingUTF8);
}

CFStringRef IOObjectCopySuperclassForClass(CFStringRef classname) {
  if (classname == nullptr) return nullptr;
  const std::string super = broker::SuperclassOf(CString(classname));
  if (super.empty()) return nullptr;
  return CFStringCreateWithCString(kCFAllocatorDefault, super.c_str(), kCFStringEncodingUTF8);
}

boolean_t IOObjectConformsTo(io_object_t object, const io_name_t className) {
  return kernel_link::ObjectConformsTo(object, className);
}

boolean_t IOObjectIsEqualTo(io_object_t object, io_object_t anObject) {
  return kernel_link::SameObject(object, anObject);
}

uint32_t IOObjectGetUserRetainCount(io_object_t object) {
  return kernel_link::ObjectUserRetainCount(object);
}

io_object_t IOIteratorNext(io_iterator_t iterator) {
  return kernel_link::IteratorNext(iterator);
}
void IOIteratorReset(io_iterator_t iterator) {
  kernel_link::IteratorReset(iterator);
}
boolean_t IOIteratorIsValid(io_iterator_t iterator) {
  return kernel_link::IteratorIsValid(iterator);
}

// Matching.

CFMutableDictionaryRef IOServiceMatching(const char* name) {
  if (name == nullptr) return nullptr;
  return OneEntry(kIOProviderClassKey,
                  CFStringCreateWithCString(kCFAllocatorDefault, name, kCFStringEncodingMacRoman));
}

CFMutableDictionaryRef IOServiceNameMatching(const char* name) {
  if (name == nullptr) return nullptr;
  return OneEntry(kIONameMatchKey,
                  CFStringCreateWithCString(kCFAllocatorDefault, name, kCFStringEncodingMacRoman));
}

CFMutableDictionaryRef IORegistryEntryIDMatching(uint64_t entryID) {
  return OneEntry(kIORegistryEntryIDKey,
                  CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt64Type, &entryID));
}

CFMutableDictionaryRef IOBSDNameMatching(mach_port_t, uint32_t, const char* bsdName) {
  if (bsdName == nullptr) return nullptr;
  return OneEntry(
      "BSD Name",  // kIOBSDNameKey (IOBSD.h); no emulated service has one
      CFStringCreateWithCString(kCFAllocatorDefault, bsdName, kCFStringEncodingMacRoman));
}

kern_return_t IOServiceGetMatchingServices(mach_port_t, CFDictionaryRef matching,
                                           io_iterator_t* existing) {
  if (matching == nullptr) return kIOReturnBadArgument;
  OSDictionary* dict = KernelDictionary(matching);
  CFRelease(matching);  // consumed, whatever happens next
  if (dict == nullptr) return kIOReturnBadArgument;
  std::vector<uint32_t> handles;
  kern_return_t ret = kernel_link::GetMatchingServices(dict, &handles);
  cf::ReleaseOS(dict);
  if (ret != kIOReturnSuccess) return ret;
  *existing = kernel_link::IteratorCreate(handles);
  return kIOReturnSuccess;
}

io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching) {
  io_iterator_t iterator = 0;
  if (IOServiceGetMatchingServices(mainPort, matching, &iterator) != kIOReturnSuccess) return 0;
  io_service_t first = IOIteratorNext(iterator);
  IOObjectRelease(iterator);
  return first;
}

kern_return_t IOServiceMatchPropertyTable(io_service_t service, CFDictionaryRef matching,
                                          boolean_t* matches) {
  if (matching == nullptr || matches == nullptr) return kIOReturnBadArgument;
  OSDictionary* dict = KernelDictionary(matching);  // not consumed
  if (dict == nullptr) return kIOReturnBadArgument;
  bool match = false;
  kern_return_t ret = broker::MatchPropertyTable(service, dict, &match);
  cf::ReleaseOS(dict);
  if (ret == kIOReturnSuccess) *matches = match;
  return ret;
}

kern_return_t IOServiceAddMatchingNotification(IONotificationPortRef notifyPort,
                                               const io_name_t notificationType,
                                               CFDictionaryRef matching,
                                               IOServiceMatchingCallback callback, void* refCon,
                                               io_iterator_t* notification) {
  if (notifyPort == nullptr) Crash("IOServiceAddMatchingNotification: NULL notification port");
  if (matching == nullptr) return kIOReturnBadArgument;
  OSDictionary* dict = KernelDictionary(matching);
  CFRelease(matching);
  if (dict == nullptr) return kIOReturnBadArgument;
  uint64_t reference[kIOMatchingCalloutCount] = {};
  reference[kIOMatchingCalloutFuncIndex] = reinterpret_cast<uint64_t>(callback);
  reference[kIOMatchingCalloutRefconIndex] = reinterpret_cast<uint64_t>(refCon);
  io_iterator_t made = 0;
  kern_return_t ret = kernel_link::AddMatchingNotification(
      notificationType, dict, notifyPort->port, reference, kIOMatchingCalloutCount, &made);
  cf::ReleaseOS(dict);
  if (ret == kIOReturnSuccess) *notification = made;
  return ret;
}

kern_return_t IOServiceAddInterestNotification(IONotificationPortRef notifyPort,
                                               io_service_t service, const io_name_t interestType,
                                               IOServiceInterestCallback callback, void* refCon,
                                               io_object_t* notification) {
  if (notifyPort == nullptr) Crash("IOServiceAddInterestNotification: NULL notification port");
  uint64_t reference[kIOInterestCalloutCount] = {};
  reference[kIOInterestCalloutFuncIndex] = reinterpret_cast<uint64_t>(callback);
  reference[kIOInterestCalloutRefconIndex] = reinterpret_cast<uint64_t>(refCon);
  reference[kIOInterestCalloutServiceIndex] = service;
  io_object_t made = 0;
  kern_return_t ret = kernel_link::AddInterestNotification(
      service, interestType, notifyPort->port, reference, kIOInterestCalloutCount, &made);
  if (ret == kIOReturnSuccess) *notification = made;
  return ret;
}

// Matching and termination in the emulated kernel are synchronous: nothing is ever busy.
kern_return_t IOServiceGetBusyState(io_service_t service, uint32_t* busyState) {
  if (busyState == nullptr) return kIOReturnBadArgument;
  uint64_t id = 0;
  kern_return_t ret = kernel_link::RegistryEntryGetID(service, &id);
  if (ret == kIOReturnSuccess) *busyState = 0;
  return ret;
}

kern_return_t IOServiceWaitQuiet(io_service_t service, mach_timespec_t*) {
  uint64_t id = 0;
  return kernel_link::RegistryEntryGetID(service, &id);
}

kern_return_t IOKitGetBusyState(mach_port_t, uint32_t* busyState) {
  if (busyState == nullptr) return kIOReturnBadArgument;
  *busyState = 0;
  return kIOReturnSuccess;
}

kern_return_t IOKitWaitQuietWithOptions(mach_port_t, mach_timespec_t*, IOOptionBits) {
  return kIOReturnSuccess;
}

kern_return_t IOKitWaitQuiet(mach_port_t, mach_timespec_t*) {
  return kIOReturnSuccess;
}

// The registry.

kern_return_t IORegistryEntryGetName(io_registry_entry_t entry, io_name_t name) {
  std::string n;
  kern_return_t ret = kernel_link::RegistryEntryGetName(entry, &n);
  if (ret == kIOReturnSuccess) CopyName(n, name);
  return ret;
}

kern_return_t IORegistryEntryGetNameInPlane(io_registry_entry_t entry, const io_name_t plane,
                                            io_name_t name) {
  if (plane != nullptr && plane[0] != 0 && !ServicePlane(plane)) return kIOReturnBadArgument;
  return IORegistryEntryGetName(entry, name);
}

kern_return_t IORegistryEntryGetRegistryEntryID(io_registry_entry_t entry, uint64_t* entryID) {
  if (entryID == nullptr) return kIOReturnBadArgument;
  kern_return_t ret = kernel_link::RegistryEntryGetID(entry, entryID);
  if (ret != KERN_SUCCESS) *entryID = 0;
  return ret;
}

kern_return_t IORegistryEntryCreateCFProperties(io_registry_entry_t entry,
                                                CFMutableDictionaryRef* properties, CFAllocatorRef,
                                                IOOptionBits) {
  if (properties == nullptr) return kIOReturnBadArgument;
  OSDictionary* dict = nullptr;
  kern_return_t ret = kernel_link::CopyProperties(entry, &dict);
  if (ret != kIOReturnSuccess) return ret;
  CFTypeRef copy = cf::FromOS(dict);
  cf::ReleaseOS(dict);
  *properties = static_cast<CFMutableDictionaryRef>(const_cast<void*>(copy));
  return *properties ? kIOReturnSuccess : kIOReturnInternalError;
}

CFTypeRef IORegistryEntrySearchCFProperty(io_registry_entry_t entry, const io_name_t plane,
                                          CFStringRef key, CFAllocatorRef, IOOptionBits options) {
  const std::string name = CString(key);  // CFString in, as IOKitLib converts it
  const bool parents = (options & kIORegistryIterateRecursively) &&
                       (options & kIORegistryIterateParents) && ServicePlane(plane);
  OSObject* value = nullptr;
  if (kernel_link::CopyProperty(entry, name.c_str(), parents, &value) != kIOReturnSuccess) {
    return nullptr;
  }
  CFTypeRef result = cf::FromOS(value);
  cf::ReleaseOS(value);
  return result;
}

CFTypeRef IORegistryEntryCreateCFProperty(io_registry_entry_t entry, CFStringRef key,
                                          CFAllocatorRef allocator, IOOptionBits) {
  return IORegistryEntrySearchCFProperty(entry, nullptr, key, allocator, 0);
}

static kern_return_t Relatives(io_registry_entry_t entry, const io_name_t plane, bool parents,
                               std::vector<uint32_t>* handles) {
  if (!ServicePlane(plane)) return kIOReturnBadArgument;  // the only plane emulated
  return parents ? broker::GetParents(entry, handles) : broker::GetChildren(entry, handles);
}

kern_return_t IORegistryEntryGetChildIterator(io_registry_entry_t entry, const io_name_t plane,
                                              io_iterator_t* iterator) {
  std::vector<uint32_t> handles;
  kern_return_t ret = Relatives(entry, plane, false, &handles);
  if (ret == kIOReturnSuccess) *iterator = kernel_link::IteratorCreate(handles);
  return ret;
}

kern_return_t IORegistryEntryGetParentIterator(io_registry_entry_t entry, const io_name_t plane,
                                               io_iterator_t* iterator) {
  std::vector<uint32_t> handles;
  kern_return_t ret = Relatives(entry, plane, true, &handles);
  if (ret == kIOReturnSuccess) *iterator = kernel_link::IteratorCreate(handles);
  return ret;
}

static kern_return_t FirstRelative(io_registry_entry_t entry, const io_name_t plane, bool parents,
                                   io_registry_entry_t* result) {
  std::vector<uint32_t> handles;
  kern_return_t ret = Relatives(entry, plane, parents, &handles);
  if (ret != kIOReturnSuccess) return ret;
  for (size_t i = 1; i < handles.size(); ++i) kernel_link::ObjectRelease(handles[i]);
  if (handles.empty()) return kIOReturnNoDevice;  // is_io_registry_entry_get_child/parent_entry
  *result = handles[0];
  return kIOReturnSuccess;
}

kern_return_t IORegistryEntryGetChildEntry(io_registry_entry_t entry, const io_name_t plane,
                                           io_registry_entry_t* child) {
  return FirstRelative(entry, plane, false, child);
}

kern_return_t IORegistryEntryGetParentEntry(io_registry_entry_t entry, const io_name_t plane,
                                            io_registry_entry_t* parent) {
  return FirstRelative(entry, plane, true, parent);
}

boolean_t IORegistryEntryInPlane(io_registry_entry_t entry, const io_name_t plane) {
  std::vector<uint32_t> handles;
  if (Relatives(entry, plane, true, &handles) != kIOReturnSuccess) return false;
  for (uint32_t h : handles) kernel_link::ObjectRelease(h);
  return !handles.empty();
}

// Notification ports.

IONotificationPortRef IONotificationPortCreate(mach_port_t) {
  auto* notify = new IONotificationPort;
  notify->port = kernel_link::NotificationPortCreate();
  return notify;
}

void IONotificationPortDestroy(IONotificationPortRef notify) {
  if (notify == nullptr) return;
  kernel_link::NotificationPortDestroy(notify->port);
  if (notify->queue) {
    dispatch_sync(notify->queue, ^{
                  });  // callouts already queued finish first
    dispatch_release(notify->queue);
  }
  if (notify->source) {
    CFRunLoopSourceInvalidate(notify->source);
    CFRelease(notify->source);
  }
  delete notify;
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify) {
  return notify ? notify->port : 0;
}

kern_return_t IONotificationPortSetImportanceReceiver(IONotificationPortRef notify) {
  return notify ? KERN_SUCCESS : kIOReturnBadArgument;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue) {
  if (notify == nullptr || queue == nullptr) return;
  dispatch_retain(queue);
  if (notify->queue) dispatch_release(notify->queue);
  notify->queue = queue;
  kernel_link::NotificationPortSetReceiver(notify->port, Deliver, notify);
}

CFRunLoopSourceRef IONotificationPortGetRunLoopSource(IONotificationPortRef notify) {
  if (notify == nullptr) return nullptr;
  if (notify->source == nullptr) {
    notify->source = cf::NewRunLoopSource();
    if (notify->queue == nullptr)
      kernel_link::NotificationPortSetReceiver(notify->port, Deliver, notify);
  }
  return notify->source;  // owned by the port: not released by the caller
}

}  // extern "C"
