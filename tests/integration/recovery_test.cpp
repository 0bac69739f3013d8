// Recovery without a reboot (issue 13 part 3): the FPGA is reprogrammed under an open Device —
// the board leaves the bus (its driver is terminated, as in a surprise removal) and the new
// design's function appears and is matched again (emu::Machine::ReprogramPciFunction). The app
// sees the board go (Device::gone, every call kIOReturnNoDevice, work in flight completes once
// with an error), waits for it to come back (Device::WaitForBoard), opens it again and carries
// on; a different design reports its own IDs, channels and BARs. Each test starts on a fresh
// machine and ends with the fixture's checks: no IOMMU violation, and IOMMU mappings, user
// clients, open devices and IOMalloc blocks back where they were (the design is put back first
// where it changed).
#include <fpgadext/fpgadext.h>
#include <fpgadext/protocol.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "board_fixture.h"

// The asan and tsan builds: a loop may run fewer rounds there, saying why.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define FPGADEXT_SANITIZED_BUILD 1
#endif
#endif

namespace fpgadext::integration {
namespace {

using std::chrono::seconds;

constexpr uint64_t kCard = 256ull << 20;
constexpr size_t k64MiB = 64ull << 20;

models::XdmaModel::Config Design() {
  models::XdmaModel::Config config;
  config.cardMemorySize = kCard;
  return config;
}

// Another bitstream: another device ID the dext matches, 4 + 1 channels, a bigger user BAR, a
// bypass BAR and less card memory.
models::XdmaModel::Config OtherDesign() {
  models::XdmaModel::Config config;
  config.deviceId = 0x9038;
  config.h2cChannels = 4;
  config.c2hChannels = 1;
  config.userBarSize = 1024 * 1024;
  config.bypassBar = true;
  config.cardMemorySize = 128ull << 20;
  return config;
}

// The error a request cut short by the board's departure completes with: the library's for the
// gone board, or the dext's own as its user client stops (docs/library.md).
bool EndedByDeparture(int code) {
  return code == kIOReturnNoDevice || code == kIOReturnAborted || code == kIOReturnOffline;
}

class Recovery : public FreshBoardFixture {
 protected:
  virtual models::XdmaModel::Config FirstDesign() { return Design(); }
  std::unique_ptr<emu::PciFunction> MakeBoard() override {
    return std::make_unique<models::XdmaModel>(FirstDesign());
  }

