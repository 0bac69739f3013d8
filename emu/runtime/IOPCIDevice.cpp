// IOPCIDevice: the dext's view of its PCI function (IOPCIFamily PCIDriverKit/IOPCIDevice.iig).
// The session and accessor methods follow IOPCIFamily's dext-side PCIDriverKit/IOPCIDevice.cpp;
// the kernel methods follow the IMPL(IOPCIDevice, …) functions of IOPCIFamily's IOPCIDevice.cpp.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSDictionary.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>
#include <os/log.h>

#include "../kernel/user_server.h"
#include "memory_descriptor.h"

namespace userserver = fpgadext::emu::userserver;
using PciFunction = userserver::PciFunctionHandle;

OSDefineMetaClass(IOPCIDevice, IOService);

namespace {

constexpr uint32_t kConfigSpaceSize = 4096;
// PCI Express capability registers (offsets from the capability).
constexpr uint32_t kPcieDeviceCapabilities = 0x04;
constexpr uint32_t kPcieLinkStatus = 0x12;
constexpr uint32_t kPcieDeviceCapabilitiesFLR = 1u << 28;
constexpr uint32_t kPcieCapabilities = 0x02;
constexpr uint32_t kPcieDeviceControl = 0x08;
constexpr uint32_t kPcieDeviceStatus = 0x0A;
constexpr uint32_t kPcieLinkControl = 0x10;
constexpr uint32_t kPcieDeviceControl2 = 0x28;
constexpr uint32_t kPcieLinkControl2 = 0x30;
constexpr uint32_t kPcieInitiateFLR = 1u << 15;
constexpr uint32_t kPcieTransactionsPending = 1u << 5;
// IOPCIFamily's endpoint shadow: the first 16 dwords of the header (kIOPCIConfigEPShadowRegs).
constexpr uint32_t kShadowDwords = 16;
constexpr uint32_t kTransactionsPendingWaitMs = 50;
constexpr uint32_t kPollMs = 2;
constexpr uint32_t kFlrCompletionMs = 100;
// Power Management capability: the PMC register.
constexpr uint32_t kPmCapabilities = 0x02;

// IOPCIFamily's prepareFLR: Bus Master and SERR# off, INTx disabled, then up to 50 ms for
// Transactions Pending to clear.
void StopMastering(PciFunction slot, uint32_t pcie) {
  uint32_t command = userserver::ConfigRead(slot, kIOPCIConfigurationOffsetCommand, 2);
  command &= ~static_cast<uint32_t>(kIOPCICommandBusLead | kIOPCICommandSERR);
  command |= kIOPCICommandInterruptDisable;
  userserver::ConfigWrite(slot, kIOPCIConfigurationOffsetCommand, 2, command);
  for (uint32_t waited = 0; waited < kTransactionsPendingWaitMs; waited += kPollMs) {
    IOSleep(kPollMs);
    if (!(userserver::ConfigRead(slot, pcie + kPcieDeviceStatus, 2) & kPcieTransactionsPending))
      break;
  }
}

// What IOPCIFamily's resetFunction does (IOPCIDevice.cpp: resetFunction, prepareFLR, flr,
// completeFLR; IOPCIBridge.cpp: saveDeviceState, restoreDeviceState;
// IOPCIMessagedInterruptController.cpp: initDevice): refuse without Function Level Reset
// Capability; save the header and PCI Express control registers; stop the function mastering
// (Bus Master and SERR# off, INTx disabled) and wait up to 50 ms for Transactions Pending to
// clear; set Initiate FLR; wait 100 ms; write the saved registers back, Command last, and the
// MSI/MSI-X programming. With kIOPCIDeviceResetOptionTerminate nothing is saved or restored:
// the nub is terminated instead and the bus probed again (launchReprobeThread), later.
kern_return_t ResetFunction(PciFunction slot, IOOptionBits options) {
  const uint32_t pcie = userserver::FindCapability(slot, kIOPCICapabilityIDPCIExpress, 0);
  if (pcie == 0 || !(userserver::ConfigRead(slot, pcie + kPcieDeviceCapabilities, 4) &
                     kPcieDeviceCapabilitiesFLR)) {
    return kIOReturnUnsupported;
  }
  if (options & kIOPCIDeviceResetOptionTerminate) {
    StopMastering(slot, pcie);
    userserver::ConfigWrite(
        slot, pcie + kPcieDeviceControl, 2,
        userserver::ConfigRead(slot, pcie + kPcieDeviceControl, 2) | kPcieInitiateFLR);
    IOSleep(kFlrCompletionMs);
    userserver::TerminateAndReprobe(slot);
    return kIOReturnSuccess;
  }
  const bool expressV2 = (userserver::ConfigRead(slot, pcie + kPcieCapabilities, 2) & 0xf) >= 2;
  uint32_t header[kShadowDwords];
  for (uint32_t i = 0; i < kShadowDwords; ++i) header[i] = userserver::ConfigRead(slot, 4 * i, 4);
  const uint32_t deviceControl = userserver::ConfigRead(slot, pcie + kPcieDeviceControl, 2);
  const uint32_t linkControl = userserver::ConfigRead(slot, pcie + kPcieLinkControl, 2);
  const uint32_t deviceControl2 =
      expressV2 ? userserver::ConfigRead(slot, pcie + kPcieDeviceControl2, 2) : 0;
  const uint32_t linkControl2 =
      expressV2 ? userserver::ConfigRead(slot, pcie + kPcieLinkControl2, 2) : 0;

  StopMastering(slot, pcie);
  userserver::ConfigWrite(slot, pcie + kPcieDeviceControl, 2, deviceControl | kPcieInitiateFLR);
  IOSleep(kFlrCompletionMs);

  for (uint32_t i = kIOPCIConfigurationOffsetRevisionID / 4; i < kShadowDwords; ++i) {
    userserver::ConfigWrite(slot, 4 * i, 4, header[i]);
  }
  userserver::ConfigWrite(slot, kIOPCIConfigurationOffsetCommand, 4, header[1]);
  userserver::ConfigWrite(slot, pcie + kPcieDeviceControl, 2, deviceControl);
  if (expressV2) userserver::ConfigWrite(slot, pcie + kPcieDeviceControl2, 2, deviceControl2);
  userserver::ConfigWrite(slot, pcie + kPcieLinkControl, 2, linkControl);
  if (expressV2) userserver::ConfigWrite(slot, pcie + kPcieLinkControl2, 2, linkControl2);
  userserver::RestoreInterrupts(slot);
  return kIOReturnSuccess;
}

}  // namespace

