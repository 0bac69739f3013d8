// DriverResources: bring-up of one board and its single release path (driver_resources.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "driver_resources.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/OSCollections.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <fpgadext/protocol.h>
#include <os/log.h>
#include <xdma/xdma_registers.h>
#include <xdma/xdma_status.h>

#include "channel_wait.h"
#include "polling.h"
#include "reference_design.h"

namespace fpgadext::dext {
namespace {

namespace protocol = fpgadext::protocol;

uint64_t NowNs() {
  static mach_timebase_info_data_t timebase;
  if (timebase.denom == 0) mach_timebase_info(&timebase);
  return mach_absolute_time() * timebase.numer / timebase.denom;
}

// Between polls that found the engine still busy: a bounded spin, no sleep (docs/engine.md,
// "Waiting").
const engine::Platform kPlatform{NowNs, PollPause};

// What the personality may set: FPGACardMemorySize (0 when absent), FPGATransferTimeoutMs, the
// planner's base timeout (the engine's default when absent or 0), and FPGACompletionPolicy.
void ReadPersonality(IOService* owner, uint64_t* cardMemorySize, engine::PlannerOptions* options) {
  *cardMemorySize = 0;
  OSDictionary* properties = nullptr;
  if (owner->CopyProperties(&properties) != kIOReturnSuccess || properties == nullptr) return;
  OSSharedPtr<OSDictionary> owned(properties, OSNoRetain);
  if (auto* n = OSDynamicCast(OSNumber, owned->getObject("FPGACardMemorySize"))) {
    *cardMemorySize = n->unsigned64BitValue();
  }
  if (auto* n = OSDynamicCast(OSNumber, owned->getObject("FPGATransferTimeoutMs"))) {
    if (n->unsigned64BitValue() > 0)
      options->timeoutBaseNs = n->unsigned64BitValue() * 1'000'000ull;
  }
  // How synchronous transfers wait for completion (docs/engine.md "Completion policy").
  if (auto* s = OSDynamicCast(OSString, owned->getObject("FPGACompletionPolicy"))) {
    if (s->isEqualTo("poll")) options->completion = engine::CompletionPolicy::kPoll;
    if (s->isEqualTo("interrupt")) options->completion = engine::CompletionPolicy::kInterrupt;
    if (s->isEqualTo("adaptive")) options->completion = engine::CompletionPolicy::kAdaptive;
  }
}

// Card memory size: the personality's when set, else what the reference design's user block
// reports, else the BAR window of a PIO board.
uint64_t FindCardMemorySize(uint64_t fromPersonality, IOPCIDevice* device,
                            const BarLayout& layout) {
  if (fromPersonality != 0) return fromPersonality;
  if (layout.userBar != kNoBar) {
    const uint64_t size = ReferenceDesignCardMemorySize(device, layout.bars[layout.userBar]);
    if (size != 0) return size;
  }
  if (layout.dmaBar == kNoBar && layout.bars[0].present) return layout.bars[0].size;
  return 0;
}

bool ValidDirection(uint32_t direction) {
  return direction <= static_cast<uint32_t>(engine::Direction::kCardToHost);
}

}  // namespace

DriverResources::DriverResources(IOService* owner, IOPCIDevice* device)
    : owner_(owner), device_(device, OSRetain) {}

IOReturn DriverResources::Create(IOService* owner, IOPCIDevice* device,
                                 DriverResources** resources) {
  if (resources == nullptr) return kIOReturnBadArgument;
  *resources = nullptr;
  if (owner == nullptr || device == nullptr) return kIOReturnNoDevice;
  IOOwned<DriverResources> built = IOOwned<DriverResources>::Make(owner, device);
  if (!built) return kIOReturnNoMemory;
  const IOReturn ret = built->Build();
  if (ret != kIOReturnSuccess) return ret;  // `built` goes, and undoes what Build did
  *resources = built.release();             // the caller gives it back to Release
  return kIOReturnSuccess;
}

void DriverResources::Retain() {
  __atomic_add_fetch(&references_, 1, __ATOMIC_RELAXED);
}

void DriverResources::Release(DriverResources* resources) {
  if (resources == nullptr || __atomic_sub_fetch(&resources->references_, 1, __ATOMIC_ACQ_REL)) {
    return;
  }
  IOOwned<DriverResources>::Adopt(resources).reset();
}

IOReturn DriverResources::Build() {
  IOReturn ret = device_->Open(owner_, 0);
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: Open failed 0x%x", ret);
    return ret;
  }
  opened_ = true;
  // Open leaves memory space and bus mastering as they were (off after a Close); Close turns
  // them off again (IOPCIFamily IOPCIDevice::handleClose).
  uint16_t command = 0;
  device_->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  device_->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                command | kIOPCICommandBusLead | kIOPCICommandMemorySpace);
  device_->ConfigurationRead16(kIOPCIConfigurationOffsetVendorID, &vendorDevice_[0]);
  device_->ConfigurationRead16(kIOPCIConfigurationOffsetDeviceID, &vendorDevice_[1]);

  layout_ = DiscoverBars(device_.get());
  uint64_t personalitySize = 0;
  engine::PlannerOptions options;
  ReadPersonality(owner_, &personalitySize, &options);
  cardMemorySize_ = FindCardMemorySize(personalitySize, device_.get(), layout_);
  if (layout_.dmaBar != kNoBar) {
    ret = CreateXdmaMover(owner_, device_.get(), layout_, cardMemorySize_, kPlatform, &mover_);
  } else {
    ret = CreatePioMover(owner_, device_.get(), layout_, kPlatform, &mover_);
  }
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: no data mover for this board: 0x%x", ret);
    return ret;
  }
  // Stream channels (docs/streams.md): a board without any is not an error.
  ret = StreamResources::Create(device_.get(), layout_, kPlatform, &streams_);
  if (ret != kIOReturnSuccess && ret != kIOReturnNotFound) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: stream channels unavailable: 0x%x", ret);
  }
  const engine::EngineLimits& limits = mover_->mover->Limits();
  channels_ = IOOwned<engine::ChannelPool>::Make(limits.channels[0], limits.channels[1]);
  if (!channels_) return kIOReturnNoMemory;
  ret = CreateChannelWaitQueue(channelWaitQueue_.attach());
  if (ret != kIOReturnSuccess) return ret;
  channels_->SetWaitSeam(ChannelWaitSeamOn(channelWaitQueue_.get()));
  planner_ = IOOwned<engine::TransferPlanner>::Make(*mover_->mover, *channels_, kPlatform, options);
  if (!planner_) return kIOReturnNoMemory;
  // A board whose user interrupts cannot be set up still moves data: events are then absent
  // (no kCapabilityEvents), not an error.
  ret = UserInterrupts::Create(device_.get(), layout_, limits.channels[0] + limits.channels[1],
                               &userInterrupts_);
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: user interrupts unavailable: 0x%x", ret);
  }
  // Completion interrupts: without them every transfer polls, whatever policy it asks for.
  if (layout_.dmaBar != kNoBar) {
    ret = ChannelInterrupts::Create(device_.get(), layout_, limits.channels[0], limits.channels[1],
                                    static_cast<bool>(userInterrupts_), &channelInterrupts_);
    if (ret == kIOReturnSuccess) {
      planner_->SetCompletionWait(channelInterrupts_->Seam());
    } else {
      os_log_error(OS_LOG_DEFAULT, "fpgadext: channel interrupts unavailable: 0x%x", ret);
    }
  }
  os_log(OS_LOG_DEFAULT, "fpgadext: %04x:%04x, %{public}s, card memory 0x%llx, %u+%u channels",
         vendorDevice_[0], vendorDevice_[1], layout_.dmaBar != kNoBar ? "XDMA" : "PIO",
         (unsigned long long)cardMemorySize_, limits.channels[0], limits.channels[1]);
  return kIOReturnSuccess;
}

