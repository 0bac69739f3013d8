// IOService (xnu iokit/DriverKit/IOService.iig; Apple's generated IOService.h, iig 16.4) as the
// emulated runtime provides it. Like Apple's, this header brings in only <DriverKit/OSObject.h>:
// IODispatchQueue, IOUserClient, IOMemoryDescriptor and the containers are forward-declared.
//
// Each method has Apple's name, parameters and `OSDispatchMethod supermethod = NULL` default;
// underneath is a virtual `<Method>_Impl` that a subclass overrides (see OSObject.h). Methods of
// features the emulated machine does not have return what the kernel returns when the feature
// is unavailable; each says so below.
#pragma once

#include <DriverKit/OSObject.h>

class IOMemoryDescriptor;
class IOBufferMemoryDescriptor;
class IOUserClient;
class OSAction;
class IOServiceStateNotificationDispatchSource;

typedef char IOServiceName[128];
typedef char IOPropertyName[128];
typedef char IORegistryPlaneName[128];

enum {
  kIOServiceSearchPropertyParents = 0x00000001,
};

#define kIOServiceDefaultQueueName "Default"

enum {
  kIOServicePowerCapabilityOff = 0x00000000,
  kIOServicePowerCapabilityOn = 0x00000002,
  kIOServicePowerCapabilityLow = 0x00010000,
};

enum {
  _kIOPMWakeEventSource = 0x00000001,
};

enum {
  kIOServiceHaltStatePowerOff = 0x00000001,
  kIOServiceHaltStateRestart = 0x00000002,
};

namespace fpgadext::emu {
struct ServiceNode;
}

#define IOService_Start_Args IOService* provider
#define IOService_Stop_Args IOService* provider
#define IOService_NewUserClient_Args uint32_t type, IOUserClient **userClient
#define IOService_SetPowerState_Args uint32_t powerFlags
#define IOService_SetProperties_Args OSDictionary* properties
#define IOService_CopyProperties_Args OSDictionary** properties

// Declares `Method(params..., supermethod = NULL)` forwarding to a virtual `Method_Impl`.
#define IOServiceEmulatedMethod(_ret, _method, _params, ...)   \
  _ret _method(_params, OSDispatchMethod supermethod = NULL) { \
    return OSEmulatedWrapperBody(_method, __VA_ARGS__);        \
  }                                                            \
  virtual _ret _method##_Impl(_params)

#define IOServiceEmulatedMethodNoArgs(_ret, _method)  \
  _ret _method(OSDispatchMethod supermethod = NULL) { \
    return OSEmulatedWrapperBodyNoArgs(_method);      \
  }                                                   \
  virtual _ret _method##_Impl()

#define IOServiceEmulatedParams(...) __VA_ARGS__

class IOService : public OSObject {
  OSDeclareEmulatedClass(IOService)

 public:
  bool init() override;
  void free() override;

