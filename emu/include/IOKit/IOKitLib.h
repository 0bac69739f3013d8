// IOKitLib (IOKitUser IOKitLib.h): the app side of the emulated machine. Names, signatures and
// behaviour are Apple's; calls go to the kernel broker of fpgadext::emu::Machine::Current().
// Declared here and not emulated: see tests/headers/manifests/IOKit/IOKitLib.h.names (!missing).
#ifndef _IOKIT_IOKITLIB_H
#define _IOKIT_IOKITLIB_H

#include <CoreFoundation/CFBase.h>
#include <CoreFoundation/CFDictionary.h>
#include <CoreFoundation/CFRunLoop.h>
#include <IOKit/IOKitKeys.h>
#include <IOKit/IOTypes.h>
#include <IOKit/OSMessageNotification.h>
#include <dispatch/dispatch.h>
#include <mach/mach_init.h>
#include <mach/mach_types.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEPRECATED_ATTRIBUTE_EXCLUDE_PUBLIC_IOS __attribute__((deprecated))
#define AVAILABLE_MAC_OS_X_VERSION_10_0_AND_LATER_BUT_DEPRECATED_IN_MAC_OS_X_VERSION_10_5_EXCLUDE_PUBLIC_IOS \
  __attribute__((deprecated))

typedef struct IONotificationPort* IONotificationPortRef;

typedef void (*IOServiceMatchingCallback)(void* refcon, io_iterator_t iterator);
typedef void (*IOServiceInterestCallback)(void* refcon, io_service_t service, uint32_t messageType,
                                          void* messageArgument);

// Main port: 0 stands for the default one everywhere.
extern const mach_port_t kIOMainPortDefault;
kern_return_t IOMainPort(mach_port_t bootstrapPort, mach_port_t* mainPort);
extern const mach_port_t kIOMasterPortDefault __attribute__((deprecated));
kern_return_t IOMasterPort(mach_port_t bootstrapPort, mach_port_t* mainPort)
    __attribute__((deprecated));

// Notification ports: async completions, matching and interest notifications arrive on a port
// and are called out on its dispatch queue or run loop source.
IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
CFRunLoopSourceRef IONotificationPortGetRunLoopSource(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
kern_return_t IONotificationPortSetImportanceReceiver(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);

// Objects.
kern_return_t IOObjectRelease(io_object_t object);
kern_return_t IOObjectRetain(io_object_t object);
kern_return_t IOObjectGetClass(io_object_t object, io_name_t className);
CFStringRef IOObjectCopyClass(io_object_t object);
CFStringRef IOObjectCopySuperclassForClass(CFStringRef classname);
boolean_t IOObjectConformsTo(io_object_t object, const io_name_t className);
boolean_t IOObjectIsEqualTo(io_object_t object, io_object_t anObject);
uint32_t IOObjectGetUserRetainCount(io_object_t object);

// Iterators.
io_object_t IOIteratorNext(io_iterator_t iterator);
void IOIteratorReset(io_iterator_t iterator);
boolean_t IOIteratorIsValid(io_iterator_t iterator);

// Matching and notifications. The functions taking `matching` consume one reference to it.
io_service_t IOServiceGetMatchingService(mach_port_t mainPort,
                                         CFDictionaryRef matching CF_RELEASES_ARGUMENT);
kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort,
                                           CFDictionaryRef matching CF_RELEASES_ARGUMENT,
                                           io_iterator_t* existing);
kern_return_t IOServiceAddMatchingNotification(IONotificationPortRef notifyPort,
                                               const io_name_t notificationType,
                                               CFDictionaryRef matching CF_RELEASES_ARGUMENT,
                                               IOServiceMatchingCallback callback, void* refCon,
                                               io_iterator_t* notification);
kern_return_t IOServiceAddInterestNotification(IONotificationPortRef notifyPort,
                                               io_service_t service, const io_name_t interestType,
                                               IOServiceInterestCallback callback, void* refCon,
                                               io_object_t* notification);
kern_return_t IOServiceMatchPropertyTable(io_service_t service, CFDictionaryRef matching,
                                          boolean_t* matches);
kern_return_t IOServiceGetBusyState(io_service_t service, uint32_t* busyState);
kern_return_t IOServiceWaitQuiet(io_service_t service, mach_timespec_t* waitTime);
kern_return_t IOKitGetBusyState(mach_port_t mainPort, uint32_t* busyState);
kern_return_t IOKitWaitQuietWithOptions(mach_port_t mainPort, mach_timespec_t* waitTime,
                                        IOOptionBits options);
kern_return_t IOKitWaitQuiet(mach_port_t mainPort, mach_timespec_t* waitTime);

// Connections to user clients.
kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
                            io_connect_t* connect);
enum {
  kIOServiceInteractionAllowed = 0x00000001,
};
kern_return_t IOServiceClose(io_connect_t connect);
kern_return_t IOConnectAddRef(io_connect_t connect);
kern_return_t IOConnectRelease(io_connect_t connect);
kern_return_t IOConnectGetService(io_connect_t connect, io_service_t* service);
kern_return_t IOConnectSetNotificationPort(io_connect_t connect, uint32_t type, mach_port_t port,
                                           uintptr_t reference);

kern_return_t IOConnectMapMemory(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                 mach_vm_address_t* atAddress, mach_vm_size_t* ofSize,
                                 IOOptionBits options);
kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                   mach_vm_address_t* atAddress, mach_vm_size_t* ofSize,
                                   IOOptionBits options);
