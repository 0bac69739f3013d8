// What a Mac does after a driver's Start fails. xnu IOService::startCandidate calls start() and,
// when it fails, only detach(): IOUserServer::serviceStarted ignores the failure, Stop is not
// called, a RegisterService the driver made in Start is never carried out, the IOUserServer keeps
// the service (serviceAttach; only serviceStop removes it) and a provider the driver opened is
// closed only by Stop (IOUserServer::serviceDidStop). The conformance dext fails its Start on
// request (dext/failed_start_protocol.h) after opening the probe device and registering.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>

#include <memory>

#include "dext/failed_start_protocol.h"
#include "probe_device.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class FailedStart : public ::testing::Test {
 protected:
  void SetUp() override {
    machine_ = std::make_unique<emu::Machine>(emu::Machine::Config{});
    device_ = std::make_unique<ProbeDevice>();
    ASSERT_EQ(machine_->AttachPciFunction(device_.get(), "probe"), kIOReturnSuccess);
    device_->Bar(0)->Write(probe::kScratch, 8, kFailStartRequest);
    // The bundle loads; matching starts the driver, whose Start fails.
    ASSERT_EQ(machine_->LoadDext(CONFORMANCE_DEXT_BUNDLE), kIOReturnSuccess);
    ASSERT_EQ(Scratch() & 0xff, kStartFailed) << "the driver did not reach its failure";
  }
  void TearDown() override {
    machine_.reset();
    device_.reset();
  }
  uint64_t Scratch() { return device_->Bar(0)->Read(probe::kScratch, 8); }

  std::unique_ptr<emu::Machine> machine_;
  std::unique_ptr<ProbeDevice> device_;
};

TEST_F(FailedStart, StopIsNotCalled) {
  EXPECT_EQ(Scratch() & kStopRan, 0u);
}

TEST_F(FailedStart, ServiceIsNotPublishedAlthoughItRegistered) {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
  EXPECT_EQ(service, IO_OBJECT_NULL);
  if (service != IO_OBJECT_NULL) IOObjectRelease(service);
}

TEST_F(FailedStart, DriverIsNotFreedWhileItsDextRuns) {
  // The IOUserServer keeps the service while the dext process runs.
  EXPECT_EQ(Scratch() & kFreeRan, 0u);
}

TEST_F(FailedStart, ProviderOpenedByTheDriverStaysOpen) {
  // A close would have cleared Memory Space and Bus Lead (IOPCIFamily IOPCIDevice::handleClose).
  EXPECT_TRUE(device_->config().MemorySpaceEnabled());
  EXPECT_TRUE(device_->config().BusMasterEnabled());
}

TEST_F(FailedStart, ProviderIsClosedWhenTheDextEnds) {
  // xnu IOUserServer::finalize: serviceDidStop for every service of the ending dext, started or
  // not, closes what each opened. Here the dext ends with the machine.
  machine_.reset();
  EXPECT_FALSE(device_->config().MemorySpaceEnabled());
  EXPECT_FALSE(device_->config().BusMasterEnabled());
}

}  // namespace
}  // namespace fpgadext::conformance
