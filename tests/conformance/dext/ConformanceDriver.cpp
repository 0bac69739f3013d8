#include "ConformanceDriver.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <os/log.h>

#include "../probe_registers.h"

struct ConformanceDriver_IVars {
  IOPCIDevice* device;
  uint16_t commandAtOpen;
};

bool ConformanceDriver::init() {
  if (!super::init()) return false;
  ivars = IONewZero(ConformanceDriver_IVars, 1);
  return ivars != nullptr;
}

void ConformanceDriver::free() {
  IOSafeDeleteNULL(ivars, ConformanceDriver_IVars, 1);
  super::free();
}

kern_return_t IMPL(ConformanceDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->device = OSDynamicCast(IOPCIDevice, provider);
  if (ivars->device == nullptr) return kIOReturnNoDevice;
  ivars->device->retain();
  ret = ivars->device->Open(this, 0);
  if (ret != kIOReturnSuccess) return ret;
  uint16_t command = 0;
  ivars->device->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  ivars->commandAtOpen = command;
  ivars->device->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                      command | kIOPCICommandBusLead | kIOPCICommandMemorySpace);
  return RegisterService();
}

kern_return_t IMPL(ConformanceDriver, Stop) {
  if (ivars->device != nullptr) {
    // What the device answers while the driver stops (all ones once it is gone).
    uint8_t index = 0;
    uint32_t id = 0;
    ivars->device->GetBARInfo(0, &index, nullptr, nullptr);
    ivars->device->MemoryRead32(index, probe::kId, &id);
    os_log(OS_LOG_DEFAULT, "ConformanceDriver::Stop: ID register 0x%08x", id);
    ivars->device->Close(this, 0);
    OSSafeReleaseNULL(ivars->device);
  }
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(ConformanceDriver, NewUserClient) {
  IOService* client = nullptr;
  kern_return_t ret = Create(this, "UserClientProperties", &client);
  if (ret != kIOReturnSuccess) return ret;
  *userClient = OSDynamicCast(IOUserClient, client);
  if (*userClient == nullptr) {
    client->release();
    return kIOReturnError;
  }
  return kIOReturnSuccess;
}

IOPCIDevice* ConformanceDriver::GetDevice() { return ivars->device; }
uint16_t ConformanceDriver::CommandAtOpen() { return ivars->commandAtOpen; }
