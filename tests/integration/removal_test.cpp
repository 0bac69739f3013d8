// Surprise removal under an open Device (issue 12 item 4): nothing in the app faults, every
// call fails with kIOReturnNoDevice, each ring request in flight completes exactly once, and the
// app's mappings of the dext's memory outlive the terminated user client until the app closes
// the connection, as xnu keeps them (IOUserClient::destroyUserReferences). Each test unplugs the
// board of a fresh machine.
#include <fpgadext/protocol.h>
#include <reference_design/user_block_registers.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
namespace reg = reference_design::user_reg;

class Removal : public FreshBoardFixture {
 protected:
  void Unplug() { machine().SurpriseRemovePciFunction(board_.get()); }
  // Every H2C channel hangs: ring writes stay in flight until the board goes.
  void HangWrites() {
    for (unsigned ch = 0; ch < device().info().h2cChannels; ++ch) {
      xdma().InjectHang(xdma::Direction::kH2c, ch);
    }
  }
};

// Requests in flight at unplug each complete once, with kIOReturnNoDevice unless the dext
// finished them first (kIOReturnAborted from its ring stop); the ring's words stay readable;
// nothing more is accepted.
TEST_F(Removal, RingRequestsInFlightCompleteOnceWithAnError) {
  PageBuffer memory(64 * 4096);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kBoth, &buffer));
  Ring ring;
  ASSERT_TRUE(device().CreateRing(64, RingDirections::kToCard, &ring));
  HangWrites();
  constexpr uint64_t kRequests = 64;
  for (uint64_t i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(ring.SubmitWrite(i * 4096, buffer, i * 4096, 4096, 1000 + i));
  }
  Unplug();
  std::multiset<uint64_t> tags;
  size_t failed = 0;
  RingCompletion batch[16];
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (tags.size() < kRequests && std::chrono::steady_clock::now() < deadline) {
    Status waited = ring.Wait(seconds(1));
    if (!waited) {
      EXPECT_EQ(waited.code(), kIOReturnNoDevice) << waited.message();
    }
    for (size_t n = ring.PollCompletions(batch), i = 0; i < n; ++i) {
      tags.insert(batch[i].tag);
      if (batch[i].status != kIOReturnSuccess) ++failed;
      // kIOReturnAborted: the dext's ring stop completed it first (its Stop aborts running jobs);
      // kIOReturnNoDevice: the library completed it for the gone dext. Either way, once.
      if (batch[i].status != kIOReturnSuccess) {
        EXPECT_TRUE(batch[i].status == kIOReturnNoDevice || batch[i].status == kIOReturnAborted)
            << std::hex << batch[i].status;
      }
    }
  }
  ASSERT_EQ(tags.size(), kRequests) << "ring requests in flight at unplug never completed";
  for (uint64_t i = 0; i < kRequests; ++i) EXPECT_EQ(tags.count(1000 + i), 1u) << i;
  EXPECT_GT(failed, 0u);  // the engine hung: some never ran
  EXPECT_EQ(ring.inFlight(), 0u);
  EXPECT_EQ(ring.PollCompletions(batch), 0u);  // once, not again
  (void)ring.errors();                         // still readable, no fault
  Status s = ring.SubmitWrite(0, buffer, 0, 4096, 1);
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  s = ring.Wait(seconds(1));
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  EXPECT_TRUE(ring.Destroy());
  device().Close();
  EXPECT_FALSE(buffer.valid());
}

// A thread blocked in Ring::Wait at unplug returns (with completions to take), not at its
// timeout.
TEST_F(Removal, RingWaitInProgressReturns) {
  PageBuffer memory(4096);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kBoth, &buffer));
  Ring ring;
  ASSERT_TRUE(device().CreateRing(8, RingDirections::kToCard, &ring));
  HangWrites();
  ASSERT_TRUE(ring.SubmitWrite(0, buffer, 0, 4096, 7));
  Status waited(kIOReturnError, "not returned");
  std::thread waiter([&] { waited = ring.Wait(std::chrono::hours(1)); });
  Unplug();
  waiter.join();  // before the fix: hangs (or faults)
  // It returns: with completions to take, or with the error of the connection's end when the
  // dext got there first (its ring stop: kIOReturnAborted; a wait reaching the stopped client:
  // kIOReturnOffline).
  EXPECT_TRUE(waited || waited.code() == kIOReturnNoDevice || waited.code() == kIOReturnAborted ||
              waited.code() == kIOReturnOffline)
      << waited.message();
  RingCompletion c[2];
  ASSERT_EQ(ring.PollCompletions(c), 1u);
  EXPECT_EQ(c[0].tag, 7u);
  EXPECT_TRUE(c[0].status == kIOReturnNoDevice || c[0].status == kIOReturnAborted)
      << std::hex << c[0].status;
}

