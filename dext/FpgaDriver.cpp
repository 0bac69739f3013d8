// FpgaDriver: the service on the board's IOPCIDevice. Start builds the board's DriverResources
// (driver_resources.h) and Stop releases them; user clients reach the board through
// GetResources(). NewUserClient checks the protocol version.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "FpgaDriver.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <fpgadext/protocol.h>
#include <os/log.h>

#include "driver_resources.h"

namespace protocol = fpgadext::protocol;
using fpgadext::dext::DriverResources;

struct FpgaDriver_IVars {
  // One reference (driver_resources.h): Start creates them, Stop (or free) releases them; a user
  // client still stopping may hold another.
  DriverResources* resources;
};

bool FpgaDriver::init() {
  if (!super::init()) return false;
  ivars = IONewZero(FpgaDriver_IVars, 1);
  return ivars != nullptr;
}

void FpgaDriver::free() {
  if (ivars != nullptr) {
    // Normally gone with Stop; a Start that failed after creating them has already released
    // them, so this only matters if a path forgot to.
    DriverResources::Release(ivars->resources);
    ivars->resources = nullptr;
  }
  IOSafeDeleteNULL(ivars, FpgaDriver_IVars, 1);
  super::free();
}

kern_return_t IMPL(FpgaDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  // A failed Start is not followed by Stop (xnu IOService::startCandidate; docs/dext.md), so
  // every failure below leaves nothing behind: DriverResources::Create undoes its own steps.
  ret = DriverResources::Create(this, OSDynamicCast(IOPCIDevice, provider), &ivars->resources);
  if (ret != kIOReturnSuccess) return ret;
  ret = RegisterService();
  if (ret != kIOReturnSuccess) {
    DriverResources::Release(ivars->resources);
    ivars->resources = nullptr;
  }
  return ret;
}

kern_return_t IMPL(FpgaDriver, Stop) {
  DriverResources::Release(ivars->resources);
  ivars->resources = nullptr;
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(FpgaDriver, NewUserClient) {
  // IOServiceOpen's type carries the library's protocol version.
  if (protocol::MajorOf(type) != protocol::kVersionMajor) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: client speaks protocol 0x%x, this dext 0x%x", type,
                 protocol::kProtocolVersion);
    return kIOReturnUnsupported;
  }
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

DriverResources* FpgaDriver::GetResources() {
  return ivars->resources;
}
