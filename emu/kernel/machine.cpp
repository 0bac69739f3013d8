#include <DriverKit/IOLib.h>
#include <fpgadext/emu/machine.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "broker.h"
#include "kernel.h"

namespace fpgadext::emu {
namespace {
Machine* gCurrentMachine = nullptr;

// The machine's config with the IOMMU the profile's Mac has.
Machine::Config WithProfileIommu(Machine::Config config) {
  const bool intel = config.profile == HardwareProfile::kIntel;
  config.iommu.kind = intel ? Iommu::Kind::kVtd : Iommu::Kind::kDart;
  config.iommu.pageSize = intel ? 4096 : 16384;
  return config;
}

}  // namespace

HardwareProfile HardwareProfileFromEnvironment() {
  const char* value = std::getenv("FPGADEXT_EMU_PROFILE");
  if (value == nullptr || *value == '\0' || std::strcmp(value, "apple-silicon") == 0) {
    return HardwareProfile::kAppleSilicon;
  }
  if (std::strcmp(value, "intel") == 0) return HardwareProfile::kIntel;
  std::fprintf(stderr,
               "fpgadext emulation: FPGADEXT_EMU_PROFILE=%s is not a hardware profile; use "
               "apple-silicon (the default) or intel\n",
               value);
  std::exit(2);
}

const char* HardwareProfileName(HardwareProfile profile) {
  return profile == HardwareProfile::kIntel ? "intel" : "apple-silicon";
}

uint64_t HardwareProfilePageSize(HardwareProfile profile) {
  // arm64 macOS tasks have 16 KiB pages (xnu osfmk/mach/arm/vm_param.h, __ARM_16K_PG__);
  // x86_64 has 4 KiB (osfmk/mach/i386/vm_param.h, I386_PGBYTES).
  return profile == HardwareProfile::kIntel ? 4096 : 16384;
}

void SetCurrentKernel(Kernel* kernel);

Machine::Machine() : Machine(Config{}) {}

Machine::Machine(const Config& config)
    : profile_(config.profile),
      previousPageSize_(IOVMPageSize),
      kernel_(std::make_unique<Kernel>(WithProfileIommu(config))),
      previous_(gCurrentMachine) {
  IOVMPageSize = HardwareProfilePageSize(profile_);
  gCurrentMachine = this;
  SetCurrentKernel(kernel_.get());
}

Machine::~Machine() {
  broker::Reset();  // connections end; their user clients are stopped below with their drivers
  kernel_.reset();
  IOVMPageSize = previousPageSize_;
  gCurrentMachine = previous_;
  SetCurrentKernel(previous_ ? previous_->kernel_.get() : nullptr);
}

Machine* Machine::Current() {
  return gCurrentMachine;
}

Iommu& Machine::iommu() {
  return kernel_->iommu();
}

IOReturn Machine::AttachPciFunction(PciFunction* function, const std::string& name) {
  return kernel_->AttachPciFunction(function, name);
}

IOReturn Machine::AttachPciDevice(const std::vector<PciFunction*>& functions,
                                  const std::string& name) {
  return kernel_->AttachPciDevice(functions, name);
}

void Machine::DetachPciFunction(PciFunction* function) {
  kernel_->DetachPciFunction(function, false);
}

void Machine::SurpriseRemovePciFunction(PciFunction* function) {
  kernel_->DetachPciFunction(function, true);
}

IOReturn Machine::LoadDext(const std::string& bundlePath) {
  return kernel_->LoadDext(bundlePath);
}

}  // namespace fpgadext::emu
