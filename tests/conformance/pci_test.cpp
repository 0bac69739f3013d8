// Rules of IOPCIDevice (driverkit-semantics.md §5.1, §7.2 pitfalls 12 and 13): the Command
// register at Open and Close, memory indexes versus BARs, MMIO, capabilities, and what a driver
// sees when the device goes away.
#include <fpgadext/emu/log_capture.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dext/mempci_protocol.h"
#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

constexpr uint16_t kMemorySpace = 0x2;      // kIOPCICommandMemorySpace
constexpr uint16_t kBusLead = 0x4;          // kIOPCICommandBusLead (bus master)
constexpr uint8_t kTypeM32 = 0x0;           // kPCIBARTypeM32
constexpr uint8_t kTypeM64PF = 0xC;         // kPCIBARTypeM64PF
constexpr uint64_t kLatencyTolerant = 0x1;  // kIOPCIAccessLatencyTolerantHint
// tIOPCIDeviceResetTypes and tIOPCIDeviceResetOptions (IOPCIFamilyDefinitions.h).
constexpr uint64_t kResetHot = 0x1, kResetWarm = 0x2, kResetWarmDisable = 0x4,
                   kResetWarmEnable = 0x8, kResetFunction = 0x10;
constexpr uint64_t kResetOptionTerminate = 0x1;

class PciRules : public ConformanceTest {
 protected:
  std::vector<uint64_t> PciState() {
    std::vector<uint64_t> out(kPciCount);
    EXPECT_EQ(Call(kSelPciState, {}, &out), kIOReturnSuccess);
    return out;
  }
  std::vector<uint64_t> BarInfo(unsigned bar) {
    std::vector<uint64_t> out(4);
    EXPECT_EQ(Call(kSelBarInfo, {bar}, &out), kIOReturnSuccess);
    return out;
  }
  uint64_t Read32(uint64_t memoryIndex, uint64_t offset) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelMemoryRead32, {memoryIndex, offset}, &out), kIOReturnSuccess);
    return out[0];
  }
  // kSelMemoryWidth: write with the 4-argument MemoryWrite<width>, read back (kWidth*).
  std::vector<uint64_t> Width(uint64_t memoryIndex, uint64_t offset, uint64_t value, uint64_t width,
                              uint64_t options) {
    std::vector<uint64_t> out(kWidthCount);
    EXPECT_EQ(Call(kSelMemoryWidth, {memoryIndex, offset, value, width, options}, &out),
              kIOReturnSuccess);
    return out;
  }
  IOReturn Reset(uint64_t type, uint64_t options) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelReset, {type, options}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  std::vector<uint64_t> Kernel() {
    std::vector<uint64_t> out(kKernelCount);
    EXPECT_EQ(Call(kSelKernelMethods, {}, &out), kIOReturnSuccess);
    return out;
  }
  static bool Logged(const emu::LogCapture& capture, const std::string& text) {
    const std::vector<std::string> messages = capture.messages();
    return std::any_of(messages.begin(), messages.end(),
                       [&](const std::string& m) { return m.find(text) != std::string::npos; });
  }
};

TEST_F(PciRules, OpenDoesNotEnableMemorySpaceOrBusMastering) {
  std::vector<uint64_t> state = PciState();
  EXPECT_EQ(state[kPciCommandAtOpen] & (kMemorySpace | kBusLead), 0u);
  // The driver enables both itself, as it must.
  EXPECT_EQ(state[kPciCommandNow] & (kMemorySpace | kBusLead), kMemorySpace | kBusLead);
  EXPECT_EQ(device_->config().Command() & (kMemorySpace | kBusLead), kMemorySpace | kBusLead);
}

TEST_F(PciRules, CloseClearsMemorySpaceAndBusMastering) {
  emu::LogCapture capture;
  machine_->DetachPciFunction(device_.get());  // orderly: the driver stops and closes
  EXPECT_EQ(device_->config().Command() & (kMemorySpace | kBusLead), 0u);
  // While it stopped, the device still answered.
  EXPECT_TRUE(Logged(capture, "ID register 0xc0ffee01"));
}

