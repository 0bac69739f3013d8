// Rules of PCI functions as IOPCIFamily sees them: multi-function devices (IOPCIConfigurator.cpp
// scans functions 1..7 only when function 0's Header Type has the multi-function bit; each
// function is its own IOPCIDevice) and the function-level reset of IOPCIDevice::Reset
// (IOPCIDevice.cpp resetFunction; IOPCIBridge.cpp saveDeviceState / restoreDeviceState).
#include <IOKit/IOKitLib.h>

#include <memory>
#include <vector>

#include "dext/mempci_protocol.h"
#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

constexpr uint16_t kMemorySpace = 0x2;           // kIOPCICommandMemorySpace
constexpr uint16_t kBusLead = 0x4;               // kIOPCICommandBusLead
constexpr uint16_t kInterruptDisable = 0x400;    // kIOPCICommandInterruptDisable
constexpr uint64_t kResetFunction = 0x10;        // kIOPCIDeviceResetTypeFunctionReset
constexpr uint64_t kResetOptionTerminate = 0x1;  // kIOPCIDeviceResetOptionTerminate
constexpr uint64_t kTypeMsix = 0x20000;          // kIOInterruptTypePCIMessagedX
constexpr uint16_t kOtherDevice = 0xF00E;        // an identity the conformance dext does not match

class PciFunctionRules : public ConformanceTest {
 protected:
  void SetUp() override {}  // each test plugs in its own device with Plug

  // Plugs in a device made of `functions` (nullptr: no such function) and, when the dext
  // matched one of them, opens its user client. Returns what AttachPciDevice returned.
  IOReturn Plug(std::vector<std::unique_ptr<ProbeDevice>> functions) {
    // The harness's own set-up first, for whatever it prepares for the app; then its machine and
    // probe make way for this device.
    ConformanceTest::SetUp();
    if (connection_ != IO_OBJECT_NULL) IOServiceClose(connection_);
    if (service_ != IO_OBJECT_NULL) IOObjectRelease(service_);
    connection_ = IO_OBJECT_NULL;
    service_ = IO_OBJECT_NULL;
    machine_.reset();
    device_.reset();
    machine_ = std::make_unique<emu::Machine>(MachineConfig());
    functions_ = std::move(functions);
    std::vector<emu::PciFunction*> raw;
    for (auto& f : functions_) raw.push_back(f.get());
    const IOReturn attached = machine_->AttachPciDevice(raw, "probe");
    EXPECT_EQ(machine_->LoadDext(CONFORMANCE_DEXT_BUNDLE), kIOReturnSuccess);
    service_ =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
    if (service_ != IO_OBJECT_NULL) {
      EXPECT_EQ(IOServiceOpen(service_, mach_task_self(), 0, &connection_), kIOReturnSuccess);
    }
    return attached;
  }
  static std::unique_ptr<ProbeDevice> Function(const ProbeDevice::Options& options) {
    return std::make_unique<ProbeDevice>(options);
  }
  unsigned PciNubs() {
    io_iterator_t it = IO_OBJECT_NULL;
    EXPECT_EQ(
        IOServiceGetMatchingServices(kIOMainPortDefault, IOServiceMatching("IOPCIDevice"), &it),
        kIOReturnSuccess);
    unsigned n = 0;
    while (io_object_t o = IOIteratorNext(it)) {
      ++n;
      IOObjectRelease(o);
    }
    IOObjectRelease(it);
    return n;
  }
  IOReturn Reset(uint64_t type, uint64_t options) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelReset, {type, options}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  std::vector<uint64_t> PciState() {
    std::vector<uint64_t> out(kPciCount);
    EXPECT_EQ(Call(kSelPciState, {}, &out), kIOReturnSuccess);
    return out;
  }
  // Writes the probe's scratch register through the driver (MemoryWrite64 of BAR0).
  void WriteScratch(uint64_t value) {
    std::vector<uint64_t> bar(4);
    ASSERT_EQ(Call(kSelBarInfo, {0}, &bar), kIOReturnSuccess);
    std::vector<uint64_t> out(kWidthCount);
    ASSERT_EQ(Call(kSelMemoryWidth, {bar[1], probe::kScratch, value, 64, 0}, &out),
              kIOReturnSuccess);
  }
  IOReturn Configure(uint64_t type, uint64_t required, uint64_t requested) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelConfigureInterrupts, {type, required, requested}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  // The driver's interrupt source on the first message-signalled index, enabled.
  void EnableInterrupts() {
    std::vector<uint64_t> out(1);
    ASSERT_EQ(Call(kSelInterruptSetup, {1, 1}, &out), kIOReturnSuccess);
    ASSERT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  }
  uint64_t InterruptsSeen() {
    std::vector<uint64_t> out(3);
    EXPECT_EQ(Call(kSelInterruptCount, {}, &out), kIOReturnSuccess);
    return out[1];
  }
  bool DriverSeesInterrupt(uint64_t before) {
    EXPECT_EQ(Call(kSelRaise, {0}), kIOReturnSuccess);
    return WaitFor([&] { return InterruptsSeen() > before; });
  }