  // Loads `design` into the FPGA: the old board goes, the new one is matched.
  static void Reprogram(const models::XdmaModel::Config& design) {
    auto next = std::make_unique<models::XdmaModel>(design);
    ASSERT_EQ(machine().ReprogramPciFunction(board_.get(), next.get(), "fpga0"), kIOReturnSuccess);
    board_ = std::move(next);
  }
  // What an app does when its board went: close, wait for the board, open it again.
  static void Reopen() {
    device().Close();
    const Status waited = Device::WaitForBoard(0, seconds(30));
    ASSERT_TRUE(waited) << waited.message();
    const Status opened = Device::Open(0, &device());
    ASSERT_TRUE(opened) << opened.message();
  }
  // Writes until one is refused at once: each write before it times out on a hung channel, which
  // is then set aside. Each goes to card bytes of its own (from 16 MiB): the stuck chunks of hung
  // channels may land at any time once their hang clears, and two model channels writing the
  // same card bytes at once would be a data race.
  static void SetAsideEveryH2cChannel(const PageBuffer& data) {
    const unsigned channels = device().info().h2cChannels;
    for (unsigned i = 0; i <= channels; ++i) {
      const Status s = device().Write((16ull << 20) + i * data.size(), data.span(0, data.size()));
      if (s.code() == kIOReturnNotResponding) return;
      ASSERT_EQ(s.code(), kIOReturnTimeout) << s.message();
    }
    FAIL() << "no write was refused after every H2C channel timed out";
  }
};

// The same design loaded again: the open Device says the board is gone and refuses calls with
// kIOReturnNoDevice; once the board is back it opens again with the same description and moves
// 64 MiB, every byte checked.
TEST_F(Recovery, ReprogramWithTheSameDesignGoesAndComesBack) {
  const DeviceInfo before = device().info();
  ASSERT_TRUE(RoundTrip(device(), 0, 1 << 20, 1));
  EXPECT_FALSE(device().gone());
  Reprogram(Design());
  ASSERT_TRUE(WaitFor([] { return device().gone(); })) << "the Device never saw the board go";
  PageBuffer memory(4096);
  const Status s = device().Read(0, memory.span(0, 4096));
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  Reopen();
  EXPECT_FALSE(device().gone());
  EXPECT_EQ(device().info().vendorId, before.vendorId);
  EXPECT_EQ(device().info().deviceId, before.deviceId);
  EXPECT_EQ(device().info().h2cChannels, before.h2cChannels);
  EXPECT_EQ(device().info().cardMemorySize, before.cardMemorySize);
  EXPECT_TRUE(RoundTrip(device(), 0, k64MiB, 2));
}

// WaitForBoard returns at once for a board that is there, and times out for one that is not.
TEST_F(Recovery, WaitForBoardReturnsForABoardThereAndTimesOutOtherwise) {
  EXPECT_TRUE(Device::WaitForBoard(0, seconds(0)));
  const Status missing = Device::WaitForBoard(1, std::chrono::milliseconds(50));
  EXPECT_EQ(missing.code(), kIOReturnTimeout) << missing.message();
}

// A thread waiting for a board that is not there yet is woken when it is matched.
TEST_F(Recovery, WaitForBoardWakesWhenTheBoardAppears) {
  machine().SurpriseRemovePciFunction(board_.get());
  device().Close();
  EXPECT_TRUE(Device::List().empty());
  Status waited(kIOReturnError, "not returned");
  std::thread waiter([&] { waited = Device::WaitForBoard(0, std::chrono::hours(1)); });
  auto next = std::make_unique<models::XdmaModel>(Design());
  ASSERT_EQ(machine().AttachPciFunction(next.get(), "fpga0"), kIOReturnSuccess);
  board_ = std::move(next);
  waiter.join();  // without the matching notification: an hour
  EXPECT_TRUE(waited) << waited.message();
  ASSERT_TRUE(Device::Open(0, &device()));
  EXPECT_TRUE(RoundTrip(device(), 0, 1 << 20, 3));
}

// The same through the C API (include/fpgadext/fpgadext.h): fpgadext_gone turns 1 when the
// board goes and calls fail with kIOReturnNoDevice; fpgadext_wait_for_board times out for a
// board that is not there and returns once the board is back, which then opens and works.
TEST_F(Recovery, CApiSeesTheBoardGoAndWaitsForItToComeBack) {
  fpgadext_device* c = nullptr;
  ASSERT_EQ(fpgadext_open(0, &c), kIOReturnSuccess);
  EXPECT_EQ(fpgadext_gone(c), 0);
  EXPECT_EQ(fpgadext_gone(nullptr), 0);
  EXPECT_EQ(fpgadext_wait_for_board(1, 50'000'000), kIOReturnTimeout);
  EXPECT_STRNE(fpgadext_last_error(nullptr), "");
  Reprogram(Design());
  EXPECT_TRUE(WaitFor([&] { return fpgadext_gone(c) == 1; }));
  uint8_t byte = 0x5A;
  EXPECT_EQ(fpgadext_read(c, 0, 1, &byte), kIOReturnNoDevice);
  fpgadext_close(c);
  ASSERT_EQ(fpgadext_wait_for_board(0, UINT64_MAX), kIOReturnSuccess);
  ASSERT_EQ(fpgadext_open(0, &c), kIOReturnSuccess);
  EXPECT_EQ(fpgadext_gone(c), 0);
  EXPECT_EQ(fpgadext_write(c, 0, 1, &byte), kIOReturnSuccess);
  fpgadext_close(c);
  Reopen();
}

// Reprogrammed in the middle of a synchronous 64 MiB write: the write ends with an error, the
// IOMMU is clean, and the new board takes a full 64 MiB round trip.
TEST_F(Recovery, ReprogramDuringA64MiBTransfer) {
  PageBuffer source(k64MiB);
  FillPattern(source.data(), k64MiB, 4);
  xdma().SetSlowLink(64.0 * (1 << 20));  // about a second: long enough to be cut short
  Status result(kIOReturnError, "not returned");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    result = device().Write(0, source.span(0, k64MiB));
    done = true;
  });
  const bool started = WaitFor([] { return H2cBytes() > 0; });
  if (started) Reprogram(Design());
  ASSERT_TRUE(WaitFor([&] { return done.load(); }, seconds(60))) << "the write never returned";
  writer.join();
  ASSERT_TRUE(started) << "the write never started";
  EXPECT_FALSE(result) << "the write finished although the board went in its middle";
  EXPECT_TRUE(EndedByDeparture(result.code())) << result.message();
  Reopen();
  EXPECT_TRUE(RoundTrip(device(), 0, k64MiB, 5));
}

