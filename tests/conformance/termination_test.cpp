// Termination order (docs/emulation-user-client.md, "Termination order"). xnu does the work of
// every termination — willTerminate, which sends a dext service its Stop, then didTerminate,
// stop and detach — on one terminate thread at a time (iokit/Kernel/IOService.cpp:
// scheduleTerminatePhase2, waitToBecomeTerminateThread, terminateWorker), and sends a user
// client whose app closed it (IOUserUserClient::clientClose) its Stop synchronously while its
// provider is active (iokit/Kernel/IOUserServer.cpp: serviceWillTerminate). So a provider
// terminated while that Stop runs is sent its own Stop only after it returned.
#include <IOKit/IOKitLib.h>

#include <chrono>
#include <thread>

#include "dext/stop_order_protocol.h"
#include "harness.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class TerminationRules : public ConformanceTest {};

// The app closes its connection; while the user client's Stop runs (slowly, on request), the
// board is detached, which terminates the driver. The driver's Stop must not run until the
// client's has returned.
TEST_F(TerminationRules, AProviderTerminatedWhileItsClientStopsIsStoppedAfterTheClient) {
  device_->setScratch(kSlowStopRequest);
  const io_connect_t connection = connection_;
  connection_ = IO_OBJECT_NULL;
  std::thread closer([connection] { IOServiceClose(connection); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (device_->scratch() != kClientStopping && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const bool clientStopping = device_->scratch() == kClientStopping;
  if (clientStopping) machine_->DetachPciFunction(device_.get());
  closer.join();
  ASSERT_TRUE(clientStopping) << "the user client's Stop never began: 0x" << std::hex
                              << device_->scratch();
  EXPECT_EQ(device_->scratch(), kClientStopped)
      << (device_->scratch() == kDriverStoppedDuringClientStop
              ? "the driver's Stop ran while its client's Stop was running"
              : "unexpected scratch value");
}

}  // namespace
}  // namespace fpgadext::conformance
