// FpgaDriver: device bring-up (Open, Command register, BARs), the data mover and the transfer
// planner shared by every client, and user-client creation with the protocol version check.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "FpgaDriver.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSCollections.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/protocol.h>
#include <os/log.h>

#include "bar_layout.h"
#include "data_movers.h"
#include "polling.h"
#include "reference_design.h"

namespace protocol = fpgadext::protocol;
namespace engine = fpgadext::engine;
using fpgadext::dext::BarLayout;

namespace {

uint64_t NowNs() {
  static mach_timebase_info_data_t timebase;
  if (timebase.denom == 0) mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

// Between polls that found the engine still busy: a bounded spin, no sleep (docs/engine.md,
// "Waiting").
const engine::Platform kPlatform{NowNs, fpgadext::dext::PollPause};

// Card memory size: the personality's FPGACardMemorySize, else what the reference design's user
// block reports, else the BAR window of a PIO board.
uint64_t CardMemorySize(IOService* self, IOPCIDevice* device, const BarLayout& layout) {
  OSDictionary* properties = nullptr;
  uint64_t size = 0;
  if (self->CopyProperties(&properties) == kIOReturnSuccess) {
    if (auto* n = OSDynamicCast(OSNumber, properties->getObject("FPGACardMemorySize"))) {
      size = n->unsigned64BitValue();
    }
    properties->release();
  }
  if (size != 0) return size;
  if (layout.userBar != fpgadext::dext::kNoBar) {
    size = fpgadext::dext::ReferenceDesignCardMemorySize(device, layout.bars[layout.userBar]);
    if (size != 0) return size;
  }
  if (layout.dmaBar == fpgadext::dext::kNoBar && layout.bars[0].present) return layout.bars[0].size;
  return 0;
}

}  // namespace

struct FpgaDriver_IVars {
  IOPCIDevice* device;
  BarLayout layout;
  uint16_t vendorDevice[2];
  uint64_t cardMemorySize;
  fpgadext::dext::MoverResources* moverResources;
  engine::DataMover* mover;
  engine::ChannelPool* channels;
  engine::TransferPlanner* planner;
};

bool FpgaDriver::init() {
  if (!super::init()) return false;
  ivars = IONewZero(FpgaDriver_IVars, 1);
  return ivars != nullptr;
}

void FpgaDriver::free() {
  IOSafeDeleteNULL(ivars, FpgaDriver_IVars, 1);
  super::free();
}

kern_return_t IMPL(FpgaDriver, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  ivars->device = OSDynamicCast(IOPCIDevice, provider);
  if (ivars->device == nullptr) return kIOReturnNoDevice;
  ivars->device->retain();
  ret = ivars->device->Open(this, 0);
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: Open failed 0x%x", ret);
    return ret;
  }
  // Open leaves memory space and bus mastering as they were (off after a Close).
  uint16_t command = 0;
  ivars->device->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  ivars->device->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                      command | kIOPCICommandBusLead | kIOPCICommandMemorySpace);
  ivars->device->ConfigurationRead16(kIOPCIConfigurationOffsetVendorID, &ivars->vendorDevice[0]);
  ivars->device->ConfigurationRead16(kIOPCIConfigurationOffsetDeviceID, &ivars->vendorDevice[1]);

  ivars->layout = fpgadext::dext::DiscoverBars(ivars->device);
  ivars->cardMemorySize = CardMemorySize(this, ivars->device, ivars->layout);
  if (ivars->layout.dmaBar != fpgadext::dext::kNoBar) {
    ret = fpgadext::dext::CreateXdmaMover(this, ivars->device, ivars->layout, ivars->cardMemorySize,
                                          kPlatform, &ivars->moverResources, &ivars->mover);
  } else {
    ret = fpgadext::dext::CreatePioMover(this, ivars->device, ivars->layout, kPlatform,
                                         &ivars->moverResources, &ivars->mover);
  }
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: no data mover for this board: 0x%x", ret);
    return ret;
  }
  const engine::EngineLimits& limits = ivars->mover->Limits();
  void* poolMemory = IOMallocZero(sizeof(engine::ChannelPool));
  void* plannerMemory = IOMallocZero(sizeof(engine::TransferPlanner));
  if (poolMemory == nullptr || plannerMemory == nullptr) return kIOReturnNoMemory;
  ivars->channels = new (poolMemory) engine::ChannelPool(limits.channels[0], limits.channels[1]);
  ivars->planner =
      new (plannerMemory) engine::TransferPlanner(*ivars->mover, *ivars->channels, kPlatform);
  os_log(OS_LOG_DEFAULT, "fpgadext: %04x:%04x, %{public}s, card memory 0x%llx, %u+%u channels",
         ivars->vendorDevice[0], ivars->vendorDevice[1],
         ivars->layout.dmaBar != fpgadext::dext::kNoBar ? "XDMA" : "PIO",
         (unsigned long long)ivars->cardMemorySize, limits.channels[0], limits.channels[1]);
  return RegisterService();
}

