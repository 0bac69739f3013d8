// Must compile: what Apple's headers make reachable.
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSSharedPtr.h>

// OSObject.h brings in <string.h> (OSObject.iig includes it).
void Copy(void* to, const void* from, size_t n) {
  memcpy(to, from, n);
  bzero(to, n);
}

// IOLib.h brings in <os/log.h>.
void Log() {
  os_log(OS_LOG_DEFAULT, "%{public}s", "x");
}

// IOUserClient.h brings in IOBufferMemoryDescriptor.h, OSAction.h and IOService.h.
kern_return_t Buffer(IOBufferMemoryDescriptor** memory) {
  return IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 4096, 0, memory);
}
void* Reference(OSAction* action) {
  return action->GetReference();
}

// IOService.h defines IOServiceName and declares Apple's methods with their default arguments.
kern_return_t Name(IOService* service, const IOServiceName name) {
  return service->SetName(name);
}
kern_return_t Stall(IOService* service) {
  return service->RequireMaxBusStall(kIOMaxBusStall10usec);
}

// OSSharedPtr adopts a +1 reference.
OSSharedPtr<OSObject> Adopt(OSObject* object) {
  return OSSharedPtr<OSObject>(object, OSNoRetain);
}

// IOVMPageSize and OSSafeReleaseNULL come with IOLib.h.
void Release(OSObject*& object) {
  if (IOVMPageSize != 0) OSSafeReleaseNULL(object);
}
