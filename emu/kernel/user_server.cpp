// The kernel's end of user_server.h: each call the DriverKit runtime makes, answered from the
// kernel's own objects.
#include "user_server.h"

#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/OSArray.h>
#include <DriverKit/OSString.h>

#include <mutex>
#include <thread>

#include "async_action.h"
#include "broker.h"
#include "kernel.h"

namespace fpgadext::emu::userserver {

bool Connected() {
  return Kernel::Current() != nullptr;
}

uint32_t ConfigRead(PciFunctionHandle function, uint32_t offset, unsigned width) {
  return function->ConfigRead(offset, width);
}

void ConfigWrite(PciFunctionHandle function, uint32_t offset, unsigned width, uint32_t value) {
  function->ConfigWrite(offset, width, value);
}

uint64_t MemoryRead(PciFunctionHandle function, unsigned memoryIndex, uint64_t offset,
                    unsigned width) {
  return function->MemoryRead(memoryIndex, offset, width);
}

void MemoryWrite(PciFunctionHandle function, unsigned memoryIndex, uint64_t offset, unsigned width,
                 uint64_t value) {
  function->MemoryWrite(memoryIndex, offset, width, value);
}

bool Present(PciFunctionHandle function) {
  return function->present();
}

BarInfo Bar(PciFunctionHandle function, unsigned barIndex) {
  const PciSlot::Bar& bar = function->bar(barIndex);
  return BarInfo{bar.memoryIndex, bar.size, bar.type};
}

uint32_t FindCapability(PciFunctionHandle function, uint8_t id, uint32_t after) {
  return function->FindCapability(id, after);
}

uint32_t FindExtendedCapability(PciFunctionHandle function, uint16_t id, uint32_t after) {
  return function->FindExtendedCapability(id, after);
}

Location LocationOf(PciFunctionHandle function) {
  return Location{function->device(), function->functionNumber()};
}

IOReturn ConfigureInterrupts(PciFunctionHandle function, uint32_t type, uint32_t numRequired,
                             uint32_t numRequested) {
  return function->ConfigureInterrupts(type, numRequired, numRequested);
}

uint32_t InterruptType(PciFunctionHandle function) {
  return function->interruptType();
}

uint32_t VectorCount(PciFunctionHandle function) {
  return function->vectorCount();
}

IOReturn BindInterrupt(PciFunctionHandle function, uint32_t vector,
                       IOInterruptDispatchSource* source) {
  return function->BindLine(vector, source);
}

void UnbindInterrupt(PciFunctionHandle function, uint32_t vector,
                     IOInterruptDispatchSource* source) {
  function->UnbindLine(vector, source);
}

void UnbindAllInterrupts(PciFunctionHandle function) {
  function->UnbindAll();
}

void RestoreInterrupts(PciFunctionHandle function) {
  function->RestoreInterrupts();
}

void TerminateAndReprobe(PciFunctionHandle function) {
  function->TerminateAndReprobe();
}

IOReturn CreateService(ServiceHandle creator, ServiceHandle provider, IOService* service,
                       const char* kernelClass, const char* userClass, OSDictionary* properties,
                       bool isUserClient) {
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return kIOReturnNotReady;
  ServiceNode* child =
      kernel->AddNode(service, provider, kernelClass, userClass, properties, creator->dext);
  child->isUserClient = isUserClient;
  return kernel->StartService(child);
}

void RegisterService(ServiceHandle service) {
  bool publish = false;
  {
    std::lock_guard guard(Kernel::Current()->lock());
    service->registered = true;
    publish = service->started;
  }
  if (publish) ServicePublished(service);
}

void TerminateService(ServiceHandle service, IOService* self) {
  // Termination is asynchronous on a Mac; run it off the caller's queue.
  Kernel* kernel = Kernel::Current();
  self->retain();
  std::thread([kernel, service, self] {
    kernel->TerminateNode(service);
    self->release();
  }).detach();
}

uint64_t RegistryID(ServiceHandle service) {
  return service->registryID;
}

OSString* CopyName(ServiceHandle service) {
  std::lock_guard guard(Kernel::Current()->lock());
  return OSString::withCString(service->name.c_str());
}

void SetName(ServiceHandle service, const char* name) {
  std::lock_guard guard(Kernel::Current()->lock());
  service->name = name;
}

OSDictionary* CopyProperties(ServiceHandle service) {
  std::lock_guard guard(Kernel::Current()->lock());
  return OSDictionary::withDictionary(service->properties, 0);
}

OSObject* CopyProperty(ServiceHandle service, const char* key, bool parents) {
  std::lock_guard guard(Kernel::Current()->lock());
  for (ServiceNode* node = service; node != nullptr; node = parents ? node->provider : nullptr) {
    OSObject* value = node->properties ? node->properties->getObject(key) : nullptr;
    if (value != nullptr) {
      value->retain();
      return value;
    }
  }
  return nullptr;
}

OSArray* CopyProviderProperties(ServiceHandle service, OSArray* keys) {
  OSArray* result = OSArray::withCapacity(4);
  if (result == nullptr) return nullptr;
  std::lock_guard guard(Kernel::Current()->lock());
  for (ServiceNode* node = service; node != nullptr; node = node->provider) {
    OSDictionary* copy = nullptr;
    if (keys == nullptr) {
      copy = OSDictionary::withDictionary(node->properties, 0);
    } else {
      copy = OSDictionary::withCapacity(keys->getCount());
      for (uint32_t i = 0; copy != nullptr && i < keys->getCount(); ++i) {
        auto* key = OSDynamicCast(OSString, keys->getObject(i));
        OSObject* value = key ? node->properties->getObject(key) : nullptr;
        if (value != nullptr) copy->setObject(key, value);
      }
    }
    bool added = copy != nullptr && result->setObject(copy);
    OSSafeReleaseNULL(copy);
    if (!added) {
      result->release();
      return nullptr;
    }
  }
  return result;
}

bool MergeProperties(ServiceHandle service, OSDictionary* properties) {
  std::lock_guard guard(Kernel::Current()->lock());
  return service->properties->merge(properties);
}

void RemoveProperty(ServiceHandle service, OSString* key) {
  std::lock_guard guard(Kernel::Current()->lock());
  service->properties->removeObject(key);
}

IOService* Provider(ServiceHandle service) {
  std::lock_guard guard(Kernel::Current()->lock());
  return service->provider != nullptr ? service->provider->service : nullptr;
}

IOReturn CheckUserClient(ServiceHandle service) {
  if (service == nullptr || !service->isUserClient) return kIOReturnBadArgument;
  if (service->terminated) return kIOReturnNotReady;
  // An app in another process than this kernel (the machine daemon): its addresses cannot be
  // read here yet (docs/emulation.md, "Apps in other processes").
  if (broker::UserClientOfOtherProcess(service)) return kIOReturnNotPermitted;
  return kIOReturnSuccess;
}

bool CompleteAsync(OSAction* action, IOReturn status, const uint64_t* arguments, uint32_t count) {
  auto* completion = OSDynamicCast(AsyncCompletionAction, action);
  if (completion == nullptr) return false;
  completion->Complete(status, arguments, count);
  return true;
}

}  // namespace fpgadext::emu::userserver