bool IOPCIDevice::init() {
  return IOService::init();
}

void IOPCIDevice::free() {
  IOService::free();
}

// ---- IOService overrides --------------------------------------------------------------------

kern_return_t IOPCIDevice::SetProperties_Impl(OSDictionary* properties) {
  // IOPCIFamily's IOPCIDevice::SetProperties_Impl: only these keys, only booleans.
  if (properties == nullptr) return kIOReturnBadArgument;
  kern_return_t result = kIOReturnBadArgument;
  for (const char* key :
       {kIOPMPCIConfigSpaceVolatileKey, kIOPMPCISleepLinkDisableKey, kIOPMPCISleepResetKey}) {
    OSObject* value = properties->getObject(key);
    if (value == nullptr || (value != kOSBooleanTrue && value != kOSBooleanFalse)) continue;
    OSDictionary* one = OSDictionary::withCapacity(1);
    if (one == nullptr) return kIOReturnNoMemory;
    one->setObject(key, value);
    const kern_return_t ret = IOService::SetProperties_Impl(one);
    one->release();
    if (ret != kIOReturnSuccess) return ret;
    result = kIOReturnSuccess;
  }
  return result;
}

kern_return_t IOPCIDevice::ClientCrashed_Impl(IOService* client, uint64_t options) {
  return kIOReturnSuccess;
}

// ---- Session ------------------------------------------------------------------------------