  // Called by the system on the service's Default queue once the service is matched. A subclass
  // calls Start(provider, SUPERDISPATCH) first.
  IOServiceEmulatedMethod(kern_return_t, Start, IOService* provider, provider);
  IOServiceEmulatedMethod(kern_return_t, Stop, IOService* provider, provider);
  // Kernel objects only: kIOReturnUnsupported, as in xnu.
  IOServiceEmulatedMethod(kern_return_t, ClientCrashed,
                          IOServiceEmulatedParams(IOService* client, uint64_t options), client,
                          options);
  IOServiceEmulatedMethod(kern_return_t, GetRegistryEntryID, uint64_t* registryEntryID,
                          registryEntryID);
  IOServiceEmulatedMethod(kern_return_t, SetName, const char* name, name);
  // Makes the service visible to IOServiceGetMatchingServices.
  IOServiceEmulatedMethodNoArgs(kern_return_t, RegisterService);
  // A new serial queue (+1), as IOService::init() makes the Default queue.
  IOServiceEmulatedMethod(kern_return_t, CreateDefaultDispatchQueue, IODispatchQueue** queue,
                          queue);
  // A copy of the service's registry properties (+1).
  IOServiceEmulatedMethod(kern_return_t, CopyProperties, OSDictionary** properties, properties);
  // The property `name` of this service, or with kIOServiceSearchPropertyParents of the nearest
  // provider that has it (+1); kIOReturnNotFound if none has. `plane` is ignored (the emulated
  // registry has the service plane only).
  IOServiceEmulatedMethod(kern_return_t, SearchProperty,
                          IOServiceEmulatedParams(const char* name, const char* plane,
                                                  uint64_t options, OSContainer** property),
                          name, plane, options, property);
  IOServiceEmulatedMethod(kern_return_t, SetProperties, OSDictionary* properties, properties);
  // No power management on the emulated machine: JoinPMTree, ChangePowerState and
  // SetPowerOverride return kIOReturnUnsupported (ChangePowerState: kIOReturnBadArgument for a
  // value that is not a kIOServicePowerCapability*, as in xnu).
  IOServiceEmulatedMethodNoArgs(kern_return_t, JoinPMTree);
  IOServiceEmulatedMethod(kern_return_t, SetPowerState, uint32_t powerFlags, powerFlags);
  IOServiceEmulatedMethod(kern_return_t, ChangePowerState, uint32_t powerFlags, powerFlags);
  IOServiceEmulatedMethod(kern_return_t, SetPowerOverride, bool enable, enable);
  // Called for IOServiceOpen(service, task, type, …); the default refuses.
  IOServiceEmulatedMethod(kern_return_t, NewUserClient,
                          IOServiceEmulatedParams(uint32_t type, IOUserClient** userClient), type,
                          userClient);
  // Instantiates the service described by the dictionary property `propertiesKey` of this
  // service (its IOUserClass), attaches it to `provider` and starts it. Result is +1.
  IOServiceEmulatedMethod(kern_return_t, Create,
                          IOServiceEmulatedParams(IOService* provider, const char* propertiesKey,
                                                  IOService** result),
                          provider, propertiesKey, result);
  // Asynchronous; options other than 0 are kIOReturnUnsupported, as in xnu.
  IOServiceEmulatedMethod(kern_return_t, Terminate, uint64_t options, options);
  // An array with a copy of the properties (only `propertyKeys`, when given) of this service and
  // of each provider up to the root (+1).
  IOServiceEmulatedMethod(kern_return_t, CopyProviderProperties,
                          IOServiceEmulatedParams(OSArray* propertyKeys, OSArray** properties),
                          propertyKeys, properties);
  // Accepted (nothing on the emulated machine sleeps); kIOReturnBadArgument above 32 bits.
  IOServiceEmulatedMethod(kern_return_t, RequireMaxBusStall, uint64_t maxBusStall, maxBusStall);
  IOServiceEmulatedMethod(kern_return_t, AdjustBusy, int32_t delta, delta);
  IOServiceEmulatedMethod(kern_return_t, GetBusyState, uint32_t* busyState, busyState);
  // No CoreAnalytics: kIOReturnNotReady, what xnu returns when no sender is registered.
  IOServiceEmulatedMethod(kern_return_t, CoreAnalyticsSendEvent,
                          IOServiceEmulatedParams(uint64_t options, OSString* eventName,
                                                  OSDictionary* eventPayload),
                          options, eventName, eventPayload);

