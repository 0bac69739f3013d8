#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/IOUserServer.h>
#include <DriverKit/OSCollections.h>
#include <DriverKit/OSSharedPtr.h>
#include <os/log.h>

#include <stdio.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "../kernel/user_server.h"

namespace userserver = fpgadext::emu::userserver;

OSDefineMetaClass(IOService, OSObject);

struct IOService::Queues {
  std::mutex lock;
  std::map<std::string, IODispatchQueue*> byName;  // retained
};

bool IOService::init() {
  if (!OSObject::init()) return false;
  queues_ = new Queues;
  IODispatchQueue* defaultQueue = nullptr;
  if (CreateDefaultDispatchQueue(&defaultQueue) != kIOReturnSuccess) return false;
  queues_->byName[kIOServiceDefaultQueueName] = defaultQueue;
  return true;
}

void IOService::free() {
  if (queues_ != nullptr) {
    for (auto& [name, queue] : queues_->byName) queue->release();
    delete queues_;
    queues_ = nullptr;
  }
  OSObject::free();
}

kern_return_t IOService::Start_Impl(IOService* provider) {
  return kIOReturnSuccess;
}
kern_return_t IOService::Stop_Impl(IOService* provider) {
  return kIOReturnSuccess;
}
kern_return_t IOService::NewUserClient_Impl(uint32_t type, IOUserClient** userClient) {
  return kIOReturnUnsupported;
}
kern_return_t IOService::SetPowerState_Impl(uint32_t powerFlags) {
  return kIOReturnSuccess;
}

