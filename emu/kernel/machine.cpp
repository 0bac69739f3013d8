#include <fpgadext/emu/machine.h>

#include "broker.h"
#include "kernel.h"

namespace fpgadext::emu {
namespace {
Machine* gCurrentMachine = nullptr;
}

void SetCurrentKernel(Kernel* kernel);

Machine::Machine() : Machine(Config{}) {}

Machine::Machine(const Config& config)
    : kernel_(std::make_unique<Kernel>(config)), previous_(gCurrentMachine) {
  gCurrentMachine = this;
  SetCurrentKernel(kernel_.get());
}

Machine::~Machine() {
  broker::Reset();  // connections end; their user clients are stopped below with their drivers
  kernel_.reset();
  gCurrentMachine = previous_;
  SetCurrentKernel(previous_ ? previous_->kernel_.get() : nullptr);
}

Machine* Machine::Current() { return gCurrentMachine; }

Iommu& Machine::iommu() { return kernel_->iommu(); }

IOReturn Machine::AttachPciFunction(PciFunction* function, const std::string& name) {
  return kernel_->AttachPciFunction(function, name);
}

void Machine::DetachPciFunction(PciFunction* function) {
  kernel_->DetachPciFunction(function, false);
}

void Machine::SurpriseRemovePciFunction(PciFunction* function) {
  kernel_->DetachPciFunction(function, true);
}

IOReturn Machine::LoadDext(const std::string& bundlePath) { return kernel_->LoadDext(bundlePath); }

}  // namespace fpgadext::emu
