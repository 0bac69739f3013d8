#include "faults_fixture.h"

#include <fpgadext/emu/entitlements.h>

#include <thread>
#include <vector>

namespace fpgadext::faults {

void FaultFixture::SetUp() {
  board_ = std::make_unique<models::XdmaModel>(BoardConfig());
  emu::GrantUserClientAccess("org.fpgadext.driver");  // as a signed app would be (the dext's ID)
  machine_ = std::make_unique<emu::Machine>(MachineConfig());
  ASSERT_EQ(machine_->AttachPciFunction(board_.get(), "fpga0"), kIOReturnSuccess);
  ASSERT_EQ(machine_->LoadDext(FPGADEXT_DEXT_BUNDLE), kIOReturnSuccess);
  device_ = std::make_unique<Device>();
  Status s = Device::Open(0, device_.get());
  ASSERT_TRUE(s) << s.message();
  BoardFixture::SetUp();
}

void FaultFixture::TearDown() {
  BoardFixture::TearDown();
  TearDownBoard();
}

bool FaultFixture::WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

::testing::AssertionResult FaultFixture::RoundTrip64MiB(Device& device, uint64_t card,
                                                        uint64_t seed) {
  constexpr size_t kSize = 64ull << 20;
  PageBuffer out(kSize), back(kSize);
  FillPattern(out.data(), kSize, seed);
  Status s = device.Write(card, out.span(0, kSize));
  if (!s) return ::testing::AssertionFailure() << "64 MiB write: " << s.message();
  s = device.Read(card, back.span(0, kSize));
  if (!s) return ::testing::AssertionFailure() << "64 MiB read: " << s.message();
  const size_t bad = CheckPattern(back.data(), kSize, seed);
  if (bad != kSize) return ::testing::AssertionFailure() << "64 MiB round trip differs at " << bad;
  return ::testing::AssertionSuccess();
}

}  // namespace fpgadext::faults
