#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSCollections.h>
#include <os/log.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "../kernel/kernel.h"

using fpgadext::emu::Kernel;
using fpgadext::emu::ServiceNode;

OSDefineMetaClass(IOService, OSObject);

struct IOService::Queues {
  std::mutex lock;
  std::map<std::string, IODispatchQueue*> byName;  // retained
};

bool IOService::init() {
  if (!OSObject::init()) return false;
  queues_ = new Queues;
  IODispatchQueue* defaultQueue = nullptr;
  std::string name = std::string(getMetaClass()->getClassName()) + "-Default";
  if (IODispatchQueue::Create(name.c_str(), 0, 0, &defaultQueue) != kIOReturnSuccess) return false;
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

kern_return_t IOService::Start_Impl(IOService* provider) { return kIOReturnSuccess; }
kern_return_t IOService::Stop_Impl(IOService* provider) { return kIOReturnSuccess; }
kern_return_t IOService::NewUserClient_Impl(uint32_t type, IOUserClient** userClient) {
  return kIOReturnUnsupported;
}
kern_return_t IOService::SetPowerState_Impl(uint32_t powerFlags) { return kIOReturnSuccess; }

kern_return_t IOService::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOService*>(self);
  switch (rpc.msgid) {
    case IORPCMethodID("Start"):
      return IORPCInvoke(rpc, &IOService::Start_Impl,
                         [s](IOService* p) { return s->IOService::Start_Impl(p); });
    case IORPCMethodID("Stop"):
      return IORPCInvoke(rpc, &IOService::Stop_Impl,
                         [s](IOService* p) { return s->IOService::Stop_Impl(p); });
    case IORPCMethodID("NewUserClient"):
      return IORPCInvoke(rpc, &IOService::NewUserClient_Impl, [s](uint32_t t, IOUserClient** uc) {
        return s->IOService::NewUserClient_Impl(t, uc);
      });
    case IORPCMethodID("SetPowerState"):
      return IORPCInvoke(rpc, &IOService::SetPowerState_Impl,
                         [s](uint32_t f) { return s->IOService::SetPowerState_Impl(f); });
    default:
      return OSObject::_Dispatch(self, rpc);
  }
}

kern_return_t IOService::Create(IOService* provider, const char* propertiesKey,
                                IOService** result) {
  if (provider == nullptr || propertiesKey == nullptr || result == nullptr) {
    return kIOReturnBadArgument;
  }
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr || node_ == nullptr || provider->node_ == nullptr) return kIOReturnNotReady;
  auto* properties = OSDynamicCast(OSDictionary, node_->properties->getObject(propertiesKey));
  if (properties == nullptr) {
    os_log_error(OS_LOG_DEFAULT, "IOService::Create: no dictionary property %{public}s",
                 propertiesKey);
    return kIOReturnBadArgument;
  }
  auto* userClass = OSDynamicCast(OSString, properties->getObject("IOUserClass"));
  auto* ioClass = OSDynamicCast(OSString, properties->getObject("IOClass"));
  const OSMetaClass* meta = userClass ? OSMetaClass::lookup(userClass->getCStringNoCopy()) : nullptr;
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
  ServiceNode* child =
      kernel->AddNode(service, provider->node_, kernelClass, userClass->getCStringNoCopy(),
                      properties, node_->dext);
  child->isUserClient = OSDynamicCast(IOUserClient, service) != nullptr;
  IOReturn ret = kernel->StartService(child);
  if (ret != kIOReturnSuccess) return ret;  // the kernel dropped the node and the service
  service->retain();
  *result = service;
  return kIOReturnSuccess;
}

kern_return_t IOService::RegisterService() {
  if (node_ == nullptr) return kIOReturnNotReady;
  std::lock_guard guard(Kernel::Current()->lock());
  node_->registered = true;
  return kIOReturnSuccess;
}

kern_return_t IOService::Terminate(uint64_t options) {
  if (node_ == nullptr || options != 0) return kIOReturnBadArgument;
  ServiceNode* node = node_;
  // Termination is asynchronous on a Mac; run it off the caller's queue.
  Kernel* kernel = Kernel::Current();
  retain();
  std::thread([kernel, node, self = this] {
    kernel->TerminateNode(node);
    self->release();
  }).detach();
  return kIOReturnSuccess;
}

kern_return_t IOService::SetName(const char* name) {
  if (name == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(Kernel::Current()->lock());
  node_->name = name;
  return kIOReturnSuccess;
}

kern_return_t IOService::CopyProperties(OSDictionary** properties) {
  if (properties == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(Kernel::Current()->lock());
  OSDictionary* copy = OSDictionary::withDictionary(node_->properties, 0);
  if (copy == nullptr) return kIOReturnNoMemory;
  *properties = copy;
  return kIOReturnSuccess;
}

kern_return_t IOService::SetProperties(OSDictionary* properties) {
  if (properties == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(Kernel::Current()->lock());
  return node_->properties->merge(properties) ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOService::GetRegistryEntryID(uint64_t* registryEntryID) {
  if (registryEntryID == nullptr || node_ == nullptr) return kIOReturnBadArgument;
  *registryEntryID = node_->registryID;
  return kIOReturnSuccess;
}

kern_return_t IOService::CopyDispatchQueue(const char* name, IODispatchQueue** queue) {
  if (name == nullptr || queue == nullptr) return kIOReturnBadArgument;
  std::lock_guard guard(queues_->lock);
  auto it = queues_->byName.find(name);
  if (it == queues_->byName.end()) return kIOReturnNotFound;
  it->second->retain();
  *queue = it->second;
  return kIOReturnSuccess;
}

kern_return_t IOService::SetDispatchQueue(const char* name, IODispatchQueue* queue) {
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