// Reprogrammed with ring requests and async transfers in flight: each completes exactly once
// (with an error unless it finished first); on the new board a ring and async transfers work,
// their bytes checked.
TEST_F(Recovery, ReprogramDuringRingAndAsyncTraffic) {
  constexpr int kEntries = 16;
  constexpr size_t kEach = 1 << 20;
  PageBuffer memory(kEntries * kEach);
  FillPattern(memory.data(), memory.size(), 6);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kBoth, &buffer));
  Ring ring;
  ASSERT_TRUE(device().CreateRing(2 * kEntries, RingDirections::kToCard, &ring));
  xdma().SetSlowLink(16.0 * (1 << 20));
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(ring.SubmitWrite(i * kEach, buffer, i * kEach, kEach, i));
  }
  std::atomic<int> callbacks{0};
  std::vector<AsyncOperation> ops;
  for (int i = 0; i < 4; ++i) {
    ops.push_back(device().WriteAsync(32 * kEach + i * kEach, memory.span(i * kEach, kEach),
                                      [&](const Status&, uint64_t) { ++callbacks; }));
  }
  ASSERT_TRUE(WaitFor([] { return H2cBytes() > 0; })) << "no traffic started";
  Reprogram(Design());

  std::vector<int> seen(kEntries, 0);
  int completed = 0, failed = 0;
  const bool allBack = WaitFor([&] {
    RingCompletion batch[kEntries];
    (void)ring.Wait(std::chrono::milliseconds(100));
    for (size_t n = ring.PollCompletions(batch), i = 0; i < n; ++i) {
      if (batch[i].tag < static_cast<uint64_t>(kEntries)) ++seen[batch[i].tag];
      ++completed;
      if (batch[i].status != kIOReturnSuccess) {
        ++failed;
        EXPECT_TRUE(EndedByDeparture(batch[i].status)) << std::hex << batch[i].status;
      }
    }
    return completed >= kEntries;
  });
  EXPECT_TRUE(allBack) << completed << " of " << kEntries << " ring requests completed";
  for (int i = 0; i < kEntries; ++i) EXPECT_EQ(seen[i], 1) << "ring request " << i;
  EXPECT_GT(failed, 0) << "the board went in the middle, yet every ring request succeeded";
  for (AsyncOperation& op : ops) {
    const Status s = op.Wait(seconds(30));
    EXPECT_NE(s.code(), kIOReturnTimeout) << "an async transfer never completed";
    if (!s) {
      EXPECT_TRUE(EndedByDeparture(s.code())) << s.message();
    }
  }
  EXPECT_TRUE(WaitFor([&] { return callbacks.load() == 4; })) << callbacks.load();
  ring = Ring();
  buffer = RegisteredBuffer();

  Reopen();
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kBoth, &buffer));
  ASSERT_TRUE(device().CreateRing(2 * kEntries, RingDirections::kToCard, &ring));
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(ring.SubmitWrite(i * kEach, buffer, i * kEach, kEach, 100 + i));
  }
  int good = 0;
  EXPECT_TRUE(WaitFor([&] {
    RingCompletion batch[kEntries];
    (void)ring.Wait(std::chrono::milliseconds(100));
    for (size_t n = ring.PollCompletions(batch), i = 0; i < n; ++i) {
      EXPECT_EQ(batch[i].status, kIOReturnSuccess) << batch[i].tag;
      ++good;
    }
    return good >= kEntries;
  }));
  PageBuffer back(kEntries * kEach);
  ASSERT_TRUE(device().Read(0, back.span(0, back.size())));
  EXPECT_EQ(CheckPattern(back.data(), back.size(), 6), back.size());
  AsyncOperation op = device().ReadAsync(0, back.span(0, kEach));
  EXPECT_TRUE(op.Wait(seconds(30)));
  EXPECT_TRUE(ring.Destroy());
  EXPECT_TRUE(buffer.Release());
}

