// Transfers whose engine does not stop. Issue 12 item 6: closing a connection while a
// synchronous transfer of it cannot finish. The
// engine hangs (XdmaModel::InjectHang) and the personality's FPGATransferTimeoutMs is ten
// minutes, so only an abort ends the transfer in the test's lifetime. The dext runs its calls on
// a queue of their own (kIOUserClientQueueNameExternalMethod) and its user client opts out of
// xnu's default IPC locking (Info.plist: IOUserClientDefaultLocking false), so IOServiceClose
// reaches Stop while the call is in flight; Stop cancels the transfer and waits for the call to
// leave (docs/dext.md, "Closing during a transfer"). Before, the close waited for the transfer.
// The IpcLockRules tests check the emulated kernel's side (docs/emulation-user-client.md): with
// the default locking a close waits for the call in flight, as xnu's is_io_service_close does.
// Issue 12 item 3: a ring whose own channel was left running sets it aside when it goes.
#include <fpgadext/protocol.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

// The product bundle with the planner's base timeout set to `timeoutMs` and, when
// `defaultLocking`, the user client's IOUserClientDefaultLocking key taken out (xnu's default:
// calls and close share the user client's IPC lock).
std::string BundleVariant(uint64_t timeoutMs, bool defaultLocking) {
  const std::string name =
      "sync-abort-" + std::to_string(timeoutMs) + (defaultLocking ? "-locking" : "");
  return BundleCopy(name, [&](std::string& plist) {
    if (!AddPersonalityProperty(plist, "FPGATransferTimeoutMs",
                                "<integer>" + std::to_string(timeoutMs) + "</integer>")) {
      return false;
    }
    if (!defaultLocking) return true;
    // The product's user client opts out; without the key, xnu's default applies.
    const std::string key = "<key>IOUserClientDefaultLocking</key>";
    const std::string value = "<false/>";
    const size_t k = plist.find(key);
    const size_t end = k == std::string::npos ? k : plist.find(value, k);
    if (end == std::string::npos) return false;
    plist.erase(k, end + value.size() - k);
    return true;
  });
}

constexpr uint64_t kTenMinutes = 600'000;
constexpr uint64_t kRead = 1ull << 20;
constexpr uint64_t kCard = 4ull << 20;

// Each test starts its board with the personality it needs (StartBoard).
class SyncAbortFixture : public FreshBoardFixture {
 protected:
  void StartBoard(uint64_t timeoutMs, bool defaultLocking) {
    SetUpBoard(MakeBoard(), BundleVariant(timeoutMs, defaultLocking));
    if (!HasFatalFailure()) BoardFixture::SetUp();
  }
  void SetUp() override {}

  // Every C2H channel hangs; a client-memory read of 1 MiB is started on `c` from another
  // thread, and this returns once the dext has mapped its memory for the engine.
  void StartHungRead(io_connect_t c, PageBuffer& buffer) {
    for (unsigned ch = 0; ch < device().info().c2hChannels; ++ch) {
      xdma().InjectHang(xdma::Direction::kC2h, ch);
    }
    // In flight once the dext has prepared the app's memory for the device.
    const size_t mapped = machine().iommu().LiveMappings();
    reader_ = std::thread([this, c, &buffer] {
      const uint64_t in[3] = {kCard, reinterpret_cast<uint64_t>(buffer.data()), kRead};
      const kern_return_t r =
          IOConnectCallScalarMethod(c, protocol::kSelectorReadClientMemory, in, 3, nullptr, 0);
      std::lock_guard guard(lock_);
      readResult_ = r;
      readDone_ = true;
      closedBeforeReadReturned_ = closeStarted_;
      changed_.notify_all();
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (machine().iommu().LiveMappings() == mapped) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the read never reached the engine";
      std::this_thread::yield();
    }
  }

  // Closes `c` from another thread.
  void StartClose(io_connect_t c) {
    closer_ = std::thread([this, c] {
      {
        std::lock_guard guard(lock_);
        closeStarted_ = true;
      }
      IOServiceClose(c);
      std::lock_guard guard(lock_);
      closed_ = true;
      changed_.notify_all();
    });
  }

  // Waits for both threads; if the close is not done within `limit`, the hang is lifted so
  // that the stuck transfer (and the close waiting for it) can end, and false is returned.
  bool JoinWithin(std::chrono::seconds limit) {
    bool inTime;
    {
      std::unique_lock guard(lock_);
      inTime = changed_.wait_for(guard, limit, [&] { return closed_ && readDone_; });
    }
    if (!inTime) xdma().ClearFaults();
    closer_.join();
    reader_.join();
    return inTime;
  }

  // A fresh round trip through the library, and the windows kept for the channels that did not
  // stop released again: the planner looks at quarantined channels when it takes channels.
  void ExpectDeviceUsableAndIommuBack(size_t mappings) {
    xdma().ClearFaults();
    std::vector<std::byte> data(kRead), back(kRead);
    FillPattern(data.data(), data.size(), 11);
    ASSERT_TRUE(device().Write(kCard + kRead, data));
    std::vector<std::byte> large(8u << 20);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    Status read = device().Read(kCard + kRead, back);
    while (!read || machine().iommu().LiveMappings() != mappings) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "no C2H channel came back or a kept window was not released: " << read.message();
      if (!read) ASSERT_EQ(read.code(), kIOReturnNotResponding) << read.message();
      if (read) (void)device().Read(16ull << 20, large);
      std::this_thread::yield();
      read = device().Read(kCard + kRead, back);
    }
    EXPECT_TRUE(back == data);
    EXPECT_EQ(machine().iommu().ViolationCount(), 0u);
  }