  std::vector<std::unique_ptr<ProbeDevice>> functions_;
};

// ---- Multi-function devices -----------------------------------------------------------------

TEST_F(PciFunctionRules, DriverMatchesAndRunsOnFunctionOne) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.deviceId = kOtherDevice, .multiFunction = true}));
  fs.push_back(Function({}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL) << "the dext did not match function 1";
  EXPECT_EQ(PciNubs(), 2u);
  EXPECT_EQ(PciState()[kPciIdRegister], probe::kIdValue);
  // The driver's register writes reach function 1 and only it.
  WriteScratch(0x1122334455667788ull);
  EXPECT_EQ(functions_[1]->scratch(), 0x1122334455667788ull);
  EXPECT_EQ(functions_[0]->scratch(), 0u);
}

TEST_F(PciFunctionRules, GetBusDeviceFunctionReportsTheFunction) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.deviceId = kOtherDevice, .multiFunction = true}));
  fs.push_back(nullptr);
  fs.push_back(Function({}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  std::vector<uint64_t> k(kKernelCount);
  ASSERT_EQ(Call(kSelKernelMethods, {}, &k), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(k[kKernelBdfNullOut]), kIOReturnSuccess);
  EXPECT_EQ(k[kKernelFunctionNumber], 2u);
}

TEST_F(PciFunctionRules, FunctionsAreScannedOnlyWhenFunctionZeroIsMultiFunction) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.deviceId = kOtherDevice, .multiFunction = false}));
  fs.push_back(Function({}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  EXPECT_EQ(PciNubs(), 1u);
  EXPECT_EQ(service_, IO_OBJECT_NULL) << "function 1 of a single-function device was matched";
  EXPECT_TRUE(functions_[0]->connected());
  EXPECT_FALSE(functions_[1]->connected());
}

TEST_F(PciFunctionRules, DeviceWithoutFunctionZeroIsNotScanned) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(nullptr);
  fs.push_back(Function({}));
  EXPECT_EQ(Plug(std::move(fs)), kIOReturnNoDevice);
  EXPECT_EQ(PciNubs(), 0u);
  EXPECT_FALSE(functions_[1]->connected());
}

TEST_F(PciFunctionRules, EachFunctionHasItsOwnBarsAndMsi) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.deviceId = kOtherDevice, .multiFunction = true}));
  fs.push_back(Function({}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  models::pci::ConfigSpace& f0 = functions_[0]->config();
  models::pci::ConfigSpace& f1 = functions_[1]->config();
  for (unsigned bar : {0u, probe::kRamBar}) {
    SCOPED_TRACE(bar);
    EXPECT_NE(f0.BarAddress(bar), 0u);
    EXPECT_NE(f1.BarAddress(bar), 0u);
    EXPECT_NE(f0.BarAddress(bar), f1.BarAddress(bar));
  }
  EXPECT_TRUE(f0.Msi().enabled);
  EXPECT_TRUE(f1.Msi().enabled);
  EnableInterrupts();
  // Function 0's message goes to function 0's nub, which has no handler: the driver of function
  // 1 does not see it. Function 1's message reaches it.
  f0.Write(models::pci::kCommand, 2, kMemorySpace | kBusLead);  // no driver enabled it
  functions_[0]->RaiseVector(0);
  EXPECT_EQ(functions_[0]->messagesSent(), 1u);
  EXPECT_TRUE(DriverSeesInterrupt(0));
  EXPECT_EQ(InterruptsSeen(), 1u);
}

// ---- Function-level reset ---------------------------------------------------------------------

TEST_F(PciFunctionRules, ResetFunctionLevelResetsTheDeviceAndRestoresItsConfiguration) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.functionLevelReset = true}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  ProbeDevice& device = *functions_[0];
  WriteScratch(0xABCDEF);
  const uint64_t bar0 = device.config().BarAddress(0);
  const uint16_t command = static_cast<uint16_t>(PciState()[kPciCommandNow]);
  ASSERT_EQ(command & (kMemorySpace | kBusLead), kMemorySpace | kBusLead);

  EXPECT_EQ(Reset(kResetFunction, 0), kIOReturnSuccess);
  EXPECT_EQ(device.config().FunctionLevelResets(), 1u);
  EXPECT_EQ(device.scratch(), 0u) << "the device's registers were not reset";
  // The configuration the host had programmed is back: BARs, Command, MSI.
  EXPECT_EQ(device.config().BarAddress(0), bar0);
  EXPECT_EQ(PciState()[kPciCommandNow], command);
  EXPECT_EQ(PciState()[kPciIdRegister], probe::kIdValue);
  EXPECT_TRUE(device.config().Msi().enabled);
  EnableInterrupts();
  EXPECT_TRUE(DriverSeesInterrupt(0));
}

