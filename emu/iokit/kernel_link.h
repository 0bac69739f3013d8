// How IOKitLib reaches the kernel: the broker in this process (a Machine made here), or the
// machine daemon's broker through its socket (issue 11; docs/emulation.md "Apps in other
// processes"). Each routine has the broker's signature (broker.h); emu/remote/machine_client.cpp
// implements them: through the socket once ConnectToMachine succeeded (or FPGADEXT_MACHINE
// names a socket and no Machine runs here), else by calling the broker directly.
// The broker routines IOKitLib calls that are not listed here stay in-process: with the kernel
// in another process they find no machine here and answer as for a dead name.
#pragma once

#include <string>
#include <vector>

#include "../kernel/broker.h"

namespace fpgadext::emu::kernel_link {

using broker::AsyncMessage;
using broker::ConnectMethodReply;
using broker::ConnectMethodRequest;

IOReturn GetMatchingServices(OSDictionary* matching, std::vector<uint32_t>* handles);
uint32_t IteratorCreate(const std::vector<uint32_t>& handles);
uint32_t IteratorNext(uint32_t iterator);
IOReturn IteratorReset(uint32_t iterator);
bool IteratorIsValid(uint32_t iterator);
IOReturn ObjectRetain(uint32_t handle);
IOReturn ObjectRelease(uint32_t handle);
IOReturn ObjectGetClass(uint32_t handle, std::string* className);
bool ObjectConformsTo(uint32_t handle, const char* className);
uint32_t ObjectUserRetainCount(uint32_t handle);
bool SameObject(uint32_t a, uint32_t b);
IOReturn RegistryEntryGetName(uint32_t handle, std::string* name);
IOReturn RegistryEntryGetID(uint32_t handle, uint64_t* id);
IOReturn CopyProperties(uint32_t entry, OSDictionary** properties);
IOReturn CopyProperty(uint32_t entry, const char* key, bool parents, OSObject** value);
IOReturn ConnectionGetService(uint32_t connection, uint32_t* service);
IOReturn CheckConnection(uint32_t connection);
IOReturn ServiceOpen(uint32_t service, uint32_t type, uint32_t* connection);
IOReturn ServiceClose(uint32_t connection);
void ConnectMethod(const ConnectMethodRequest& request, ConnectMethodReply* reply);
IOReturn MapMemory(uint32_t connection, uint32_t type, uint32_t options, uint64_t* address,
                   uint64_t* size);
IOReturn UnmapMemory(uint32_t connection, uint32_t type, uint64_t address);
uint32_t NotificationPortCreate();
void NotificationPortDestroy(uint32_t port);
void NotificationPortSetReceiver(uint32_t port, void (*deliver)(void* context, const AsyncMessage&),
                                 void* context);
bool NotificationIsLive(uint32_t notification);
IOReturn AddMatchingNotification(const char* type, OSDictionary* matching, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification);
IOReturn AddInterestNotification(uint32_t service, const char* type, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification);

}  // namespace fpgadext::emu::kernel_link