  std::thread reader_, closer_;
  std::mutex lock_;
  std::condition_variable changed_;
  kern_return_t readResult_ = kIOReturnError;
  bool readDone_ = false, closeStarted_ = false, closed_ = false;
  bool closedBeforeReadReturned_ = false;
};

using SyncAbort = SyncAbortFixture;
using IpcLockRules = SyncAbortFixture;
using RingQuarantine = SyncAbortFixture;

// The close returns although the transfer could not finish for ten minutes; the transfer ends
// with kIOReturnAborted, the status the dext gave it (xnu's IOUserUserClient::externalMethod
// returns the dext's result to the app whether or not the client was closed meanwhile). Failed
// before the fix: the close waited for the transfer (here: lifted after 60 s). This is also the
// emulated kernel's rule for a user client with IOUserClientDefaultLocking false: a call holds
// no IPC lock, so the close goes ahead and Stop runs while the call is in its ExternalMethod.
TEST_F(SyncAbort, CloseDuringAHungSyncTransferAbortsItPromptly) {
  StartBoard(kTenMinutes, /*defaultLocking=*/false);
  const size_t mappings = machine().iommu().LiveMappings();
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  PageBuffer buffer(kRead);
  StartHungRead(c, buffer);
  StartClose(c);
  EXPECT_TRUE(JoinWithin(std::chrono::seconds(60)))
      << "IOServiceClose waited for the hung synchronous transfer";
  EXPECT_EQ(readResult_, kIOReturnAborted);
  ExpectDeviceUsableAndIommuBack(mappings);
}

// xnu's default: a call holds the user client's IPC lock shared, IOServiceClose takes it
// exclusive (IOUserClient.cpp: callExternalMethod, is_io_service_close). The close waits: the
// transfer runs to its own end (the planner's 3 s timeout), not to an abort.
TEST_F(IpcLockRules, CloseWaitsForACallInFlightUnderDefaultLocking) {
  StartBoard(3'000, /*defaultLocking=*/true);
  const size_t mappings = machine().iommu().LiveMappings();
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  PageBuffer buffer(kRead);
  StartHungRead(c, buffer);
  StartClose(c);
  ASSERT_TRUE(JoinWithin(std::chrono::seconds(120)));
  if (!closedBeforeReadReturned_) GTEST_SKIP() << "the close started after the read had ended";
  EXPECT_EQ(readResult_, kIOReturnTimeout);
  ExpectDeviceUsableAndIommuBack(mappings);
}

// A ring read times out on the ring's own channel, which keeps running (hung). Destroying the
// ring must set that channel aside (the pool's quarantine) rather than free it: before, the next
// transfers that wanted every channel got the hung one and failed (kIOReturnBusy from the
// engine, or a timeout). Large reads want every C2H channel; each must succeed on the others.
TEST_F(RingQuarantine, ARingsStuckChannelIsSetAsideWhenTheRingGoes) {
  StartBoard(100, /*defaultLocking=*/false);
  if (device().info().c2hChannels < 2) GTEST_SKIP() << "a ring needs two C2H channels";
  const size_t mappings = machine().iommu().LiveMappings();
  PageBuffer memory(kRead);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, kRead), BufferDirection::kBoth, &buffer));
  Ring ring;
  ASSERT_TRUE(device().CreateRing(4, RingDirections::kFromCard, &ring));
  auto complete = [&](uint64_t length, uint64_t tag) {
    fpgadext::RingCompletion c{};
    EXPECT_TRUE(ring.SubmitRead(kCard, buffer, 0, length, tag));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ring.PollCompletions(std::span(&c, 1)) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no completion";
        break;
      }
      (void)ring.Wait(std::chrono::milliseconds(100));
    }
    return c;
  };
  // The ring's channel: the one whose counters a ring read moves.
  const models::XdmaModel::Counters before = xdma().counters();
  ASSERT_EQ(complete(4096, 1).status, kIOReturnSuccess);
  const models::XdmaModel::Counters after = xdma().counters();
  unsigned mine = 0;
  while (mine < xdma::kMaxChannels && after.c2hDescriptors[mine] == before.c2hDescriptors[mine])
    ++mine;
  ASSERT_LT(mine, device().info().c2hChannels);
  xdma().InjectHang(xdma::Direction::kC2h, mine);
  const uint64_t stuckAt = xdma().counters().c2hBytes[mine];
  EXPECT_EQ(complete(kRead, 2).status, kIOReturnTimeout);
  ASSERT_TRUE(ring.Destroy());
  std::vector<std::byte> large(8u << 20);
  for (int i = 0; i < 10; ++i) {
    // Client memory: one call takes every C2H channel (kAuto would copy 1 MiB at a time
    // through the bounce buffer, one channel each).
    Status s = device().Read(16ull << 20, large, TransferPath::kClientMemory);
    ASSERT_TRUE(s) << "read " << i << ": " << s.message();
  }
  // Clean up: the hung chunk lands in the registered buffer (still mapped), then the buffer goes.
  xdma().ClearFaults();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (xdma().counters().c2hBytes[mine] == stuckAt) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the stuck chunk never landed";
    std::this_thread::yield();
  }
  ASSERT_TRUE(buffer.Release());
  ExpectDeviceUsableAndIommuBack(mappings);
}

}  // namespace
}  // namespace fpgadext::integration