TEST_F(PciRules, MemoryIndexIsNotTheBarNumber) {
  // The probe has BAR0 (32-bit) and BAR2 (64-bit, prefetchable; BAR3 is its upper half).
  std::vector<uint64_t> bar0 = BarInfo(0);
  ASSERT_EQ(static_cast<IOReturn>(bar0[0]), kIOReturnSuccess);
  EXPECT_EQ(bar0[1], 0u);
  EXPECT_EQ(bar0[2], 0x10000u);
  EXPECT_EQ(bar0[3], kTypeM32);
  std::vector<uint64_t> bar2 = BarInfo(probe::kRamBar);
  ASSERT_EQ(static_cast<IOReturn>(bar2[0]), kIOReturnSuccess);
  EXPECT_EQ(bar2[1], 1u);  // memory index 1, not 2
  EXPECT_EQ(bar2[2], probe::kRamSize);
  EXPECT_EQ(bar2[3], kTypeM64PF);
  for (unsigned unused : {1u, 3u, 4u, 5u}) {
    SCOPED_TRACE(unused);
    EXPECT_EQ(static_cast<IOReturn>(BarInfo(unused)[0]), kIOReturnNotFound);
  }
  // BAR2's RAM answers at memory index 1; "index 2" is nothing.
  const uint64_t value = Read32(1, 0x40);
  EXPECT_NE(value, 0xffffffffu);
  EXPECT_EQ(Read32(2, 0x40), 0xffffffffu);
}

TEST_F(PciRules, MemoryRead32ReadsTheIdRegister) {
  EXPECT_EQ(PciState()[kPciIdRegister], probe::kIdValue);
  EXPECT_EQ(Read32(0, probe::kId), probe::kIdValue);
}

TEST_F(PciRules, MemoryReadOfAnUnknownMemoryIndexIsAllOnes) {
  for (uint64_t index : {2u, 7u, 255u}) {
    SCOPED_TRACE(index);
    EXPECT_EQ(Read32(index, 0), 0xffffffffu);
  }
}

TEST_F(PciRules, FindPCICapabilityFindsMsi) {
  // Walk the probe's capability list directly, as the hardware holds it.
  uint32_t expected = 0;
  for (uint32_t offset = device_->ConfigRead(0x34, 1) & 0xfc; offset != 0;
       offset = device_->ConfigRead(offset + 1, 1) & 0xfc) {
    if ((device_->ConfigRead(offset, 1) & 0xff) == 0x05) {
      expected = offset;
      break;
    }
  }
  ASSERT_NE(expected, 0u);
  EXPECT_EQ(PciState()[kPciMsiCapability], expected);
}

TEST_F(PciRules, SurpriseRemovedDeviceReadsAllOnesAndItsDriverStops) {
  emu::LogCapture capture;
  machine_->SurpriseRemovePciFunction(device_.get());
  // The driver's Stop read the ID register of a device that no longer answers.
  EXPECT_TRUE(Logged(capture, "ID register 0xffffffff"));
  // The driver is gone, and the app's connection with it, without a crash.
  EXPECT_EQ(
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver")),
      IO_OBJECT_NULL);
  std::vector<uint64_t> out(kPciCount);
  EXPECT_NE(Call(kSelPciState, {}, &out), kIOReturnSuccess);
}

TEST_F(PciRules, DeviceDmaWithBusMasteringOffIsRefused) {
  std::vector<uint8_t> app(8192, 0x31);
  std::vector<uint64_t> prepared(kPrepareCount);
  ASSERT_EQ(Call(kSelPrepareClient,
                 {reinterpret_cast<uint64_t>(app.data()), app.size(), kClientInOut, 32}, &prepared),
            kIOReturnSuccess);
  ASSERT_EQ(static_cast<IOReturn>(prepared[kPrepareStatus]), kIOReturnSuccess);
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelSetCommand, {kMemorySpace}, &out), kIOReturnSuccess);
  EXPECT_EQ(out[0] & (kMemorySpace | kBusLead), kMemorySpace);
  ASSERT_EQ(Call(kSelDeviceDma, {probe::kDmaToDevice, 0, app.size()}, &out), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]),
            kIOReturnNotPermitted);  // refused on the bus, before the IOMMU
  EXPECT_EQ(machine_->iommu().ViolationCount(), 0u);
  // Bus mastering back on: the same access works.
  ASSERT_EQ(Call(kSelSetCommand, {kMemorySpace | kBusLead}, &out), kIOReturnSuccess);
  ASSERT_EQ(Call(kSelDeviceDma, {probe::kDmaToDevice, 0, app.size()}, &out), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  EXPECT_EQ(device_->buffer()[100], 0x31);
}

