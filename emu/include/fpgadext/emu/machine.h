// The emulated Mac: a kernel with an IOMMU, a PCI bus to plug device models into, and dexts
// loaded from their bundles. IOKitLib calls made by the program talk to the current machine.
//
//   fpgadext::emu::Machine machine;                 // becomes Machine::Current()
//   XdmaModel board;                                // any PciFunction
//   machine.AttachPciFunction(&board, "fpga0");
//   machine.LoadDext("build/dexts/FpgaDext.dext");  // matches and starts the driver
//   ... IOServiceGetMatchingService / IOServiceOpen / IOConnectCallMethod ...
#pragma once

#include <DriverKit/IOReturn.h>
#include <fpgadext/emu/hardware_profile.h>
#include <fpgadext/emu/iommu.h>
#include <fpgadext/emu/pci_function.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fpgadext::emu {

class Kernel;

class Machine {
 public:
  struct Config {
    HardwareProfile profile = HardwareProfileFromEnvironment();
    // The IOMMU's kind and page size are the profile's; the other fields are test knobs.
    Iommu::Config iommu;
  };

  Machine();
  explicit Machine(const Config& config);
  // Stops every dext service (user clients first), closes devices and forgets the functions.
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // The machine IOKitLib calls go to: the most recently constructed one still alive.
  static Machine* Current();

  Iommu& iommu();
  HardwareProfile profile() const { return profile_; }

  // Plugs a function into the bus (enumerated like firmware: BARs sized and assigned, MSI
  // programmed) and matches loaded dexts against it. The function must outlive the machine or
  // be detached first.
  IOReturn AttachPciFunction(PciFunction* function, const std::string& name = "");
  // Plugs in a multi-function device: functions[i] is function i (nullptr: none), at most 8.
  // Scanned as IOPCIFamily scans: function 0 first (kIOReturnNoDevice without it), functions
  // 1..7 only when function 0's Header Type has the multi-function bit; each function found
  // gets its own nub (named `name`, or pciVVVV,DDDD) and is matched on its own. Each function is
  // detached on its own (DetachPciFunction).
  IOReturn AttachPciDevice(const std::vector<PciFunction*>& functions,
                           const std::string& name = "");
  // Orderly removal: drivers are stopped, then the function is disconnected.
  void DetachPciFunction(PciFunction* function);
  // Surprise removal: the function stops answering at once (reads all ones), then drivers are
  // stopped.
  void SurpriseRemovePciFunction(PciFunction* function);
  // Reprogramming the FPGA: the link of the old design's function goes down while the bitstream
  // loads, so it vanishes as in a surprise removal (its drivers and their user clients are
  // terminated), and the new design's function (`replacement`: the same IDs, or other IDs, BARs
  // and channels) is then found by the bus rescan and matched like a hot-plugged function
  // (IOPCIFamily IOPCIBridge.cpp: IOPCI2PCIBridge::handleInterrupt schedules a probe with
  // kIOPCIProbeOptionLinkInt | kIOPCIProbeOptionNeedsScan). `old` may be destroyed afterwards;
  // `replacement` must outlive the machine or be detached first.
  IOReturn ReprogramPciFunction(PciFunction* old, PciFunction* replacement,
                                const std::string& name = "");

  // Loads a dext bundle: `<bundle>/Info.plist` (or `<bundle>/Contents/Info.plist`) gives the
  // personalities, and the executable named by CFBundleExecutable (in the bundle or in its
  // Contents/MacOS) is loaded. Matching PCI functions get their driver started. A bundle is
  // refused, with an error log and nothing loaded: no readable plist (the plist's error), no
  // CFBundleExecutable or one with an unsubstituted $(SETTING) (kIOReturnBadArgument), an
  // executable that is missing or does not load (kIOReturnNotFound), no IOKitPersonalities
  // (kIOReturnBadArgument).
  IOReturn LoadDext(const std::string& bundlePath);

  // What apps and drivers hold open, for tests that check a test leaves nothing behind.
  struct OpenHandles {
    size_t userClients = 0;  // user clients not yet stopped
    size_t openDevices = 0;  // PCI nubs a driver has open
  };
  OpenHandles CountOpenHandles();

  Kernel* kernel() { return kernel_.get(); }

 private:
  HardwareProfile profile_;
  uint64_t previousPageSize_;
  std::unique_ptr<Kernel> kernel_;
  Machine* previous_;
};

}  // namespace fpgadext::emu
