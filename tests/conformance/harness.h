// The conformance tests' machine: the probe device on the emulated bus, the conformance dext
// loaded from its bundle, and an open connection to its user client — reached through IOKitLib
// only, as an app would.
#pragma once

#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "dext/conformance_protocol.h"
#include "probe_device.h"

namespace fpgadext::conformance {

// The conformance dext's CFBundleIdentifier (BUNDLE_ID in tests/conformance/CMakeLists.txt): what
// the app's userclient-access entitlement must name.
inline constexpr char kConformanceDextBundleID[] = "org.fpgadext.conformance";

class ConformanceTest : public ::testing::Test {
 protected:
  // Override to configure the machine (e.g. a fragmenting IOMMU) before it starts.
  virtual emu::Machine::Config MachineConfig() { return {}; }
  void SetUp() override;
  void TearDown() override;

  // IOConnectCallMethod with vectors; outputs are resized to what came back.
  kern_return_t Call(uint32_t selector, const std::vector<uint64_t>& in,
                     std::vector<uint64_t>* out = nullptr, const void* inStruct = nullptr,
                     size_t inStructSize = 0, void* outStruct = nullptr,
                     size_t* outStructSize = nullptr);

  // Every test ends with no IOMMU violation recorded, unless it sets this (tests of refused
  // device accesses).
  bool expectIommuViolations_ = false;

  std::unique_ptr<emu::Machine> machine_;
  std::unique_ptr<ProbeDevice> device_;
  io_service_t service_ = IO_OBJECT_NULL;
  io_connect_t connection_ = IO_OBJECT_NULL;
};

// The byte the test dext writes at index i for a given seed.
inline uint8_t Pattern(uint64_t seed, uint64_t i) {
  return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
}

}  // namespace fpgadext::conformance