kern_return_t IOPCIDevice::_ManageSession(IOService* forClient, bool openClient,
                                          IOOptionBits openOptions, OSDispatchMethod supermethod) {
  (void)openOptions;
  (void)supermethod;
  if (forClient == nullptr || slot_ == nullptr) return kIOReturnBadArgument;
  if (openClient) {
    if (!userserver::Present(slot_)) return kIOReturnNotOpen;
    // IOService::handleOpen admits one owner and no second open, not even by the owner, and
    // _ManageSession turns the refusal into kIOReturnNotOpen (xnu IOService.cpp, IOPCIFamily
    // IOPCIDevice.cpp).
    if (opener_ != nullptr) return kIOReturnNotOpen;
    opener_ = forClient;
    return kIOReturnSuccess;  // memory space and bus mastering are left as they are
  }
  if (forClient != opener_) return kIOReturnSuccess;  // closing what is not open does nothing
  // The kernel's close clears bus mastering and memory space, and interrupts stop.
  const uint32_t command = userserver::ConfigRead(slot_, kIOPCIConfigurationOffsetCommand, 2);
  userserver::ConfigWrite(slot_, kIOPCIConfigurationOffsetCommand, 2,
                          command & ~(kIOPCICommandBusLead | kIOPCICommandMemorySpace));
  userserver::UnbindAllInterrupts(slot_);
  opener_ = nullptr;
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::Open(IOService* forClient, IOOptionBits options) {
  return _ManageSession(forClient, true, options);
}

void IOPCIDevice::Close(IOService* forClient, IOOptionBits options) {
  if (forClient == nullptr || forClient != opener_) return;
  _ManageSession(forClient, false, options);
}

void IOPCIDevice::EmulationCloseFor(IOService* client) {
  if (opener_ != nullptr && opener_ == client) {
    os_log_error(OS_LOG_DEFAULT, "IOPCIDevice: closed on behalf of a stopped client");
    Close(client, 0);
  }
}

// ---- Configuration space ------------------------------------------------------------------

#define FPGADEXT_CONFIG_READ(bits)                                                           \
  void IOPCIDevice::ConfigurationRead##bits(uint64_t offset, uint##bits##_t* readData) {     \
    if (readData == nullptr) return;                                                         \
    if (opener_ == nullptr || offset + bits / 8 > kConfigSpaceSize || offset % (bits / 8)) { \
      *readData = static_cast<uint##bits##_t>(~0ull);                                        \
      return;                                                                                \
    }                                                                                        \
    *readData = static_cast<uint##bits##_t>(                                                 \
        userserver::ConfigRead(slot_, static_cast<uint32_t>(offset), bits / 8));             \
  }
FPGADEXT_CONFIG_READ(8)
FPGADEXT_CONFIG_READ(16)
FPGADEXT_CONFIG_READ(32)

#define FPGADEXT_CONFIG_WRITE(bits)                                                                \
  void IOPCIDevice::ConfigurationWrite##bits(uint64_t offset, uint##bits##_t data) {               \
    if (opener_ == nullptr || offset + bits / 8 > kConfigSpaceSize || offset % (bits / 8)) return; \
    userserver::ConfigWrite(slot_, static_cast<uint32_t>(offset), bits / 8, data);                 \
  }
FPGADEXT_CONFIG_WRITE(8)
FPGADEXT_CONFIG_WRITE(16)
FPGADEXT_CONFIG_WRITE(32)

