// IOService (iokit/DriverKit/IOService.iig) as the emulated runtime provides it.
//
// Methods a dext overrides with SUPERDISPATCH have a non-virtual wrapper (what user code calls)
// and a virtual `_Impl` (what a subclass overrides); see OSObject.h.
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/OSObject.h>

class IOUserClient;
class OSDictionary;
class IOMemoryDescriptor;

namespace fpgadext::emu {
struct ServiceNode;
}

#define IOService_Start_Args IOService* provider
#define IOService_Stop_Args IOService* provider
#define IOService_NewUserClient_Args uint32_t type, IOUserClient** userClient
#define IOService_SetPowerState_Args uint32_t powerFlags

#define kIOServiceDefaultQueueName "Default"

class IOService : public OSObject {
  OSDeclareEmulatedClass(IOService)

 public:
  bool init() override;
  void free() override;

  // Called by the system on the service's Default queue once the service is matched. A subclass
  // calls Start(provider, SUPERDISPATCH) first.
  kern_return_t Start(IOService* provider, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(Start, provider);
  }
  virtual kern_return_t Start_Impl(IOService* provider);

  kern_return_t Stop(IOService* provider, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(Stop, provider);
  }
  virtual kern_return_t Stop_Impl(IOService* provider);

  // Called for IOServiceOpen(service, task, type, …); the default refuses.
  kern_return_t NewUserClient(uint32_t type, IOUserClient** userClient,
                              OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(NewUserClient, type, userClient);
  }
  virtual kern_return_t NewUserClient_Impl(uint32_t type, IOUserClient** userClient);

  kern_return_t SetPowerState(uint32_t powerFlags, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetPowerState, powerFlags);
  }
  virtual kern_return_t SetPowerState_Impl(uint32_t powerFlags);

  // Instantiates the service described by the dictionary property `propertiesKey` of this
  // service (its IOUserClass), attaches it to `provider` and starts it. Result is +1.
  kern_return_t Create(IOService* provider, const char* propertiesKey, IOService** result);

  // Makes the service visible to IOServiceGetMatchingServices.
  kern_return_t RegisterService();
  kern_return_t Terminate(uint64_t options);
  kern_return_t SetName(const char* name);
  kern_return_t CopyProperties(OSDictionary** properties);
  kern_return_t SetProperties(OSDictionary* properties);
  kern_return_t GetRegistryEntryID(uint64_t* registryEntryID);

  kern_return_t CopyDispatchQueue(const char* name, IODispatchQueue** queue);
  kern_return_t SetDispatchQueue(const char* name, IODispatchQueue* queue);

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
};