  // Matching dictionaries: `matching` if given (the key is added to it), else a new one (+1).
  static OSDictionary* CreatePropertyMatchingDictionary(const char* key, OSObjectPtr value,
                                                        OSDictionary* matching);
  static OSDictionary* CreatePropertyMatchingDictionary(const char* key, const char* stringValue,
                                                        OSDictionary* matching);
  static OSDictionary* CreateKernelClassMatchingDictionary(OSString* className,
                                                           OSDictionary* matching);
  static OSDictionary* CreateKernelClassMatchingDictionary(const char* className,
                                                           OSDictionary* matching);
  static OSDictionary* CreateUserClassMatchingDictionary(OSString* className,
                                                         OSDictionary* matching);
  static OSDictionary* CreateUserClassMatchingDictionary(const char* className,
                                                         OSDictionary* matching);
  static OSDictionary* CreateNameMatchingDictionary(OSString* serviceName, OSDictionary* matching);
  static OSDictionary* CreateNameMatchingDictionary(const char* serviceName,
                                                    OSDictionary* matching);

  // IOReporting is not emulated: kIOReturnUnsupported.
  IOServiceEmulatedMethod(IOReturn, UpdateReport,
                          IOServiceEmulatedParams(OSData* channels, uint32_t action,
                                                  uint32_t* outElementCount, uint64_t offset,
                                                  uint64_t capacity, IOMemoryDescriptor* buffer),
                          channels, action, outElementCount, offset, capacity, buffer);
  IOServiceEmulatedMethod(IOReturn, ConfigureReport,
                          IOServiceEmulatedParams(OSData* channels, uint32_t action,
                                                  uint32_t* outCount),
                          channels, action, outCount);
  IOServiceEmulatedMethod(IOReturn, SetLegend,
                          IOServiceEmulatedParams(OSArray* legend, bool is_public), legend,
                          is_public);
  // The registry name (+1).
  IOServiceEmulatedMethod(kern_return_t, CopyName, OSString** name, name);
  // xnu's text for an IOReturn (+1), e.g. "invalid argument"; "0x%x (UNDEFINED)" for others.
  IOServiceEmulatedMethod(kern_return_t, StringFromReturn,
                          IOServiceEmulatedParams(IOReturn retval, OSString** str), retval, str);
  // Kernel wake events are not emulated: kIOReturnUnsupported.
  IOServiceEmulatedMethod(kern_return_t, _ClaimSystemWakeEvent,
                          IOServiceEmulatedParams(IOService* device, uint64_t flags,
                                                  const char* reason, OSContainer* details),
                          device, flags, reason, details);
  IOServiceEmulatedMethod(kern_return_t, RemoveProperty, OSString* propertyName, propertyName);
  // The provider passed to Start (+0), or NULL.
  IOService* GetProvider() const;
  // System state notifications are not emulated: kIOReturnUnsupported.
  IOServiceEmulatedMethod(kern_return_t, CopySystemStateNotificationService, IOService** service,
                          service);
  IOServiceEmulatedMethod(kern_return_t, StateNotificationItemCreate,
                          IOServiceEmulatedParams(OSString* itemName, OSDictionary* schema),
                          itemName, schema);
  IOServiceEmulatedMethod(kern_return_t, StateNotificationItemSet,
                          IOServiceEmulatedParams(OSString* itemName, OSDictionary* value),
                          itemName, value);
  IOServiceEmulatedMethod(kern_return_t, StateNotificationItemCopy,
                          IOServiceEmulatedParams(OSString* itemName, OSDictionary** value),
                          itemName, value);

  kern_return_t SetDispatchQueue_Impl(const char* name, IODispatchQueue* queue) override;
  kern_return_t CopyDispatchQueue_Impl(const char* name, IODispatchQueue** queue) override;

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

  // Emulation only: the registry node the kernel keeps for this service.
  fpgadext::emu::ServiceNode* EmulationNode() const { return node_; }
  void EmulationSetNode(fpgadext::emu::ServiceNode* node) { node_ = node; }
  // The queue a method named by QUEUENAME(name) runs on, or the Default queue.
  IODispatchQueue* EmulationQueue(const char* name);

 private:
  fpgadext::emu::ServiceNode* node_ = nullptr;
  struct Queues;
  Queues* queues_ = nullptr;
  int32_t busy_ = 0;
};