// A different bitstream: the reopened Device reports the new design's IDs, channels, BARs and
// card memory, and moves data over its channels; loaded back, the first design is as before.
TEST_F(Recovery, ReprogramWithADifferentDesignReportsItsChannelsAndBars) {
  const DeviceInfo first = device().info();
  Reprogram(OtherDesign());
  Reopen();
  const DeviceInfo& other = device().info();
  EXPECT_EQ(other.deviceId, 0x9038);
  EXPECT_EQ(other.h2cChannels, 4u);
  EXPECT_EQ(other.c2hChannels, 1u);
  EXPECT_EQ(other.cardMemorySize, 128ull << 20);
  ASSERT_GE(other.userBar, 0);
  EXPECT_EQ(other.barSizes[other.userBar], 1024u * 1024u);
  int bars = 0;
  for (uint64_t size : other.barSizes) bars += size != 0;
  EXPECT_EQ(bars, 3) << "user, DMA and bypass BARs";
  EXPECT_TRUE(RoundTrip(device(), 0, 8 << 20, 7));

  Reprogram(Design());
  Reopen();
  EXPECT_EQ(device().info().deviceId, first.deviceId);
  EXPECT_EQ(device().info().h2cChannels, first.h2cChannels);
  EXPECT_EQ(device().info().c2hChannels, first.c2hChannels);
  EXPECT_EQ(device().info().cardMemorySize, first.cardMemorySize);
  EXPECT_TRUE(RoundTrip(device(), 0, 8 << 20, 8));
}

// A hundred reprogrammings, alternating designs, each followed by a reopen and a checked round
// trip: nothing accumulates (the fixture compares IOMMU mappings, handles and IOMalloc blocks
// with the start; LeakSanitizer in the asan build sees the rest) and the IOMMU saw no violation.
TEST_F(Recovery, ReprogrammedAHundredTimesLeavesNothingBehind) {
  const size_t mappings = machine().iommu().LiveMappings();
  for (int i = 0; i < 100; ++i) {
    Reprogram(i % 2 == 0 ? OtherDesign() : Design());
    Reopen();
    ASSERT_TRUE(RoundTrip(device(), 4096 * i, 64 * 1024, 100 + i)) << "round " << i;
  }
  EXPECT_EQ(machine().iommu().LiveMappings(), mappings);
}

// A board whose PCIe core offers Function Level Reset.
class RecoveryWithReset : public Recovery {
 protected:
  models::XdmaModel::Config FirstDesign() override {
    models::XdmaModel::Config config = Design();
    config.functionLevelReset = true;
    return config;
  }
};

// An engine wedge: every H2C channel hangs, so writes time out and each channel they took is set
// aside (quarantine); once all are, a write is refused at once with kIOReturnNotResponding and
// the dext resets the function (IOPCIDevice::Reset, function level,
// kIOPCIDeviceResetOptionTerminate). The board goes and comes back freshly probed; the app reopens
// it and 64 MiB move each way, every byte checked.
TEST_F(RecoveryWithReset, ResetAfterAnEngineWedge) {
  for (unsigned ch = 0; ch < device().info().h2cChannels; ++ch) {
    xdma().InjectHang(xdma::Direction::kH2c, ch);
  }
  PageBuffer data(1 << 20);
  FillPattern(data.data(), data.size(), 9);
  SetAsideEveryH2cChannel(data);
  ASSERT_TRUE(WaitFor([] { return device().gone(); })) << "the dext did not reset the function";
  EXPECT_EQ(xdma().configSpace().FunctionLevelResets(), 1u);
  Reopen();
  EXPECT_TRUE(RoundTrip(device(), 0, k64MiB, 10));
}

// A function that stops answering on its BARs while its configuration space still answers (a
// wedge inside the FPGA's PCIe block; a Mac reads all ones where a read ends in a completion
// timeout): the engine reads all ones, the dext confirms it with a second register (the XDMA
// config block's identifier), finds the function still on the bus (its vendor ID answers) and
// resets it. The board goes and comes back; a reopened Device moves 64 MiB each way.
TEST_F(RecoveryWithReset, AFunctionWhoseBarsReadAllOnesIsReset) {
  xdma().WedgeFunction();
  PageBuffer data(1 << 20);
  const Status s = device().Write(0, data.span(0, data.size()));
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  ASSERT_TRUE(WaitFor([] { return device().gone(); })) << "the dext did not reset the function";
  EXPECT_EQ(xdma().configSpace().FunctionLevelResets(), 1u);
  Reopen();
  EXPECT_TRUE(RoundTrip(device(), 0, k64MiB, 11));
}