// Registers of the mapped user BAR after unplug: kIOReturnNoDevice, no access.
TEST_F(Removal, MappedRegistersFailWithNoDevice) {
  const int bar = device().info().userBar;
  ASSERT_GE(bar, 0);
  if (!device().IsBarMapped(bar)) GTEST_SKIP() << "the user BAR is not mapped on this host";
  uint32_t v = 0;
  ASSERT_TRUE(device().Read32(bar, reg::kId, &v));
  Unplug();
  v = 0x1234;
  Status s = device().Read32(bar, reg::kId, &v);
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  EXPECT_EQ(v, 0x1234u);  // untouched
  s = device().Write32(bar, reg::Scratch(0), 5);
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  uint64_t v64 = 0;
  EXPECT_EQ(device().Read64(bar, reg::Scratch(0), &v64).code(), kIOReturnNoDevice);
  uint32_t block[4] = {};
  EXPECT_EQ(device().ReadBlock(bar, reg::Scratch(0), block).code(), kIOReturnNoDevice);
}

// Every other call after unplug: kIOReturnNoDevice, saying the board is gone; async transfers
// complete with it.
TEST_F(Removal, EveryCallFailsWithNoDevice) {
  PageBuffer memory(16384);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, 8192), BufferDirection::kBoth, &buffer));
  Unplug();
  Status s = device().Read(0, memory.span(0, 100));
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  EXPECT_THAT(std::string(s.message()), HasSubstr("the board is gone"));
  EXPECT_EQ(device().Write(0, memory.span(0, 8192)).code(), kIOReturnNoDevice);
  EXPECT_EQ(device().Read(0, buffer, 0, 4096).code(), kIOReturnNoDevice);
  RegisteredBuffer other;
  EXPECT_EQ(device().Register(memory.span(8192, 8192), BufferDirection::kBoth, &other).code(),
            kIOReturnNoDevice);
  Ring ring;
  EXPECT_EQ(device().CreateRing(8, RingDirections::kBoth, &ring).code(), kIOReturnNoDevice);
  AsyncOperation op = device().ReadAsync(0, memory.span(0, 4096));
  Status done = op.Wait(seconds(10));
  EXPECT_EQ(done.code(), kIOReturnNoDevice) << done.message();
  EXPECT_TRUE(buffer.Release());  // the dext dropped it with the connection: nothing to undo
  device().Close();
}

// An async transfer in flight at unplug completes once, with an error: the dext's, as it stops.
TEST_F(Removal, AsyncTransferInFlightCompletesOnceWithAnError) {
  HangWrites();
  PageBuffer memory(65536);
  std::atomic<int> callbacks{0};
  AsyncOperation op = device().WriteAsync(0, memory.span(0, memory.size()),
                                          [&](const Status&, uint64_t) { ++callbacks; });
  Unplug();
  Status done = op.Wait(seconds(30));
  EXPECT_NE(done.code(), kIOReturnTimeout) << "no completion after unplug";
  EXPECT_FALSE(done) << done.message();
  RecordProperty("completion", IOReturnName(done.code()));
  device().Close();
  EXPECT_EQ(callbacks.load(), 1);
}

// The emulation's rule (xnu IOUserClient::destroyUserReferences, is_io_service_close): the
// app's mappings of a terminated user client stay until the app closes the connection; unmapping
// through the dead connection fails and leaves them; a mapped BAR of the removed board reads all
// ones (nothing claims the access).
TEST_F(Removal, AppMappingsOutliveTheTerminatedUserClient) {
  io_connect_t connection = OpenRawConnection();
  ASSERT_NE(connection, IO_OBJECT_NULL);
  const uint64_t in[2] = {8, protocol::kRingToCard};
  uint64_t out[1] = {};
  uint32_t count = 1;
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection, protocol::kSelectorRingCreate, in, 2, out, &count),
      kIOReturnSuccess);
  mach_vm_address_t ring = 0, bar = 0;
  mach_vm_size_t ringSize = 0, barSize = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection, protocol::kMemoryTypeRing, mach_task_self(), &ring,
                                 &ringSize, kIOMapAnywhere),
            kIOReturnSuccess);
  const int userBar = device().info().userBar;
  const bool barMapped =
      IOConnectMapMemory64(connection, protocol::kMemoryTypeBar0 + userBar, mach_task_self(), &bar,
                           &barSize, kIOMapAnywhere) == kIOReturnSuccess;
  auto* header = reinterpret_cast<volatile protocol::RingHeader*>(static_cast<uintptr_t>(ring));
  const uint32_t submissionOffset = header->submissionOffset;
  Unplug();
  EXPECT_EQ(header->submissionOffset, submissionOffset);  // before the fix: SIGSEGV
  header->sqTail = 1;                                     // still the app's memory
  if (barMapped) {
    EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(bar) + reg::kId),
              0xFFFFFFFFu);
  }
  EXPECT_NE(IOConnectUnmapMemory64(connection, protocol::kMemoryTypeRing, mach_task_self(), ring),
            kIOReturnSuccess);
  EXPECT_EQ(header->submissionOffset, submissionOffset);
  EXPECT_EQ(IOServiceClose(connection), kIOReturnSuccess);
}

}  // namespace
}  // namespace fpgadext::integration