DriverResources::~DriverResources() {
  // The reverse of Build. The engines are stopped while the device is still open (their
  // registers are unreachable after Close), and before the memory they read goes.
  userInterrupts_.reset();
  planner_.reset();
  channelInterrupts_.reset();  // after the planner, whose completion waits sleep on it
  channels_.reset();
  channelWaitQueue_.reset();  // after the pool, whose seam sleeps on it
  streams_.reset();
  mover_.reset();
  if (opened_) device_->Close(owner_, 0);
  opened_ = false;
  device_.reset();
}

uint32_t DriverResources::WindowSlots() const {
  const engine::EngineLimits& limits = mover_->mover->Limits();
  return limits.channels[0] > limits.channels[1] ? limits.channels[0] : limits.channels[1];
}

void DriverResources::GetDeviceInfo(uint64_t* out) const {
  const engine::EngineLimits& limits = mover_->mover->Limits();
  out[protocol::kInfoProtocolVersion] = protocol::kProtocolVersion;
  uint64_t capabilities = protocol::kCapabilityMappedBars | protocol::kCapabilityRegisteredBuffers |
                          protocol::kCapabilityAsync | protocol::kCapabilityRing |
                          protocol::kCapabilityRingDoorbell | protocol::kCapabilityBounce |
                          protocol::kCapabilityCompletionPolicy;
  if (streams_) capabilities |= protocol::kCapabilityStreams;
  if (layout_.dmaBar != kNoBar) capabilities |= protocol::kCapabilityDmaEngine;
  if (userInterrupts_) capabilities |= protocol::kCapabilityEvents;
  out[protocol::kInfoCapabilities] = capabilities;
  out[protocol::kInfoVendorDevice] =
      static_cast<uint64_t>(vendorDevice_[1]) << 16 | vendorDevice_[0];
  out[protocol::kInfoCardMemorySize] = cardMemorySize_;
  out[protocol::kInfoH2cChannels] = limits.channels[0];
  out[protocol::kInfoC2hChannels] = limits.channels[1];
  for (int i = 0; i < 6; ++i) {
    out[protocol::kInfoBarSizes0 + i] = layout_.bars[i].present ? layout_.bars[i].size : 0;
  }
  out[protocol::kInfoDmaBar] =
      layout_.dmaBar == kNoBar ? protocol::kNoBar : static_cast<uint64_t>(layout_.dmaBar);
  out[protocol::kInfoMaxTransfer] = protocol::kMaxTransferLength;
}

