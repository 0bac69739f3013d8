#include "ConformanceDriver.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <os/log.h>

#include "../probe_registers.h"
#include "failed_start_protocol.h"
#include "stop_order_protocol.h"

struct ConformanceDriver_IVars {
  IOPCIDevice* device;
  uint16_t commandAtOpen;
  bool failing;       // asked to fail Start (failed_start_protocol.h)
  uint8_t registers;  // BAR0's memory index
};

namespace {

void MarkScratch(ConformanceDriver_IVars* iv, uint64_t bits) {
  uint64_t value = 0;
  iv->device->MemoryRead64(iv->registers, probe::kScratch, &value);
  iv->device->MemoryWrite64(iv->registers, probe::kScratch, value | bits);
}

}  // namespace

bool ConformanceDriver::init() {
  if (!super::init()) return false;
  ivars = IONewZero(ConformanceDriver_IVars, 1);
  return ivars != nullptr;
}

void ConformanceDriver::free() {
  if (ivars != nullptr && ivars->device != nullptr) {
    // Only a driver whose Stop never ran still holds the device here.
    if (ivars->failing) MarkScratch(ivars, conformance::kFreeRan);
    OSSafeReleaseNULL(ivars->device);
  }
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
  ivars->device->GetBARInfo(0, &ivars->registers, nullptr, nullptr);
  uint64_t scratch = 0;
  ivars->device->MemoryRead64(ivars->registers, probe::kScratch, &scratch);
  if (scratch == conformance::kFailStartRequest) {
    // Fails after opening the device and registering: what a Mac does next is the test's.
    ivars->failing = true;
    ivars->device->MemoryWrite64(ivars->registers, probe::kScratch, conformance::kStartFailed);
    RegisterService();
    return conformance::kFailStartError;
  }
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
    if (ivars->failing) MarkScratch(ivars, conformance::kStopRan);
    uint64_t scratch = 0;  // termination_test.cpp: is a user client's Stop still running?
    ivars->device->MemoryRead64(index, probe::kScratch, &scratch);
    if (scratch == conformance::kClientStopping) {
      ivars->device->MemoryWrite64(index, probe::kScratch,
                                   conformance::kDriverStoppedDuringClientStop);
    }
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

IOPCIDevice* ConformanceDriver::GetDevice() {
  return ivars->device;
}
uint16_t ConformanceDriver::CommandAtOpen() {
  return ivars->commandAtOpen;
}