kern_return_t IOConnectUnmapMemory(io_connect_t connect, uint32_t memoryType, task_port_t fromTask,
                                   mach_vm_address_t atAddress);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
                                     task_port_t fromTask, mach_vm_address_t atAddress);

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector, const uint64_t* input,
                                  uint32_t inputCnt, const void* inputStruct, size_t inputStructCnt,
                                  uint64_t* output, uint32_t* outputCnt, void* outputStruct,
                                  size_t* outputStructCnt);
kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector,
                                       mach_port_t wake_port, uint64_t* reference,
                                       uint32_t referenceCnt, const uint64_t* input,
                                       uint32_t inputCnt, const void* inputStruct,
                                       size_t inputStructCnt, uint64_t* output, uint32_t* outputCnt,
                                       void* outputStruct, size_t* outputStructCnt);
kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector,
                                        const void* inputStruct, size_t inputStructCnt,
                                        void* outputStruct, size_t* outputStructCnt);
kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const void* inputStruct,
                                             size_t inputStructCnt, void* outputStruct,
                                             size_t* outputStructCnt);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
                                        const uint64_t* input, uint32_t inputCnt, uint64_t* output,
                                        uint32_t* outputCnt);
kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const uint64_t* input,
                                             uint32_t inputCnt, uint64_t* output,
                                             uint32_t* outputCnt);

// Traps: a DriverKit user client has none; the call does nothing.
kern_return_t IOConnectTrap0(io_connect_t connect, uint32_t index);
kern_return_t IOConnectTrap1(io_connect_t connect, uint32_t index, uintptr_t p1);
kern_return_t IOConnectTrap2(io_connect_t connect, uint32_t index, uintptr_t p1, uintptr_t p2);
kern_return_t IOConnectTrap3(io_connect_t connect, uint32_t index, uintptr_t p1, uintptr_t p2,
                             uintptr_t p3);
kern_return_t IOConnectTrap4(io_connect_t connect, uint32_t index, uintptr_t p1, uintptr_t p2,
                             uintptr_t p3, uintptr_t p4);
kern_return_t IOConnectTrap5(io_connect_t connect, uint32_t index, uintptr_t p1, uintptr_t p2,
                             uintptr_t p3, uintptr_t p4, uintptr_t p5);
kern_return_t IOConnectTrap6(io_connect_t connect, uint32_t index, uintptr_t p1, uintptr_t p2,
                             uintptr_t p3, uintptr_t p4, uintptr_t p5, uintptr_t p6);

// The registry (the service plane only).
enum {
  kIORegistryIterateRecursively = 0x00000001,
  kIORegistryIterateParents = 0x00000002,
};
kern_return_t IORegistryEntryGetName(io_registry_entry_t entry, io_name_t name);
kern_return_t IORegistryEntryGetNameInPlane(io_registry_entry_t entry, const io_name_t plane,
                                            io_name_t name);
kern_return_t IORegistryEntryGetRegistryEntryID(io_registry_entry_t entry, uint64_t* entryID);
kern_return_t IORegistryEntryCreateCFProperties(io_registry_entry_t entry,
                                                CFMutableDictionaryRef* properties,
                                                CFAllocatorRef allocator, IOOptionBits options);
CFTypeRef IORegistryEntryCreateCFProperty(io_registry_entry_t entry, CFStringRef key,
                                          CFAllocatorRef allocator, IOOptionBits options);
CFTypeRef IORegistryEntrySearchCFProperty(io_registry_entry_t entry, const io_name_t plane,
                                          CFStringRef key, CFAllocatorRef allocator,
                                          IOOptionBits options) CF_RETURNS_RETAINED;
kern_return_t IORegistryEntryGetChildIterator(io_registry_entry_t entry, const io_name_t plane,
                                              io_iterator_t* iterator);
kern_return_t IORegistryEntryGetChildEntry(io_registry_entry_t entry, const io_name_t plane,
                                           io_registry_entry_t* child);
kern_return_t IORegistryEntryGetParentIterator(io_registry_entry_t entry, const io_name_t plane,
                                               io_iterator_t* iterator);
kern_return_t IORegistryEntryGetParentEntry(io_registry_entry_t entry, const io_name_t plane,
                                            io_registry_entry_t* parent);
boolean_t IORegistryEntryInPlane(io_registry_entry_t entry, const io_name_t plane);

// Matching dictionaries.
CFMutableDictionaryRef IOServiceMatching(const char* name) CF_RETURNS_RETAINED;
CFMutableDictionaryRef IOServiceNameMatching(const char* name) CF_RETURNS_RETAINED;
CFMutableDictionaryRef IOBSDNameMatching(mach_port_t mainPort, uint32_t options,
                                         const char* bsdName) CF_RETURNS_RETAINED;
CFMutableDictionaryRef IORegistryEntryIDMatching(uint64_t entryID) CF_RETURNS_RETAINED;

// Callbacks of async user-client calls: args[i] are the dext's completion arguments.
typedef void (*IOAsyncCallback0)(void* refcon, IOReturn result);
typedef void (*IOAsyncCallback1)(void* refcon, IOReturn result, void* arg0);
typedef void (*IOAsyncCallback2)(void* refcon, IOReturn result, void* arg0, void* arg1);
typedef void (*IOAsyncCallback)(void* refcon, IOReturn result, void** args, uint32_t numArgs);

#ifdef __cplusplus
}
#endif

#endif