TEST_F(PciFunctionRules, ResetFunctionLevelTurnsBusMasteringOffBeforeTheReset) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.functionLevelReset = true}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  ASSERT_EQ(Reset(kResetFunction, 0), kIOReturnSuccess);
  const uint16_t atReset = functions_[0]->commandAtReset();
  EXPECT_EQ(atReset & kBusLead, 0u);
  EXPECT_EQ(atReset & kInterruptDisable, kInterruptDisable);
  EXPECT_EQ(functions_[0]->config().Command() & kBusLead, kBusLead);  // restored afterwards
}

TEST_F(PciFunctionRules, ResetFunctionLevelRestoresMsiXProgramming) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.functionLevelReset = true}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  ASSERT_EQ(Configure(kTypeMsix, 1, 8), kIOReturnSuccess);
  ASSERT_EQ(Reset(kResetFunction, 0), kIOReturnSuccess);
  EXPECT_TRUE(functions_[0]->config().Msix().enabled);
  EnableInterrupts();
  EXPECT_TRUE(DriverSeesInterrupt(0)) << "the MSI-X table the FLR cleared was not written back";
}

TEST_F(PciFunctionRules, ResetRefusedWithoutFlrCapability) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.pciExpress = true, .functionLevelReset = false}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  WriteScratch(7);
  EXPECT_EQ(Reset(kResetFunction, 0), kIOReturnUnsupported);
  EXPECT_EQ(functions_[0]->scratch(), 7u);
  EXPECT_EQ(functions_[0]->config().FunctionLevelResets(), 0u);
}

TEST_F(PciFunctionRules, ResetLeavesOtherFunctionsAlone) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(
      Function({.deviceId = kOtherDevice, .multiFunction = true, .functionLevelReset = true}));
  fs.push_back(Function({.functionLevelReset = true}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  ProbeDevice& other = *functions_[0];
  other.setScratch(0x55);
  const uint16_t otherCommand = other.config().Command();
  ASSERT_EQ(Reset(kResetFunction, 0), kIOReturnSuccess);
  EXPECT_EQ(functions_[1]->config().FunctionLevelResets(), 1u);
  EXPECT_EQ(other.config().FunctionLevelResets(), 0u);
  EXPECT_EQ(other.scratch(), 0x55u);
  EXPECT_EQ(other.config().Command(), otherCommand);
}

// kIOPCIDeviceResetOptionTerminate: the function is reset without its configuration saved or
// restored, the call returns, and then the nub is terminated (its driver's connection ends) and
// the bus probed again: the function comes back as a new nub, freshly enumerated, and the dext
// is matched and started on it again (IOPCIFamily IOPCIDevice.cpp: resetFunction,
// launchReprobeThread, reprobeThreadCall).
TEST_F(PciFunctionRules, ResetWithTerminateOptionTerminatesTheNubAndProbesTheFunctionAgain) {
  std::vector<std::unique_ptr<ProbeDevice>> fs;
  fs.push_back(Function({.functionLevelReset = true}));
  ASSERT_EQ(Plug(std::move(fs)), kIOReturnSuccess);
  ASSERT_NE(connection_, IO_OBJECT_NULL);
  uint64_t oldDriver = 0;
  ASSERT_EQ(IORegistryEntryGetRegistryEntryID(service_, &oldDriver), kIOReturnSuccess);
  WriteScratch(0xABCDEF);
  ASSERT_EQ(Reset(kResetFunction, kResetOptionTerminate), kIOReturnSuccess);
  EXPECT_EQ(functions_[0]->config().FunctionLevelResets(), 1u);
  // The driver that asked goes; another starts on the function's new nub.
  io_service_t again = IO_OBJECT_NULL;
  EXPECT_TRUE(WaitFor(
      [&] {
        io_service_t s = IOServiceGetMatchingService(kIOMainPortDefault,
                                                     IOServiceNameMatching("ConformanceDriver"));
        uint64_t id = 0;
        if (s != IO_OBJECT_NULL && IORegistryEntryGetRegistryEntryID(s, &id) == kIOReturnSuccess &&
            id != oldDriver) {
          again = s;
          return true;
        }
        if (s != IO_OBJECT_NULL) IOObjectRelease(s);
        return false;
      },
      std::chrono::seconds(10)))
      << "the function was not probed and matched again";
  std::vector<uint64_t> out(1);
  EXPECT_NE(Call(kSelPciState, {}, &out), kIOReturnSuccess) << "the old connection still works";
  EXPECT_EQ(PciNubs(), 1u);
  ASSERT_NE(again, IO_OBJECT_NULL);
  IOServiceClose(connection_);
  IOObjectRelease(service_);
  service_ = again;
  connection_ = IO_OBJECT_NULL;
  ASSERT_EQ(IOServiceOpen(service_, mach_task_self(), 0, &connection_), kIOReturnSuccess);
  EXPECT_EQ(functions_[0]->scratch(), 0u) << "the device's registers were not reset";
  EXPECT_EQ(PciState()[kPciIdRegister], probe::kIdValue);  // enumerated again: its BARs answer
}

}  // namespace
}  // namespace fpgadext::conformance