// The reset repeated: each round wedges the function, a write finds it (kIOReturnNoDevice) and
// the dext resets it, and the app closes its Device at once — while the reset's termination of
// the driver and its user client may be running (the close once raced it into a
// use-after-free: the driver's Stop ran while the client's did; kernel.cpp TerminateNode) —
// then opens the board that comes back and moves 64 KiB, every byte checked. Nothing
// accumulates and the IOMMU saw no violation (the fixture's checks).
TEST_F(RecoveryWithReset, ResetAfterAWedgeAHundredTimesLeavesNothingBehind) {
#ifdef FPGADEXT_SANITIZED_BUILD
  // Each round waits out the 100 ms a function level reset takes (PCIe) and reopens the board,
  // several times slower under a sanitizer: 20 rounds keep the test within seconds there; the
  // default build runs the hundred the issue asks for.
  constexpr int kRounds = 20;
#else
  constexpr int kRounds = 100;
#endif
  const size_t mappings = machine().iommu().LiveMappings();
  PageBuffer data(64 * 1024);
  for (int i = 0; i < kRounds; ++i) {
    xdma().WedgeFunction();
    const Status s = device().Write(0, data.span(0, data.size()));
    ASSERT_EQ(s.code(), kIOReturnNoDevice) << "round " << i << ": " << s.message();
    device().Close();
    // The reset cleared the Command register; the driver started on the reset function sets Bus
    // Master Enable again (the old one is gone by then). Not Device::List in a loop meanwhile:
    // listing races the registry's removal of the old nodes (an emulation race of registry.cpp).
    ASSERT_TRUE(WaitFor([] { return xdma().configSpace().BusMasterEnabled(); }))
        << "round " << i << ": no driver started on the reset function";
    const Status back = Device::WaitForBoard(0, seconds(30));
    ASSERT_TRUE(back) << "round " << i << ": " << back.message();
    ASSERT_TRUE(Device::Open(0, &device())) << "round " << i;
    ASSERT_TRUE(RoundTrip(device(), 4096 * i, 64 * 1024, 200 + i)) << "round " << i;
  }
  EXPECT_EQ(xdma().configSpace().FunctionLevelResets(), static_cast<uint64_t>(kRounds));
  EXPECT_EQ(machine().iommu().LiveMappings(), mappings);
}

// All ones from configuration space too: the function is gone from the bus (its link is down),
// so there is nothing to reset; the dext refuses DMA and the board stays until the kernel
// terminates it.
TEST_F(RecoveryWithReset, AFunctionGoneFromTheBusIsNotReset) {
  xdma().SurpriseRemove();  // the link only: the kernel has not noticed
  PageBuffer data(1 << 20);
  for (int i = 0; i < 2; ++i) {
    const Status s = device().Write(0, data.span(0, data.size()));
    EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  }
  EXPECT_EQ(xdma().configSpace().FunctionLevelResets(), 0u);
  EXPECT_FALSE(device().gone());
}

// Without Function Level Reset the wedged channels stay set aside: the dext cannot reset the
// function (kIOReturnUnsupported), the board stays, and writes are refused at once while the
// other direction still works.
TEST_F(Recovery, WedgeWithoutFunctionLevelResetKeepsTheChannelsAside) {
  for (unsigned ch = 0; ch < device().info().h2cChannels; ++ch) {
    xdma().InjectHang(xdma::Direction::kH2c, ch);
  }
  PageBuffer data(1 << 20);
  SetAsideEveryH2cChannel(data);
  EXPECT_FALSE(device().gone());
  EXPECT_EQ(xdma().configSpace().FunctionLevelResets(), 0u);
  PageBuffer back(1 << 20);  // not `data`: the hung channels may still read that
  EXPECT_TRUE(device().Read(0, back.span(0, back.size())));
  // The hung channels stay mapped until they stop (docs/engine.md): let them, then check.
  xdma().ClearFaults();
  EXPECT_TRUE(WaitFor([&] { return static_cast<bool>(device().Write(0, data.span(0, 4096))); }));
}

}  // namespace
}  // namespace fpgadext::integration