// ---- Device memory ------------------------------------------------------------------------
// Memory access needs the device open (its ranges are mapped at Open on a Mac); otherwise reads
// give all ones and writes are dropped. The 3-argument forms are the 4-argument ones with no
// options, as in Apple's dext-side implementation. kIOPCIAccessLatencyTolerantHint sends the
// access through the kernel on a Mac; here both routes reach the same device the same way.
#define FPGADEXT_MEMORY_ACCESS(bits)                                                               \
  void IOPCIDevice::MemoryRead##bits(uint8_t memoryIndex, uint64_t offset,                         \
                                     uint##bits##_t* readData, IOOptionBits options) {             \
    (void)options;                                                                                 \
    if (readData == nullptr) return;                                                               \
    *readData = opener_ ? static_cast<uint##bits##_t>(                                             \
                              userserver::MemoryRead(slot_, memoryIndex, offset, bits / 8))        \
                        : static_cast<uint##bits##_t>(~0ull);                                      \
  }                                                                                                \
  void IOPCIDevice::MemoryRead##bits(uint8_t memoryIndex, uint64_t offset,                         \
                                     uint##bits##_t* readData) {                                   \
    MemoryRead##bits(memoryIndex, offset, readData, 0);                                            \
  }                                                                                                \
  void IOPCIDevice::MemoryWrite##bits(uint8_t memoryIndex, uint64_t offset, uint##bits##_t data,   \
                                      IOOptionBits options) {                                      \
    (void)options;                                                                                 \
    if (opener_) userserver::MemoryWrite(slot_, memoryIndex, offset, bits / 8, data);              \
  }                                                                                                \
  void IOPCIDevice::MemoryWrite##bits(uint8_t memoryIndex, uint64_t offset, uint##bits##_t data) { \
    MemoryWrite##bits(memoryIndex, offset, data, 0);                                               \
  }
FPGADEXT_MEMORY_ACCESS(8)
FPGADEXT_MEMORY_ACCESS(16)
FPGADEXT_MEMORY_ACCESS(32)
FPGADEXT_MEMORY_ACCESS(64)

// ---- Kernel methods -----------------------------------------------------------------------
// A scalar out-parameter may be NULL: iig's generated call copies each reply field only when
// its pointer is set.

kern_return_t IOPCIDevice::GetBARInfo(uint8_t barIndex, uint8_t* memoryIndex, uint64_t* barSize,
                                      uint8_t* barType, OSDispatchMethod supermethod) {
  (void)supermethod;
  if (barIndex > kPCIMemoryRangeExpansionROM) return kIOReturnBadArgument;
  if (slot_ == nullptr) return kIOReturnError;
  if (barIndex == kPCIMemoryRangeExpansionROM) return kIOReturnNotFound;  // no ROM is emulated
  const userserver::BarInfo bar = userserver::Bar(slot_, barIndex);
  if (bar.memoryIndex < 0) return kIOReturnNotFound;
  if (memoryIndex) *memoryIndex = static_cast<uint8_t>(bar.memoryIndex);
  if (barSize) *barSize = bar.size;
  if (barType) *barType = bar.type;
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                             uint64_t* foundCapabilityOffset,
                                             OSDispatchMethod supermethod) {
  (void)supermethod;
  if (slot_ == nullptr) return kIOReturnBadArgument;
  // The kernel searches configuration space whether or not the device is open (IOPCIFamily
  // IOPCIDevice.cpp, FindPCICapability).
  // Standard IDs are 8 bits; an extended capability is asked for with its negated ID.
  const uint32_t after = searchOffset < kConfigSpaceSize ? static_cast<uint32_t>(searchOffset) : 0;
  uint32_t found = 0;
  if (capabilityID <= 0xff) {
    found = userserver::FindCapability(slot_, static_cast<uint8_t>(capabilityID), after);
  } else if (0u - capabilityID <= 0xffff) {
    found =
        userserver::FindExtendedCapability(slot_, static_cast<uint16_t>(0u - capabilityID), after);
  }
  if (foundCapabilityOffset) *foundCapabilityOffset = found;
  return found != 0 ? kIOReturnSuccess : kIOReturnNotFound;
}

