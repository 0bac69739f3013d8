#include <DriverKit/IOLib.h>
#include <fpgadext/emu/machine.h>

#include "kernel.h"

namespace fpgadext::emu {
namespace {
Machine* gCurrentMachine = nullptr;

// The machine's config with the IOMMU the profile's Mac has.
Machine::Config WithProfileIommu(Machine::Config config) {
  config.iommu = HardwareProfileIommu(config.profile, config.iommu);
  return config;
}

}  // namespace

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
  kernel_->JoinReprobes();  // a function being probed again after its reset comes back first
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

Machine::OpenHandles Machine::CountOpenHandles() {
  OpenHandles handles;
  for (ServiceNode* node : kernel_->Nodes()) {
    if (node->isUserClient) ++handles.userClients;
    auto* device = OSDynamicCast(IOPCIDevice, node->service);
    if (device != nullptr && device->EmulationIsOpen()) ++handles.openDevices;
  }
  return handles;
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

IOReturn Machine::ReprogramPciFunction(PciFunction* old, PciFunction* replacement,
                                       const std::string& name) {
  if (old == nullptr || replacement == nullptr || old == replacement) return kIOReturnBadArgument;
  kernel_->DetachPciFunction(old, true);
  return kernel_->AttachPciFunction(replacement, name);
}

IOReturn Machine::LoadDext(const std::string& bundlePath) {
  return kernel_->LoadDext(bundlePath);
}

}  // namespace fpgadext::emu
