// Starts, says so with a registry property, and registers itself.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSCollections.h>
#include <os/log.h>

#include "SampleDriver.h"

kern_return_t IMPL(SampleDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  os_log(OS_LOG_DEFAULT, "SampleDriver: started");
  return RegisterService();
}
