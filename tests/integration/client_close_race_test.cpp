// Issue 12 item 1: calls racing IOServiceClose. Four threads keep calling the user client
// (GetDeviceInfo, ReadInband, RegisterRead, mapping a BAR) while another closes the connection,
// many times over. A call that passed the kernel's liveness check can be queued behind the
// client's Stop; it must be refused (docs/dext.md, "Calls after Stop") instead of reaching the
// released driver, which crashed the dext (or, in a sanitizer build, was reported as a member
// call on a null FpgaDriver*).
#include <fpgadext/protocol.h>
#include <mach/message.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class ClientCloseRace : public BoardFixture {};

// What a call may return once the close has begun: done before the close, refused by the
// stopped client, refused by the kernel for a connection that is gone, or (a transfer in flight
// when Stop ran) aborted: Stop cancels it (docs/dext.md, "Closing during a transfer").
bool AcceptableDuringClose(kern_return_t r) {
  return r == kIOReturnSuccess || r == kIOReturnOffline || r == kIOReturnNotAttached ||
         r == MACH_SEND_INVALID_DEST || r == kIOReturnBadArgument || r == kIOReturnAborted;
}

int UserBar(io_connect_t c) {
  uint64_t info[protocol::kDeviceInfoCount] = {};
  uint32_t count = protocol::kDeviceInfoCount;
  if (IOConnectCallScalarMethod(c, protocol::kSelectorGetDeviceInfo, nullptr, 0, info, &count) !=
      kIOReturnSuccess) {
    return -1;
  }
  for (int bar = 0; bar < 6; ++bar) {
    if (info[protocol::kInfoBarSizes0 + bar] != 0 && info[protocol::kInfoDmaBar] != uint64_t(bar))
      return bar;
  }
  return -1;
}

// One caller: cycles through the four calls until told to stop.
kern_return_t Call(io_connect_t c, int bar, int which) {
  switch (which % 4) {
    case 0: {
      uint64_t info[protocol::kDeviceInfoCount];
      uint32_t count = protocol::kDeviceInfoCount;
      return IOConnectCallScalarMethod(c, protocol::kSelectorGetDeviceInfo, nullptr, 0, info,
                                       &count);
    }
    case 1: {
      const uint64_t in[2] = {0x4000, 64};
      uint8_t bytes[64];
      size_t size = sizeof(bytes);
      return IOConnectCallMethod(c, protocol::kSelectorReadInband, in, 2, nullptr, 0, nullptr,
                                 nullptr, bytes, &size);
    }
    case 2: {
      const uint64_t in[3] = {static_cast<uint64_t>(bar), 0, 4};
      uint64_t value = 0;
      uint32_t count = 1;
      return IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, in, 3, &value, &count);
    }
    default: {
      mach_vm_address_t address = 0;
      mach_vm_size_t size = 0;
      const kern_return_t r = IOConnectMapMemory64(
          c, protocol::kMemoryTypeBar0 + bar, mach_task_self(), &address, &size, kIOMapAnywhere);
      if (r == kIOReturnSuccess) {
        (void)IOConnectUnmapMemory64(c, protocol::kMemoryTypeBar0 + bar, mach_task_self(), address);
      }
      return r;
    }
  }
}

TEST_F(ClientCloseRace, CallsRacingCloseAreRefusedAndTheDextSurvives) {
  constexpr int kCycles = 300;
  constexpr int kCallers = 4;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    io_connect_t c = OpenRawConnection();
    ASSERT_NE(c, IO_OBJECT_NULL) << "cycle " << cycle;
    const int bar = UserBar(c);
    ASSERT_GE(bar, 0);
    std::mutex lock;
    std::condition_variable changed;
    int started = 0;
    std::atomic<bool> closed{false};
    std::atomic<int> bad{0};
    std::atomic<kern_return_t> badResult{kIOReturnSuccess};
    auto caller = [&](int id) {
      int n = id;
      bool counted = false;
      // Keep calling until a call has been made after the close returned.
      for (bool last = false; !last;) {
        last = closed.load();
        const kern_return_t r = Call(c, bar, n++);
        if (!AcceptableDuringClose(r)) {
          ++bad;
          badResult = r;
        }
        if (!counted && n - id >= 8) {
          counted = true;
          std::lock_guard guard(lock);
          ++started;
          changed.notify_all();
        }
      }
    };
    std::thread callers[kCallers];
    for (int i = 0; i < kCallers; ++i) callers[i] = std::thread(caller, i);
    {
      std::unique_lock guard(lock);
      ASSERT_TRUE(changed.wait_for(guard, std::chrono::seconds(30), [&] {
        return started == kCallers;
      })) << "callers did not get going";
    }
    IOServiceClose(c);
    closed = true;
    for (auto& t : callers) t.join();
    ASSERT_EQ(bad.load(), 0) << "cycle " << cycle << ": unexpected 0x" << std::hex
                             << badResult.load();
  }
  // The dext is alive and the board usable by the suite's own client.
  std::vector<std::byte> out(8192), back(8192);
  FillPattern(out.data(), out.size(), 12);
  ASSERT_TRUE(device().Write(0x8000, out));
  ASSERT_TRUE(device().Read(0x8000, back));
  EXPECT_EQ(back, out);
}

}  // namespace
}  // namespace fpgadext::integration
