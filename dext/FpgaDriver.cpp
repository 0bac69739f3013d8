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
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/protocol.h>
#include <os/log.h>

#include "driver_resources.h"

namespace protocol = fpgadext::protocol;
using fpgadext::dext::BarLayout;
using fpgadext::dext::DriverResources;

struct FpgaDriver_IVars {
  DriverResources* resources;  // owned: Start creates, Stop (or free) destroys
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
    DriverResources::Destroy(ivars->resources);
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
    DriverResources::Destroy(ivars->resources);
    ivars->resources = nullptr;
  }
  return ret;
}

kern_return_t IMPL(FpgaDriver, Stop) {
  DriverResources::Destroy(ivars->resources);
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

IOPCIDevice* FpgaDriver::GetDevice() {
  return ivars->resources != nullptr ? ivars->resources->Device() : nullptr;
}

const BarLayout* FpgaDriver::GetBarLayout() {
  return ivars->resources != nullptr ? &ivars->resources->Layout() : nullptr;
}

uint32_t FpgaDriver::WindowSlots() {
  return ivars->resources != nullptr ? ivars->resources->WindowSlots() : 0;
}

void FpgaDriver::GetDeviceInfo(uint64_t* out) {
  if (ivars->resources != nullptr) ivars->resources->GetDeviceInfo(out);
}

kern_return_t FpgaDriver::Transfer(uint32_t direction, uint64_t cardAddress,
                                   fpgadext::engine::HostMemory* host, uint64_t length) {
  if (ivars->resources == nullptr) return kIOReturnNotReady;
  return ivars->resources->Transfer(direction, cardAddress, host, length);
}

kern_return_t FpgaDriver::BeginTransfer(uint32_t direction, uint64_t cardAddress,
                                        fpgadext::engine::HostMemory* host, uint64_t length,
                                        fpgadext::engine::TransferJob* job,
                                        uint32_t ownedChannels) {
  if (ivars->resources == nullptr) return kIOReturnNotReady;
  return ivars->resources->BeginTransfer(direction, cardAddress, host, length, job, ownedChannels);
}

kern_return_t FpgaDriver::PollTransfer(fpgadext::engine::TransferJob* job) {
  if (ivars->resources == nullptr) return kIOReturnNotReady;
  return ivars->resources->PollTransfer(job);
}

void FpgaDriver::AbortTransfer(fpgadext::engine::TransferJob* job, kern_return_t reason) {
  if (ivars->resources != nullptr) ivars->resources->AbortTransfer(job, reason);
}

uint32_t FpgaDriver::AcquireChannel(uint32_t direction) {
  return ivars->resources != nullptr ? ivars->resources->AcquireChannel(direction) : 0;
}

void FpgaDriver::ReleaseChannels(uint32_t direction, uint32_t mask) {
  if (ivars->resources != nullptr) ivars->resources->ReleaseChannels(direction, mask);
}