IOReturn DriverResources::Transfer(uint32_t direction, uint64_t cardAddress,
                                   engine::HostMemory* host, uint64_t length,
                                   engine::ChannelClient* client, engine::TransferCancel* cancel) {
  if (host == nullptr || !ValidDirection(direction)) return kIOReturnNotReady;
  if (__atomic_load_n(&quarantined_, __ATOMIC_ACQUIRE)) return kIOReturnNoDevice;
  const IOReturn ret = planner_->Execute(static_cast<engine::Direction>(direction), cardAddress,
                                         *host, length, client, cancel);
  CheckFunction(direction, ret);
  return ret;
}

void DriverResources::CheckFunction(uint32_t direction, IOReturn result) {
  if (!ValidDirection(direction)) return;
  if (result == kIOReturnNoDevice) {
    if (!DmaBarReadsAllOnes()) return;  // one register's value, not the function's state
    uint16_t vendor = 0xFFFF;
    device_->ConfigurationRead16(kIOPCIConfigurationOffsetVendorID, &vendor);
    if (vendor == 0xFFFF) {
      // Removed, or its link is down: nothing to reset.
      QuarantineFunction();
      return;
    }
    RequestReset("its DMA registers read all ones");
    return;
  }
  if (result != kIOReturnNotResponding) return;
  const engine::Direction d = static_cast<engine::Direction>(direction);
  const uint32_t count = mover_->mover->Limits().channels[direction];
  const uint32_t all = count >= 32 ? ~0u : (1u << count) - 1;
  if (count == 0 || channels_->Quarantined(d) != all) return;
  RequestReset(direction == 0 ? "every H2C channel is wedged" : "every C2H channel is wedged");
}

bool DriverResources::DmaBarReadsAllOnes() const {
  if (layout_.dmaBar == kNoBar) return false;
  uint32_t id = 0;
  device_->MemoryRead32(layout_.bars[layout_.dmaBar].memoryIndex, xdma::kConfigBlockBase, &id);
  return id == engine::kXdmaAllOnes;
}

