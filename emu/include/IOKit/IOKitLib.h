// IOKitLib (IOKitUser IOKitLib.h): the app side of the emulated machine. Names, signatures and
// behaviour are Apple's; calls go to the kernel broker of fpgadext::emu::Machine::Current().
#pragma once

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOTypes.h>
#include <IOKit/OSMessageNotification.h>
#include <dispatch/dispatch.h>
#include <stddef.h>

typedef struct IONotificationPort* IONotificationPortRef;
typedef void (*IOAsyncCallback)(void* refcon, IOReturn result, void** args, uint32_t numArgs);

#ifdef __cplusplus
extern "C" {
#endif

extern const mach_port_t kIOMainPortDefault;
extern const mach_port_t kIOMasterPortDefault;

CFMutableDictionaryRef IOServiceMatching(const char* name);
CFMutableDictionaryRef IOServiceNameMatching(const char* name);
// Both consume one reference to `matching`.
io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching);
kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
                                           io_iterator_t* existing);
io_object_t IOIteratorNext(io_iterator_t iterator);
void IOIteratorReset(io_iterator_t iterator);
boolean_t IOIteratorIsValid(io_iterator_t iterator);
kern_return_t IOObjectRelease(io_object_t object);
kern_return_t IOObjectRetain(io_object_t object);
kern_return_t IOObjectGetClass(io_object_t object, io_name_t className);
boolean_t IOObjectConformsTo(io_object_t object, const io_name_t className);
kern_return_t IORegistryEntryGetName(io_registry_entry_t entry, io_name_t name);
kern_return_t IORegistryEntryGetRegistryEntryID(io_registry_entry_t entry, uint64_t* entryID);

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
                            io_connect_t* connect);
kern_return_t IOServiceClose(io_connect_t connect);

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector,
                                  const uint64_t* input, uint32_t inputCnt,
                                  const void* inputStruct, size_t inputStructCnt, uint64_t* output,
                                  uint32_t* outputCnt, void* outputStruct,
                                  size_t* outputStructCnt);
kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector,
                                       mach_port_t wake_port, uint64_t* reference,
                                       uint32_t referenceCnt, const uint64_t* input,
                                       uint32_t inputCnt, const void* inputStruct,
                                       size_t inputStructCnt, uint64_t* output,
                                       uint32_t* outputCnt, void* outputStruct,
                                       size_t* outputStructCnt);
kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector,
                                        const void* inputStruct, size_t inputStructCnt,
                                        void* outputStruct, size_t* outputStructCnt);
kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const void* inputStruct,
                                             size_t inputStructCnt, void* outputStruct,
                                             size_t* outputStructCnt);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
                                        const uint64_t* input, uint32_t inputCnt,
                                        uint64_t* output, uint32_t* outputCnt);
kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const uint64_t* input,
                                             uint32_t inputCnt, uint64_t* output,
                                             uint32_t* outputCnt);

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
                                   task_port_t intoTask, mach_vm_address_t* atAddress,
                                   mach_vm_size_t* ofSize, IOOptionBits options);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
                                     task_port_t fromTask, mach_vm_address_t atAddress);

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);

#ifdef __cplusplus
}
#endif
