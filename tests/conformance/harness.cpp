#include "harness.h"

#include <fpgadext/emu/entitlements.h>

namespace fpgadext::conformance {

void ConformanceTest::SetUp() {
  // The app is entitled to open the conformance dext, which allows no unentitled client
  // (entitlement_test.cpp tests the refusals).
  emu::GrantUserClientAccess(kConformanceDextBundleID);
  machine_ = std::make_unique<emu::Machine>(MachineConfig());
  device_ = std::make_unique<ProbeDevice>();
  ASSERT_EQ(machine_->AttachPciFunction(device_.get(), "probe"), kIOReturnSuccess);
  ASSERT_EQ(machine_->LoadDext(CONFORMANCE_DEXT_BUNDLE), kIOReturnSuccess);
  service_ =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
  ASSERT_NE(service_, IO_OBJECT_NULL) << "the dext did not match the probe device";
  ASSERT_EQ(IOServiceOpen(service_, mach_task_self(), 0, &connection_), kIOReturnSuccess);
}

void ConformanceTest::TearDown() {
  if (machine_ != nullptr && !expectIommuViolations_) {
    for (const emu::IommuViolation& v : machine_->iommu().Violations()) {
      ADD_FAILURE() << "IOMMU violation: " << v.reason << " at bus address 0x" << std::hex
                    << v.busAddress << " length 0x" << v.length;
    }
  }
  if (connection_ != IO_OBJECT_NULL) IOServiceClose(connection_);
  if (service_ != IO_OBJECT_NULL) IOObjectRelease(service_);
  machine_.reset();
  device_.reset();
}

kern_return_t ConformanceTest::Call(uint32_t selector, const std::vector<uint64_t>& in,
                                    std::vector<uint64_t>* out, const void* inStruct,
                                    size_t inStructSize, void* outStruct, size_t* outStructSize) {
  uint64_t scalars[16] = {};
  uint32_t count = out ? static_cast<uint32_t>(out->size()) : 0;
  kern_return_t ret = IOConnectCallMethod(
      connection_, selector, in.data(), static_cast<uint32_t>(in.size()), inStruct, inStructSize,
      out ? scalars : nullptr, out ? &count : nullptr, outStruct, outStructSize);
  if (out != nullptr && ret == kIOReturnSuccess) out->assign(scalars, scalars + count);
  return ret;
}

}  // namespace fpgadext::conformance