TEST_F(PciRules, MemoryReadWithMemorySpaceOffIsAllOnes) {
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelSetCommand, {kBusLead}, &out), kIOReturnSuccess);
  EXPECT_EQ(Read32(0, probe::kId), 0xffffffffu);
  ASSERT_EQ(Call(kSelSetCommand, {kMemorySpace | kBusLead}, &out), kIOReturnSuccess);
  EXPECT_EQ(Read32(0, probe::kId), probe::kIdValue);
}

// ---- The declarations of Apple's IOPCIDevice.iig (IOPCIFamily-726.0.5) -------------------

TEST_F(PciRules, MemoryReadWriteWithOptionsAtEveryWidth) {
  // BAR2's RAM (memory index 1): each narrower write lands in its own bytes of the quadword.
  std::vector<uint64_t> w = Width(1, 0x100, 0x1122334455667788ull, 64, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0x1122334455667788ull);
  EXPECT_EQ(w[kWidthRead3], 0x1122334455667788ull);
  w = Width(1, 0x104, 0xA1B2C3D4u, 32, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0xA1B2C3D4u);
  EXPECT_EQ(w[kWidthRead3], 0xA1B2C3D4u);
  EXPECT_EQ(w[kWidthRead64], 0xA1B2C3D455667788ull);
  w = Width(1, 0x102, 0xBEEF, 16, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0xBEEFu);
  EXPECT_EQ(w[kWidthRead3], 0xBEEFu);
  EXPECT_EQ(w[kWidthRead64], 0xA1B2C3D4BEEF7788ull);
  w = Width(1, 0x101, 0x5A, 8, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0x5Au);
  EXPECT_EQ(w[kWidthRead3], 0x5Au);
  EXPECT_EQ(w[kWidthRead64], 0xA1B2C3D4BEEF5A88ull);
  // Without options, the same.
  w = Width(1, 0x100, 0x01, 8, 0);
  EXPECT_EQ(w[kWidthRead64], 0xA1B2C3D4BEEF5A01ull);
  w = Width(1, 0x106, 0x0203, 16, 0);
  EXPECT_EQ(w[kWidthRead64], 0x0203C3D4BEEF5A01ull);
}

TEST_F(PciRules, MemoryReadWithOptionsOfAnUnknownMemoryIndexIsAllOnes) {
  std::vector<uint64_t> w = Width(2, 0, 0x12, 8, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0xFFu);
  EXPECT_EQ(w[kWidthRead3], 0xFFu);
  w = Width(2, 0, 0x1234, 16, kLatencyTolerant);
  EXPECT_EQ(w[kWidthRead4], 0xFFFFu);
  EXPECT_EQ(w[kWidthRead64], ~0ull);
}

TEST_F(PciRules, ResetFunctionLevelWithoutFlrCapabilityIsUnsupported) {
  // The probe offers no Function Level Reset (it has no PCI Express capability at all).
  EXPECT_EQ(Reset(kResetFunction, 0), kIOReturnUnsupported);
  EXPECT_EQ(Reset(kResetFunction, kResetOptionTerminate), kIOReturnUnsupported);
  // Nothing happened to the device or its driver.
  EXPECT_EQ(Read32(0, probe::kId), probe::kIdValue);
}

TEST_F(PciRules, ResetTakesExactlyOneDefinedTypeAndDefinedOptions) {
  for (uint64_t type :
       std::initializer_list<uint64_t>{0x0ull, kResetHot | kResetWarm, 0x20ull, 0x80000000ull}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Reset(type, 0), kIOReturnBadArgument);
  }
  EXPECT_EQ(Reset(kResetHot, 0x2), kIOReturnBadArgument);
}

TEST_F(PciRules, ResetThroughTheUpstreamBridgeIsUnsupported) {
  for (uint64_t type : {kResetHot, kResetWarm, kResetWarmDisable, kResetWarmEnable}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Reset(type, 0), kIOReturnUnsupported);
    EXPECT_EQ(Reset(type, kResetOptionTerminate), kIOReturnUnsupported);
  }
  EXPECT_EQ(Read32(0, probe::kId), probe::kIdValue);
}

TEST_F(PciRules, KernelMethodScalarOutParametersMayBeNull) {
  std::vector<uint64_t> k = Kernel();
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelBdfNullOut]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelBarInfoDefaults]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelFindMsiNullOut]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelConfigureDefaults]), kIOReturnSuccess);
}