void DriverResources::QuarantineFunction() {
  if (!__atomic_exchange_n(&quarantined_, true, __ATOMIC_ACQ_REL)) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: the function does not answer: no more DMA");
  }
  // A function that stopped answering on its BARs may still be mastering: a window the engine
  // failed at once (all ones) was never stopped, and registered buffers, rings, the bounce buffer
  // and stream rings stay mapped until their clients let go. With Bus Master Enable off the
  // function can reach none of them (PCI Express Base Specification, Command register bit 2: a
  // function may not issue memory requests, MSI included, while it is clear). Its configuration
  // space still answers when it is wedged; when it is gone, the write goes nowhere.
  uint16_t command = 0;
  device_->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &command);
  if (command != 0xFFFF && (command & kIOPCICommandBusLead)) {
    device_->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand,
                                  static_cast<uint16_t>(command & ~kIOPCICommandBusLead));
  }
}

void DriverResources::RequestReset(const char* why) {
  if (!__atomic_exchange_n(&resetRequested_, true, __ATOMIC_ACQ_REL)) {
    uint16_t vendor = 0xFFFF;
    device_->ConfigurationRead16(kIOPCIConfigurationOffsetVendorID, &vendor);
    if (vendor == 0xFFFF) {
      os_log_error(OS_LOG_DEFAULT, "fpgadext: %s and the function is gone: no reset", why);
      QuarantineFunction();
      return;
    }
    const IOReturn ret =
        device_->Reset(kIOPCIDeviceResetTypeFunctionReset, kIOPCIDeviceResetOptionTerminate);
    os_log_error(OS_LOG_DEFAULT, "fpgadext: %s: function-level reset and restart: 0x%x", why, ret);
    if (ret == kIOReturnSuccess) return;
  }
  // Not reset (no Function Level Reset: kIOReturnUnsupported): a function whose BARs do not
  // answer takes no more DMA; wedged channels alone stay set aside until they are seen idle.
  if (DmaBarReadsAllOnes()) QuarantineFunction();
}

void DriverResources::CancelTransfer(engine::TransferCancel* cancel) {
  if (cancel != nullptr) planner_->Cancel(cancel);
}

IOReturn DriverResources::BeginTransfer(uint32_t direction, uint64_t cardAddress,
                                        engine::HostMemory* host, uint64_t length,
                                        engine::TransferJob* job, uint32_t ownedChannels,
                                        engine::ChannelClient* client) {
  if (host == nullptr || job == nullptr || !ValidDirection(direction)) return kIOReturnNotReady;
  if (__atomic_load_n(&quarantined_, __ATOMIC_ACQUIRE)) return kIOReturnNoDevice;
  const IOReturn ret = planner_->Begin(static_cast<engine::Direction>(direction), cardAddress,
                                       *host, length, job, ownedChannels, client);
  CheckFunction(direction, ret);
  return ret;
}

IOReturn DriverResources::PollTransfer(engine::TransferJob* job) {
  const IOReturn ret = planner_->Poll(job);
  if (job != nullptr) CheckFunction(static_cast<uint32_t>(job->direction), ret);
  return ret;
}

void DriverResources::AbortTransfer(engine::TransferJob* job, IOReturn reason) {
  planner_->Abort(job, reason);
}

IOReturn DriverResources::AcquireChannel(uint32_t direction, uint32_t* mask) {
  if (mask == nullptr || !ValidDirection(direction)) return kIOReturnBadArgument;
  *mask = 0;
  return channels_->AcquireExclusive(static_cast<engine::Direction>(direction), mask);
}

void DriverResources::ReleaseChannels(uint32_t direction, uint32_t mask) {
  if (ValidDirection(direction) && mask != 0) {
    channels_->Release(static_cast<engine::Direction>(direction), mask);
  }
}

void DriverResources::QuarantineChannels(uint32_t direction, uint32_t mask) {
  if (ValidDirection(direction) && mask != 0) {
    channels_->Quarantine(static_cast<engine::Direction>(direction), mask);
  }
}

}  // namespace fpgadext::dext