// SUPERDISPATCH of any IOService method runs IOService's own implementation.
#define IOSERVICE_DISPATCH_CASE(_method)                \
  case IORPCMethodID(#_method):                         \
    return IORPCInvoke(rpc, &IOService::_method##_Impl, \
                       [s](auto... args) { return s->IOService::_method##_Impl(args...); });

kern_return_t IOService::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOService*>(self);
  switch (rpc.msgid) {
    IOSERVICE_DISPATCH_CASE(Start)
    IOSERVICE_DISPATCH_CASE(Stop)
    IOSERVICE_DISPATCH_CASE(ClientCrashed)
    IOSERVICE_DISPATCH_CASE(GetRegistryEntryID)
    IOSERVICE_DISPATCH_CASE(SetName)
    IOSERVICE_DISPATCH_CASE(RegisterService)
    IOSERVICE_DISPATCH_CASE(CreateDefaultDispatchQueue)
    IOSERVICE_DISPATCH_CASE(CopyProperties)
    IOSERVICE_DISPATCH_CASE(SearchProperty)
    IOSERVICE_DISPATCH_CASE(SetProperties)
    IOSERVICE_DISPATCH_CASE(JoinPMTree)
    IOSERVICE_DISPATCH_CASE(SetPowerState)
    IOSERVICE_DISPATCH_CASE(ChangePowerState)
    IOSERVICE_DISPATCH_CASE(SetPowerOverride)
    IOSERVICE_DISPATCH_CASE(NewUserClient)
    IOSERVICE_DISPATCH_CASE(Create)
    IOSERVICE_DISPATCH_CASE(Terminate)
    IOSERVICE_DISPATCH_CASE(CopyProviderProperties)
    IOSERVICE_DISPATCH_CASE(RequireMaxBusStall)
    IOSERVICE_DISPATCH_CASE(AdjustBusy)
    IOSERVICE_DISPATCH_CASE(GetBusyState)
    IOSERVICE_DISPATCH_CASE(CoreAnalyticsSendEvent)
    IOSERVICE_DISPATCH_CASE(UpdateReport)
    IOSERVICE_DISPATCH_CASE(ConfigureReport)
    IOSERVICE_DISPATCH_CASE(SetLegend)
    IOSERVICE_DISPATCH_CASE(CopyName)
    IOSERVICE_DISPATCH_CASE(StringFromReturn)
    IOSERVICE_DISPATCH_CASE(_ClaimSystemWakeEvent)
    IOSERVICE_DISPATCH_CASE(RemoveProperty)
    IOSERVICE_DISPATCH_CASE(CopySystemStateNotificationService)
    IOSERVICE_DISPATCH_CASE(StateNotificationItemCreate)
    IOSERVICE_DISPATCH_CASE(StateNotificationItemSet)
    IOSERVICE_DISPATCH_CASE(StateNotificationItemCopy)
    IOSERVICE_DISPATCH_CASE(SetDispatchQueue)
    IOSERVICE_DISPATCH_CASE(CopyDispatchQueue)
    default:
      return OSObject::_Dispatch(self, rpc);
  }
}

kern_return_t IOService::Create_Impl(IOService* provider, const char* propertiesKey,
                                     IOService** result) {
  if (provider == nullptr || propertiesKey == nullptr || result == nullptr) {
    return kIOReturnBadArgument;
  }
  if (!userserver::Connected() || node_ == nullptr || provider->node_ == nullptr) {
    return kIOReturnNotReady;
  }
  OSObject* property = userserver::CopyProperty(node_, propertiesKey, false);
  OSSharedPtr<OSObject> propertyHeld(property, OSNoRetain);
  auto* properties = OSDynamicCast(OSDictionary, property);
  if (properties == nullptr) {
    os_log_error(OS_LOG_DEFAULT, "IOService::Create: no dictionary property %{public}s",
                 propertiesKey);
    return kIOReturnBadArgument;
  }
  auto* userClass = OSDynamicCast(OSString, properties->getObject("IOUserClass"));
  auto* ioClass = OSDynamicCast(OSString, properties->getObject("IOClass"));
  const OSMetaClass* meta =
      userClass ? OSMetaClass::lookup(userClass->getCStringNoCopy()) : nullptr;
  if (meta == nullptr || !meta->isSubclassOf(OSTypeID(IOService))) {
    os_log_error(OS_LOG_DEFAULT, "IOService::Create: IOUserClass %{public}s not found",
                 userClass ? userClass->getCStringNoCopy() : "(missing)");
    return kIOReturnNotFound;
  }
  OSObject* object = meta->alloc();
  auto* service = OSDynamicCast(IOService, object);
  if (service == nullptr || !service->init()) {
    OSSafeReleaseNULL(object);
    return kIOReturnNoMemory;
  }
  const std::string kernelClass = ioClass ? ioClass->getCStringNoCopy() : "IOUserService";
  IOReturn ret = userserver::CreateService(node_, provider->node_, service, kernelClass.c_str(),
                                           userClass->getCStringNoCopy(), properties,
                                           OSDynamicCast(IOUserClient, service) != nullptr);
  if (ret != kIOReturnSuccess) return ret;  // the kernel dropped the node and the service
  service->retain();
  *result = service;
  return kIOReturnSuccess;
}

kern_return_t IOService::RegisterService_Impl() {
  if (node_ == nullptr) return kIOReturnNotReady;
  // Called after Start returned (e.g. once the hardware is ready): matching notifications go out
  // now. Called within Start: the kernel publishes the service when Start returns.
  userserver::RegisterService(node_);
  return kIOReturnSuccess;
}

kern_return_t IOService::Terminate_Impl(uint64_t options) {
  if (options != 0) return kIOReturnUnsupported;  // xnu Terminate_Impl
  if (node_ == nullptr) return kIOReturnBadArgument;
  userserver::TerminateService(node_, this);  // asynchronous, as on a Mac
  return kIOReturnSuccess;
}

kern_return_t IOService::SetName_Impl(const char* name) {
  if (name == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  userserver::SetName(node_, name);
  return kIOReturnSuccess;
}

kern_return_t IOService::CopyProperties_Impl(OSDictionary** properties) {
  if (properties == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  OSDictionary* copy = userserver::CopyProperties(node_);
  if (copy == nullptr) return kIOReturnNoMemory;
  *properties = copy;
  return kIOReturnSuccess;
}

kern_return_t IOService::SetProperties_Impl(OSDictionary* properties) {
  if (properties == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  return userserver::MergeProperties(node_, properties) ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOService::GetRegistryEntryID_Impl(uint64_t* registryEntryID) {
  if (registryEntryID == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  *registryEntryID = userserver::RegistryID(node_);
  return kIOReturnSuccess;
}

kern_return_t IOService::CopyDispatchQueue_Impl(const char* name, IODispatchQueue** queue) {
  if (queues_ == nullptr) return kIOReturnError;  // before init or after free, as xnu
  if (name == nullptr || queue == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(queues_->lock);
  auto it = queues_->byName.find(name);
  if (it == queues_->byName.end()) return kIOReturnNotFound;
  it->second->retain();
  *queue = it->second;
  return kIOReturnSuccess;
}

kern_return_t IOService::SetDispatchQueue_Impl(const char* name, IODispatchQueue* queue) {
  if (queues_ == nullptr) return kIOReturnError;  // before init or after free, as xnu
  if (name == nullptr || queue == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(queues_->lock);
  queue->retain();
  IODispatchQueue*& slot = queues_->byName[name];
  if (slot != nullptr) slot->release();
  slot = queue;
  return kIOReturnSuccess;
}

IODispatchQueue* IOService::EmulationQueue(const char* name) {
  std::lock_guard guard(queues_->lock);
  auto it = queues_->byName.find(name ? name : kIOServiceDefaultQueueName);
  if (it == queues_->byName.end()) it = queues_->byName.find(kIOServiceDefaultQueueName);
  return it->second;
}

IOService* IOService::GetProvider() const {
  if (node_ == nullptr) return nullptr;
  return userserver::Provider(node_);
}

kern_return_t IOService::ClientCrashed_Impl(IOService* client, uint64_t options) {
  return kIOReturnUnsupported;
}

kern_return_t IOService::CreateDefaultDispatchQueue_Impl(IODispatchQueue** queue) {
  if (queue == nullptr) return kIOReturnBadArgument;
  std::string name = std::string(GetClassName()) + "-Default";
  return IODispatchQueue::Create(name.c_str(), 0, 0, queue);
}

kern_return_t IOService::SearchProperty_Impl(const char* name, const char* plane, uint64_t options,
                                             OSContainer** property) {
  if (name == nullptr || property == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  OSObject* value =
      userserver::CopyProperty(node_, name, (options & kIOServiceSearchPropertyParents) != 0);
  *property = static_cast<OSContainer*>(value);
  return value != nullptr ? kIOReturnSuccess : kIOReturnNotFound;
}

kern_return_t IOService::JoinPMTree_Impl() {
  return kIOReturnUnsupported;
}

kern_return_t IOService::ChangePowerState_Impl(uint32_t powerFlags) {
  switch (powerFlags) {
    case kIOServicePowerCapabilityOff:
    case kIOServicePowerCapabilityLow:
    case kIOServicePowerCapabilityOn:
      return kIOReturnUnsupported;
    default:
      return kIOReturnBadArgument;
  }
}

kern_return_t IOService::SetPowerOverride_Impl(bool enable) {
  return kIOReturnUnsupported;
}

kern_return_t IOService::CopyProviderProperties_Impl(OSArray* propertyKeys, OSArray** properties) {
  if (properties == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  OSArray* result = userserver::CopyProviderProperties(node_, propertyKeys);
  if (result == nullptr) return kIOReturnNoMemory;
  *properties = result;
  return kIOReturnSuccess;
}

kern_return_t IOService::RequireMaxBusStall_Impl(uint64_t maxBusStall) {
  // xnu converts to 32 bits and refuses what does not fit; the emulated machine never sleeps, so
  // any latency requirement is already met.
  return maxBusStall > UINT32_MAX ? kIOReturnBadArgument : kIOReturnSuccess;
}

kern_return_t IOService::AdjustBusy_Impl(int32_t delta) {
  __atomic_add_fetch(&busy_, delta, __ATOMIC_RELAXED);
  return kIOReturnSuccess;
}

kern_return_t IOService::GetBusyState_Impl(uint32_t* busyState) {
  if (busyState == nullptr) return kIOReturnBadArgument;
  *busyState = static_cast<uint32_t>(__atomic_load_n(&busy_, __ATOMIC_RELAXED));
  return kIOReturnSuccess;
}

kern_return_t IOService::CoreAnalyticsSendEvent_Impl(uint64_t options, OSString* eventName,
                                                     OSDictionary* eventPayload) {
  return kIOReturnNotReady;
}

// ---- matching dictionaries ----

namespace {

OSDictionary* MatchingWith(const char* key, const OSObject* value, OSDictionary* matching) {
  if (key == nullptr || value == nullptr) return nullptr;
  OSDictionary* result = matching ? matching : OSDictionary::withCapacity(1);
  if (result == nullptr) return nullptr;
  if (!result->setObject(key, value)) {
    if (result != matching) result->release();
    return nullptr;
  }
  return result;
}

OSDictionary* MatchingWithString(const char* key, const char* value, OSDictionary* matching) {
  OSString* string = value ? OSString::withCString(value) : nullptr;
  OSDictionary* result = MatchingWith(key, string, matching);
  OSSafeReleaseNULL(string);
  return result;
}

}  // namespace

OSDictionary* IOService::CreatePropertyMatchingDictionary(const char* key, OSObjectPtr value,
                                                          OSDictionary* matching) {
  OSDictionary* property = MatchingWith(key, value, nullptr);
  OSDictionary* result = MatchingWith("IOPropertyMatch", property, matching);
  OSSafeReleaseNULL(property);
  return result;
}

OSDictionary* IOService::CreatePropertyMatchingDictionary(const char* key, const char* stringValue,
                                                          OSDictionary* matching) {
  OSString* string = stringValue ? OSString::withCString(stringValue) : nullptr;
  OSDictionary* result = CreatePropertyMatchingDictionary(key, string, matching);
  OSSafeReleaseNULL(string);
  return result;
}

OSDictionary* IOService::CreateKernelClassMatchingDictionary(OSString* className,
                                                             OSDictionary* matching) {
  return MatchingWith("IOProviderClass", className, matching);
}
OSDictionary* IOService::CreateKernelClassMatchingDictionary(const char* className,
                                                             OSDictionary* matching) {
  return MatchingWithString("IOProviderClass", className, matching);
}
OSDictionary* IOService::CreateUserClassMatchingDictionary(OSString* className,
                                                           OSDictionary* matching) {
  return MatchingWith("IOUserClass", className, matching);
}
OSDictionary* IOService::CreateUserClassMatchingDictionary(const char* className,
                                                           OSDictionary* matching) {
  return MatchingWithString("IOUserClass", className, matching);
}
OSDictionary* IOService::CreateNameMatchingDictionary(OSString* serviceName,
                                                      OSDictionary* matching) {
  return MatchingWith("IONameMatch", serviceName, matching);
}
OSDictionary* IOService::CreateNameMatchingDictionary(const char* serviceName,
                                                      OSDictionary* matching) {
  return MatchingWithString("IONameMatch", serviceName, matching);
}

// ---- IOReporting, names, wake events, state notifications ----

IOReturn IOService::UpdateReport_Impl(OSData* channels, uint32_t action, uint32_t* outElementCount,
                                      uint64_t offset, uint64_t capacity,
                                      IOMemoryDescriptor* buffer) {
  return kIOReturnUnsupported;
}
IOReturn IOService::ConfigureReport_Impl(OSData* channels, uint32_t action, uint32_t* outCount) {
  return kIOReturnUnsupported;
}
IOReturn IOService::SetLegend_Impl(OSArray* legend, bool is_public) {
  return kIOReturnUnsupported;
}

kern_return_t IOService::CopyName_Impl(OSString** name) {
  if (name == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  *name = userserver::CopyName(node_);
  return *name != nullptr ? kIOReturnSuccess : kIOReturnError;
}

namespace {

// The text xnu's IOService::stringFromReturn gives for each IOReturn (iokit/Kernel/IOService.cpp).
struct ReturnName {
  IOReturn value;
  const char* name;
};
constexpr ReturnName kReturnNames[] = {
    {kIOReturnSuccess, "success"},
    {kIOReturnError, "general error"},
    {kIOReturnNoMemory, "memory allocation error"},
    {kIOReturnNoResources, "resource shortage"},
    {kIOReturnIPCError, "Mach IPC failure"},
    {kIOReturnNoDevice, "no such device"},
    {kIOReturnNotPrivileged, "privilege violation"},
    {kIOReturnBadArgument, "invalid argument"},
    {kIOReturnLockedRead, "device is read locked"},
    {kIOReturnLockedWrite, "device is write locked"},
    {kIOReturnExclusiveAccess, "device is exclusive access"},
    {kIOReturnBadMessageID, "bad IPC message ID"},
    {kIOReturnUnsupported, "unsupported function"},
    {kIOReturnVMError, "virtual memory error"},
    {kIOReturnInternalError, "internal driver error"},
    {kIOReturnIOError, "I/O error"},
    {kIOReturnCannotLock, "cannot acquire lock"},
    {kIOReturnNotOpen, "device is not open"},
    {kIOReturnNotReadable, "device is not readable"},
    {kIOReturnNotWritable, "device is not writeable"},
    {kIOReturnNotAligned, "alignment error"},
    {kIOReturnBadMedia, "media error"},
    {kIOReturnStillOpen, "device is still open"},
    {kIOReturnRLDError, "rld failure"},
    {kIOReturnDMAError, "DMA failure"},
    {kIOReturnBusy, "device is busy"},
    {kIOReturnTimeout, "I/O timeout"},
    {kIOReturnOffline, "device is offline"},
    {kIOReturnNotReady, "device is not ready"},
    {kIOReturnNotAttached, "device/channel is not attached"},
    {kIOReturnNoChannels, "no DMA channels available"},
    {kIOReturnNoSpace, "no space for data"},
    {kIOReturnPortExists, "device port already exists"},
    {kIOReturnCannotWire, "cannot wire physical memory"},
    {kIOReturnNoInterrupt, "no interrupt attached"},
    {kIOReturnNoFrames, "no DMA frames enqueued"},
    {kIOReturnMessageTooLarge, "message is too large"},
    {kIOReturnNotPermitted, "operation is not permitted"},
    {kIOReturnNoPower, "device is without power"},
    {kIOReturnNoMedia, "media is not present"},
    {kIOReturnUnformattedMedia, "media is not formatted"},
    {kIOReturnUnsupportedMode, "unsupported mode"},
    {kIOReturnUnderrun, "data underrun"},
    {kIOReturnOverrun, "data overrun"},
    {kIOReturnDeviceError, "device error"},
    {kIOReturnNoCompletion, "no completion routine"},
    {kIOReturnAborted, "operation was aborted"},
    {kIOReturnNoBandwidth, "bus bandwidth would be exceeded"},
    {kIOReturnNotResponding, "device is not responding"},
    {kIOReturnInvalid, "unanticipated driver error"},
};

}  // namespace

kern_return_t IOService::StringFromReturn_Impl(IOReturn retval, OSString** str) {
  if (str == nullptr) return kIOReturnBadArgument;
  char undefined[32];
  const char* text = nullptr;
  for (const ReturnName& entry : kReturnNames) {
    if (entry.value == retval) text = entry.name;
  }
  if (text == nullptr) {
    snprintf(undefined, sizeof(undefined), "0x%x (UNDEFINED)", static_cast<unsigned>(retval));
    text = undefined;
  }
  *str = OSString::withCString(text);
  return *str != nullptr ? kIOReturnSuccess : kIOReturnError;
}

kern_return_t IOService::_ClaimSystemWakeEvent_Impl(IOService* device, uint64_t flags,
                                                    const char* reason, OSContainer* details) {
  return kIOReturnUnsupported;
}

kern_return_t IOService::RemoveProperty_Impl(OSString* propertyName) {
  if (propertyName == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  userserver::RemoveProperty(node_, propertyName);
  return kIOReturnSuccess;
}

kern_return_t IOService::CopySystemStateNotificationService_Impl(IOService** service) {
  return kIOReturnUnsupported;
}
kern_return_t IOService::StateNotificationItemCreate_Impl(OSString* itemName,
                                                          OSDictionary* schema) {
  return kIOReturnUnsupported;
}
kern_return_t IOService::StateNotificationItemSet_Impl(OSString* itemName, OSDictionary* value) {
  return kIOReturnUnsupported;
}
kern_return_t IOService::StateNotificationItemCopy_Impl(OSString* itemName, OSDictionary** value) {
  return kIOReturnUnsupported;
}

// ---- IOUserServer ----

OSDefineAbstractMetaClass(IOUserServer, IOService);

kern_return_t IOUserServer::Create(const char name[64], uint64_t tag, uint64_t options,
                                   OSString* bundleID, IOUserServer** server) {
  return kIOReturnUnsupported;
}
bool IOUserServer::init() {
  return IOService::init();
}
void IOUserServer::free() {
  IOService::free();
}
kern_return_t IOUserServer::Exit_Impl(const char* reason) {
  return kIOReturnUnsupported;
}
kern_return_t IOUserServer::LoadModule_Impl(const char* path) {
  return kIOReturnUnsupported;
}

kern_return_t IOUserServer::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOUserServer*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("Exit"):
      return IORPCInvoke(rpc, &IOUserServer::Exit_Impl,
                         [s](const char* r) { return s->IOUserServer::Exit_Impl(r); });
    case IORPCMethodID("LoadModule"):
      return IORPCInvoke(rpc, &IOUserServer::LoadModule_Impl,
                         [s](const char* p) { return s->IOUserServer::LoadModule_Impl(p); });
    default:
      return IOService::_Dispatch(self, rpc);
  }
}