TEST_F(PciRules, GetBARInfoExpansionRomIsNotFoundAndPastItBadArgument) {
  std::vector<uint64_t> k = Kernel();
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelBarInfoRom]), kIOReturnNotFound);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelBarInfoPastRom]), kIOReturnBadArgument);
}

TEST_F(PciRules, FindPCICapabilitySearchesExtendedIdsInExtendedSpace) {
  // The probe has no extended capabilities: not found, rather than refused.
  EXPECT_EQ(static_cast<IOReturn>(Kernel()[kKernelFindExtended]), kIOReturnNotFound);
}

TEST_F(PciRules, PowerManagementNeedsThePowerManagementCapability) {
  std::vector<uint64_t> k = Kernel();
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelHasPm]), kIOReturnUnsupported);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelEnablePm]), kIOReturnBadArgument);
}

TEST_F(PciRules, UnemulatedKernelMethodsAreUnsupported) {
  std::vector<uint64_t> k = Kernel();
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelSaveState]), kIOReturnUnsupported);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelRestoreState]), kIOReturnUnsupported);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelSetLinkSpeedBad]), kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelSetLinkSpeed]), kIOReturnUnsupported);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelGetLinkSpeed]), kIOReturnUnsupported);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelSetAspm]), kIOReturnUnsupported);
}

TEST_F(PciRules, SetPropertiesTakesOnlyTheFamilysBooleanKeys) {
  std::vector<uint64_t> k(kSetPropertiesCount);
  ASSERT_EQ(Call(kSelSetProperties, {}, &k), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(k[kSetPropertiesOther]), kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(k[kSetPropertiesNotBool]), kIOReturnBadArgument);
  // One family key is enough for success; the other key is still not set.
  EXPECT_EQ(static_cast<IOReturn>(k[kSetPropertiesFamily]), kIOReturnSuccess);
  EXPECT_EQ(k[kSetPropertiesFamilyKeySet], 1u);
  EXPECT_EQ(k[kSetPropertiesOtherKeySet], 0u);
}

// IOPCIFamily IOPCIDevice.cpp, _CopyDeviceMemoryWithIndex: isOpen(forClient) comes first.
TEST_F(PciRules, CopyDeviceMemoryWithIndexIsOnlyForTheServiceThatOpenedTheDevice) {
  const uint64_t index = BarInfo(0)[1];
  std::vector<uint64_t> s(kSessionCount);
  ASSERT_EQ(Call(kSelSessionRules, {index}, &s), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionCopyOpener]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionCopyOther]), kIOReturnNotOpen);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionCopyNull]), kIOReturnNotOpen);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionCopyPastRom]), kIOReturnBadArgument);
}

// xnu IOService.cpp handleOpen admits one owner; IOPCIFamily's _ManageSession returns
// kIOReturnNotOpen when open() fails — for another client and for the owner alike.
TEST_F(PciRules, SecondOpenOfAnOpenDeviceIsNotOpen) {
  std::vector<uint64_t> s(kSessionCount);
  ASSERT_EQ(Call(kSelSessionRules, {BarInfo(0)[1]}, &s), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionOpenOther]), kIOReturnNotOpen);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionOpenOwnerAgain]), kIOReturnNotOpen);
  // The driver still has the device: its memory is still handed to it.
  ASSERT_EQ(Call(kSelSessionRules, {BarInfo(0)[1]}, &s), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(s[kSessionCopyOpener]), kIOReturnSuccess);
}

// IOPCIFamily IOPCIDevice.cpp, FindPCICapability: no open check.
TEST_F(PciRules, FindPCICapabilityDoesNotNeedTheDeviceOpen) {
  const uint64_t expected = PciState()[kPciMsiCapability];
  ASSERT_NE(expected, 0u);
  std::vector<uint64_t> c(kClosedCount);
  ASSERT_EQ(Call(kSelFindWhileClosed, {}, &c), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(c[kClosedFindStatus]), kIOReturnSuccess);
  EXPECT_EQ(c[kClosedFindOffset], expected);
  EXPECT_EQ(static_cast<IOReturn>(c[kClosedReopenStatus]), kIOReturnSuccess);
}

}  // namespace
}  // namespace fpgadext::conformance