kern_return_t IMPL(FpgaDriver, Stop) {
  if (ivars->planner != nullptr) {
    ivars->planner->~TransferPlanner();
    IOFree(ivars->planner, sizeof(engine::TransferPlanner));
    ivars->planner = nullptr;
  }
  if (ivars->channels != nullptr) {
    ivars->channels->~ChannelPool();
    IOFree(ivars->channels, sizeof(engine::ChannelPool));
    ivars->channels = nullptr;
  }
  if (ivars->moverResources != nullptr) {
    fpgadext::dext::DestroyMover(ivars->moverResources);
    ivars->moverResources = nullptr;
    ivars->mover = nullptr;
  }
  if (ivars->device != nullptr) {
    ivars->device->Close(this, 0);
    OSSafeReleaseNULL(ivars->device);
  }
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

IOPCIDevice* FpgaDriver::GetDevice() {
  return ivars->device;
}

const BarLayout* FpgaDriver::GetBarLayout() {
  return &ivars->layout;
}

uint32_t FpgaDriver::WindowSlots() {
  const engine::EngineLimits& limits = ivars->mover->Limits();
  return limits.channels[0] > limits.channels[1] ? limits.channels[0] : limits.channels[1];
}

void FpgaDriver::GetDeviceInfo(uint64_t* out) {
  const engine::EngineLimits& limits = ivars->mover->Limits();
  out[protocol::kInfoProtocolVersion] = protocol::kProtocolVersion;
  uint64_t capabilities = protocol::kCapabilityMappedBars | protocol::kCapabilityRegisteredBuffers |
                          protocol::kCapabilityAsync | protocol::kCapabilityRing;
  if (ivars->layout.dmaBar != fpgadext::dext::kNoBar)
    capabilities |= protocol::kCapabilityDmaEngine;
  out[protocol::kInfoCapabilities] = capabilities;
  out[protocol::kInfoVendorDevice] =
      static_cast<uint64_t>(ivars->vendorDevice[1]) << 16 | ivars->vendorDevice[0];
  out[protocol::kInfoCardMemorySize] = ivars->cardMemorySize;
  out[protocol::kInfoH2cChannels] = limits.channels[0];
  out[protocol::kInfoC2hChannels] = limits.channels[1];
  for (int i = 0; i < 6; ++i) {
    out[protocol::kInfoBarSizes0 + i] =
        ivars->layout.bars[i].present ? ivars->layout.bars[i].size : 0;
  }
  out[protocol::kInfoDmaBar] = ivars->layout.dmaBar == fpgadext::dext::kNoBar
                                   ? protocol::kNoBar
                                   : static_cast<uint64_t>(ivars->layout.dmaBar);
  out[protocol::kInfoMaxTransfer] = protocol::kMaxTransferLength;
}

kern_return_t FpgaDriver::Transfer(uint32_t direction, uint64_t cardAddress,
                                   fpgadext::engine::HostMemory* host, uint64_t length) {
  if (ivars->planner == nullptr || host == nullptr || direction > 1) return kIOReturnNotReady;
  return ivars->planner->Execute(static_cast<engine::Direction>(direction), cardAddress, *host,
                                 length);
}

kern_return_t FpgaDriver::BeginTransfer(uint32_t direction, uint64_t cardAddress,
                                        fpgadext::engine::HostMemory* host, uint64_t length,
                                        fpgadext::engine::TransferJob* job,
                                        uint32_t ownedChannels) {
  if (ivars->planner == nullptr || host == nullptr || job == nullptr || direction > 1) {
    return kIOReturnNotReady;
  }
  return ivars->planner->Begin(static_cast<engine::Direction>(direction), cardAddress, *host,
                               length, job, ownedChannels);
}

kern_return_t FpgaDriver::PollTransfer(fpgadext::engine::TransferJob* job) {
  if (ivars->planner == nullptr) return kIOReturnNotReady;
  return ivars->planner->Poll(job);
}

void FpgaDriver::AbortTransfer(fpgadext::engine::TransferJob* job, kern_return_t reason) {
  if (ivars->planner != nullptr) ivars->planner->Abort(job, reason);
}

uint32_t FpgaDriver::AcquireChannel(uint32_t direction) {
  if (ivars->channels == nullptr || direction > 1) return 0;
  return ivars->channels->TryAcquire(static_cast<engine::Direction>(direction), 1);
}

void FpgaDriver::ReleaseChannels(uint32_t direction, uint32_t mask) {
  if (ivars->channels != nullptr && direction <= 1 && mask != 0) {
    ivars->channels->Release(static_cast<engine::Direction>(direction), mask);
  }
}