kern_return_t IOPCIDevice::GetBusDeviceFunction(uint8_t* returnBusNumber,
                                                uint8_t* returnDeviceNumber,
                                                uint8_t* returnFunctionNumber,
                                                OSDispatchMethod supermethod) {
  (void)supermethod;
  if (slot_ == nullptr) return kIOReturnBadArgument;
  if (returnBusNumber) *returnBusNumber = 1;
  const userserver::Location location = userserver::LocationOf(slot_);
  if (returnDeviceNumber) *returnDeviceNumber = location.device;
  if (returnFunctionNumber) *returnFunctionNumber = location.function;
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::HasPCIPowerManagement(uint64_t state, OSDispatchMethod supermethod) {
  (void)supermethod;
  sleepControlBits_ = 0;
  const uint32_t pm =
      slot_ ? userserver::FindCapability(slot_, kIOPCICapabilityIDPowerManagement, 0) : 0;
  if (pm == 0) return kIOReturnUnsupported;
  const uint32_t capabilities = userserver::ConfigRead(slot_, pm + kPmCapabilities, 2);
  const auto s = static_cast<uint32_t>(state);
  uint32_t need = s;
  switch (s) {
    case 0:  // the platform's sleep state for the device: no such property here
      return kIOReturnUnsupported;
    case kPCIPMCPMESupportFromD3Cold:
    case kPCIPMCPMESupportFromD3Hot:
      sleepControlBits_ = kPCIPMCSPMEStatus | kPCIPMCSPMEEnable | kPCIPMCSPowerStateD3;
      break;
    case kPCIPMCPMESupportFromD2:
      sleepControlBits_ = kPCIPMCSPMEStatus | kPCIPMCSPMEEnable | kPCIPMCSPowerStateD2;
      break;
    case kPCIPMCPMESupportFromD1:
      sleepControlBits_ = kPCIPMCSPMEStatus | kPCIPMCSPMEEnable | kPCIPMCSPowerStateD1;
      break;
    case kPCIPMCD2Support:
      sleepControlBits_ = kPCIPMCSPowerStateD2;
      break;
    case kPCIPMCD1Support:
      sleepControlBits_ = kPCIPMCSPowerStateD1;
      break;
    case kPCIPMCD3Support:
      sleepControlBits_ = kPCIPMCSPowerStateD3;
      need = 0;  // every PM-capable function has D3
      break;
    default:
      break;
  }
  if (need != 0 && !(need & capabilities)) sleepControlBits_ = 0;
  return sleepControlBits_ != 0 ? kIOReturnSuccess : kIOReturnUnsupported;
}

kern_return_t IOPCIDevice::EnablePCIPowerManagement(uint64_t state, OSDispatchMethod supermethod) {
  (void)supermethod;
  auto s = static_cast<uint32_t>(state);
  if (s == 0xffffffffu) s = kPCIPMCSPowerStateD3;
  if (slot_ == nullptr ||
      userserver::FindCapability(slot_, kIOPCICapabilityIDPowerManagement, 0) == 0) {
    return kIOReturnBadArgument;
  }
  if (s == kPCIPMCSPowerStateD0) {
    sleepControlBits_ = 0;
    return kIOReturnSuccess;
  }
  const uint32_t old = sleepControlBits_;
  sleepControlBits_ =
      (s & kPCIPMCSPowerStateMask) | (old & (kPCIPMCSPMEStatus | kPCIPMCSPMEEnable));
  // The state is what the function enters at system sleep, which is not emulated.
  return sleepControlBits_ != 0 ? kIOReturnSuccess : kIOReturnBadArgument;
}

kern_return_t IOPCIDevice::SaveDeviceState(IOOptionBits options, OSDispatchMethod supermethod) {
  (void)options;
  (void)supermethod;
  return kIOReturnUnsupported;  // no configuration shadow in the emulated bus
}

kern_return_t IOPCIDevice::RestoreDeviceState(IOOptionBits options, OSDispatchMethod supermethod) {
  (void)options;
  (void)supermethod;
  return kIOReturnUnsupported;
}

kern_return_t IOPCIDevice::SetLinkSpeed(IOPCILinkSpeed linkSpeed, bool retrain,
                                        OSDispatchMethod supermethod) {
  (void)retrain;
  (void)supermethod;
  if (linkSpeed < kPCILinkSpeed_2_5_GTs || linkSpeed > kPCILinkSpeed_32_GTs) {
    return kIOReturnBadArgument;
  }
  return kIOReturnUnsupported;  // no upstream bridge to set a target speed on or retrain
}

kern_return_t IOPCIDevice::GetLinkSpeed(IOPCILinkSpeed* linkSpeed, OSDispatchMethod supermethod) {
  (void)supermethod;
  const uint32_t pcie =
      slot_ ? userserver::FindCapability(slot_, kIOPCICapabilityIDPCIExpress, 0) : 0;
  if (pcie == 0) return kIOReturnUnsupported;
  // Link Status, Current Link Speed: 1 = 2.5 GT/s … 5 = 32 GT/s, the IOPCILinkSpeed values.
  const uint32_t speed = userserver::ConfigRead(slot_, pcie + kPcieLinkStatus, 2) & 0xf;
  if (speed < kPCILinkSpeed_2_5_GTs || speed > kPCILinkSpeed_32_GTs) return kIOReturnError;
  if (linkSpeed) *linkSpeed = static_cast<IOPCILinkSpeed>(speed);
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired,
                                               uint32_t numRequested, IOOptionBits options,
                                               OSDispatchMethod supermethod) {
  (void)supermethod;
  if (slot_ == nullptr || options != 0) return kIOReturnBadArgument;
  return userserver::ConfigureInterrupts(slot_, interruptType, numRequired, numRequested);
}

kern_return_t IOPCIDevice::Reset(IOOptionBits type, IOOptionBits options,
                                 OSDispatchMethod supermethod) {
  (void)supermethod;
  if (slot_ == nullptr) return kIOReturnError;
  // IOPCIFamily IOPCIDevice::reset sends a function-level reset to resetFunction, which looks at
  // nothing but kIOPCIDeviceResetOptionTerminate; every other type goes to the bridge.
  if (type == kIOPCIDeviceResetTypeFunctionReset) return ResetFunction(slot_, options);
  // The bridge's checks: exactly one defined type, defined options only.
  constexpr uint32_t kTypes = kIOPCIDeviceResetTypeHotReset | kIOPCIDeviceResetTypeWarmReset |
                              kIOPCIDeviceResetTypeWarmResetDisable |
                              kIOPCIDeviceResetTypeWarmResetEnable |
                              kIOPCIDeviceResetTypeFunctionReset;
  if (__builtin_popcount(type) != 1 || (type & ~kTypes) ||
      (options & ~static_cast<uint32_t>(kIOPCIDeviceResetOptionTerminate))) {
    return kIOReturnBadArgument;
  }
  // Hot and warm resets go through the upstream bridge, which the emulated bus does not have.
  return kIOReturnUnsupported;
}

kern_return_t IOPCIDevice::SetASPMState(IOOptionBits aspmLinkControl,
                                        OSDispatchMethod supermethod) {
  (void)aspmLinkControl;
  (void)supermethod;
  return kIOReturnUnsupported;  // no link power states in the emulated bus
}

kern_return_t IOPCIDevice::_CopyDeviceMemoryWithIndex(uint64_t memoryIndex,
                                                      IOMemoryDescriptor** returnMemory,
                                                      IOService* forClient,
                                                      OSDispatchMethod supermethod) {
  (void)supermethod;
  if (returnMemory == nullptr || slot_ == nullptr) return kIOReturnBadArgument;
  // Only the service that has the device open gets its memory (IOPCIFamily IOPCIDevice.cpp,
  // _CopyDeviceMemoryWithIndex checks isOpen(forClient) first).
  if (forClient == nullptr || forClient != opener_) return kIOReturnNotOpen;
  if (memoryIndex > kPCIMemoryRangeExpansionROM) return kIOReturnBadArgument;
  IOMemoryDescriptor* md = fpgadext::emu::NewMemoryDescriptor(
      userserver::CreateDeviceMemory(slot_, static_cast<unsigned>(memoryIndex)));
  if (md == nullptr) return kIOReturnBadArgument;
  *returnMemory = md;
  return kIOReturnSuccess;
}
