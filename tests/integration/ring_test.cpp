// The submission ring: thousands of requests verified byte for byte, no driver call per
// request in steady state, hostile entries and indices refused without harm, one owning
// client per channel, and a client that goes away with its ring active.
#include <fpgadext/emu/broker_stats.h>
#include <fpgadext/protocol.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RingTest : public BoardFixture {
 protected:
  // Waits for `count` completions (polling, then Ring::Wait), appending them to `out`.
  static void Collect(Ring& ring, size_t count, std::vector<RingCompletion>* out) {
    RingCompletion batch[64];
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (out->size() < count) {
      const size_t n = ring.PollCompletions(batch);
      out->insert(out->end(), batch, batch + n);
      if (n == 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "ring completions missing";
        std::this_thread::yield();
      }
    }
  }
  // A ring made through the raw selectors and mapped into this process.
  struct RawRing {
    uintptr_t address = 0;
    protocol::RingHeader* header = nullptr;

    bool Create(io_connect_t connection) {
      const uint64_t in[2] = {8, protocol::kRingToCard};
      uint64_t out[1] = {};
      uint32_t count = 1;
      if (IOConnectCallScalarMethod(connection, protocol::kSelectorRingCreate, in, 2, out,
                                    &count) != kIOReturnSuccess) {
        return false;
      }
      mach_vm_address_t mapped = 0;
      mach_vm_size_t size = 0;
      if (IOConnectMapMemory64(connection, protocol::kMemoryTypeRing, mach_task_self(), &mapped,
                               &size, kIOMapAnywhere) != kIOReturnSuccess ||
          size < protocol::RingBytes(8)) {
        return false;
      }
      address = static_cast<uintptr_t>(mapped);
      header = reinterpret_cast<protocol::RingHeader*>(address);
      return true;
    }
    bool Destroy(io_connect_t connection) {
      IOConnectUnmapMemory64(connection, protocol::kMemoryTypeRing, mach_task_self(), address);
      address = 0;
      header = nullptr;
      return IOConnectCallScalarMethod(connection, protocol::kSelectorRingDestroy, nullptr, 0,
                                       nullptr, nullptr) == kIOReturnSuccess;
    }
  };
  // Waits until the dext reports `flag` in the ring's error word.
  static bool WaitForError(const protocol::RingHeader* header, uint32_t flag) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (!(__atomic_load_n(&header->errors, __ATOMIC_ACQUIRE) & flag)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
  // Posts one raw entry and returns its completion.
  static RingCompletion One(Ring& ring, uint64_t id, uint64_t offset, uint64_t card,
                            uint64_t length, uint32_t direction, uint64_t tag) {
    EXPECT_TRUE(ring.SubmitRaw(id, offset, card, length, direction, tag));
    std::vector<RingCompletion> out;
    Collect(ring, 1, &out);
    return out.empty() ? RingCompletion{} : out[0];
  }
};

TEST_F(RingTest, ThousandsOfRequestsAcrossSizesByteForByte) {
  Device dev;
  ASSERT_TRUE(Device::Open(0, &dev));
  Ring ring;
  Status s = dev.CreateRing(64, RingDirections::kBoth, &ring);
  ASSERT_TRUE(s) << s.message();
  constexpr size_t kSize = 1 << 20;
  PageBuffer out(kSize), in(kSize);
  FillPattern(out.data(), kSize, 42);
  RegisteredBuffer outBuffer, inBuffer;
  ASSERT_TRUE(dev.Register(out.span(0, kSize), BufferDirection::kToCard, &outBuffer));
  ASSERT_TRUE(dev.Register(in.span(0, kSize), BufferDirection::kFromCard, &inBuffer));
  std::mt19937_64 random(7);
  constexpr int kOps = 3000;
  struct Op {
    uint64_t offset, length, card;
  };
  std::vector<Op> ops;
  for (int i = 0; i < kOps; ++i) {
    const uint64_t length = 1 + random() % (i % 10 == 0 ? 65536 : 4096);
    const uint64_t offset = random() % (kSize - length);
    ops.push_back({offset, length, 0x2000'0000 + offset});  // card mirrors the buffer offset
  }
  // Writes, then reads of the same ranges, each with its tag; many in flight at a time.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<RingCompletion> done;
    size_t next = 0;
    RingCompletion batch[64];
    while (done.size() < ops.size()) {
      while (next < ops.size()) {
        const Op& op = ops[next];
        Status r = pass == 0 ? ring.SubmitWrite(op.card, outBuffer, op.offset, op.length, next)
                             : ring.SubmitRead(op.card, inBuffer, op.offset, op.length, next);
        if (r.code() == kIOReturnNoSpace) break;
        ASSERT_TRUE(r) << r.message();
        ++next;
      }
      const size_t n = ring.PollCompletions(batch);
      if (n == 0) ASSERT_TRUE(ring.Wait(seconds(30)));
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(batch[i].status, kIOReturnSuccess) << "tag " << batch[i].tag;
        ASSERT_EQ(batch[i].bytes, ops[batch[i].tag].length);
        done.push_back(batch[i]);
      }
    }
  }
  // Every byte read back is the byte written from the same offset.
  for (const Op& op : ops) {
    ASSERT_EQ(std::memcmp(in.data() + op.offset, out.data() + op.offset, op.length), 0);
  }
  EXPECT_EQ(ring.errors(), 0u);
}

TEST_F(RingTest, SteadyStateMakesNoDriverCalls) {
  Device dev;
  ASSERT_TRUE(Device::Open(0, &dev));
  Ring ring;
  ASSERT_TRUE(dev.CreateRing(32, RingDirections::kBoth, &ring));
  PageBuffer memory(65536);
  FillPattern(memory.data(), 65536, 3);
  RegisteredBuffer buffer;
  ASSERT_TRUE(dev.Register(memory.span(0, 65536), BufferDirection::kBoth, &buffer));
  std::vector<RingCompletion> done;
  ASSERT_TRUE(ring.SubmitWrite(0x100, buffer, 0, 4096, 1));  // warm-up
  Collect(ring, 1, &done);
  const uint64_t before = emu::broker::CallCount();
  const uint64_t doorbellsBefore = ring.doorbells();
  constexpr int kOps = 500;
  for (int i = 0; i < kOps; ++i) {
    const uint64_t length = 1 + (i * 37) % 8192;
    const Status s = i % 2 ? ring.SubmitRead(0x100 + i, buffer, 32768, length, i)
                           : ring.SubmitWrite(0x100 + i, buffer, i, length, i);
    ASSERT_TRUE(s) << s.message();
    Collect(ring, done.size() + 1, &done);  // polling the writeback word only
  }
  // A post that found the poller asleep rings one doorbell: only a gap of 2 ms (a loaded
  // machine descheduling this thread) makes one; every other post makes no call.
  EXPECT_EQ(emu::broker::CallCount() - before, ring.doorbells() - doorbellsBefore)
      << "driver calls during the steady-state burst";
  for (size_t i = 1; i < done.size(); ++i) EXPECT_EQ(done[i].status, kIOReturnSuccess);
}

TEST_F(RingTest, HostileEntriesCompleteWithErrorsAndHarmNobody) {
  Device dev, other;
  ASSERT_TRUE(Device::Open(0, &dev));
  ASSERT_TRUE(Device::Open(0, &other));
  Ring ring;
  ASSERT_TRUE(dev.CreateRing(8, RingDirections::kBoth, &ring));
  PageBuffer mine(16384), theirs(16384);
  FillPattern(theirs.data(), 16384, 5);
  RegisteredBuffer buffer, writeOnly, otherBuffer;
  ASSERT_TRUE(dev.Register(mine.span(0, 8192), BufferDirection::kBoth, &buffer));
  ASSERT_TRUE(dev.Register(mine.span(8192, 8192), BufferDirection::kToCard, &writeOnly));
  ASSERT_TRUE(other.Register(theirs.span(0, 16384), BufferDirection::kBoth, &otherBuffer));
  using namespace protocol;
  // Unknown ids, and the id another client was given: not found.
  EXPECT_EQ(One(ring, 0xdeadbeef, 0, 0, 16, kRingFromCard, 1).status, kIOReturnNotFound);
  EXPECT_EQ(One(ring, 0x3f, 0, 0, 16, kRingFromCard, 2).status, kIOReturnNotFound);
  EXPECT_EQ(One(ring, otherBuffer.id(), 0, 0, 16, kRingFromCard, 3).status, kIOReturnNotFound);
  EXPECT_EQ(One(ring, otherBuffer.id(), 0, 0, 16, kRingToCard, 4).status, kIOReturnNotFound);
  // Ranges outside the buffer, wrapping around, outside the card.
  EXPECT_EQ(One(ring, buffer.id(), 8000, 0, 200, kRingToCard, 5).status, kIOReturnBadArgument);
  EXPECT_EQ(One(ring, buffer.id(), ~0ull - 4, 0, 16, kRingToCard, 6).status, kIOReturnBadArgument);
  EXPECT_EQ(One(ring, buffer.id(), 16, 0, ~0ull - 8, kRingToCard, 7).status, kIOReturnBadArgument);
  EXPECT_EQ(One(ring, buffer.id(), 0, kCardMemory - 8, 16, kRingToCard, 8).status,
            kIOReturnOverrun);
  EXPECT_EQ(One(ring, buffer.id(), 0, ~0ull - 8, 16, kRingToCard, 9).status, kIOReturnBadArgument);
  // Directions: unknown, and reads into a buffer registered for writes only.
  EXPECT_EQ(One(ring, buffer.id(), 0, 0, 16, 0, 10).status, kIOReturnBadArgument);
  EXPECT_EQ(One(ring, buffer.id(), 0, 0, 16, 3, 11).status, kIOReturnBadArgument);
  EXPECT_EQ(One(ring, writeOnly.id(), 0, 0, 16, kRingFromCard, 12).status, kIOReturnNotPermitted);
  // An unregistered buffer's id is dead at once.
  const uint64_t stale = writeOnly.id();
  ASSERT_TRUE(writeOnly.Release());
  EXPECT_EQ(One(ring, stale, 0, 0, 16, kRingToCard, 13).status, kIOReturnNotFound);
  // The other client's memory is untouched, and everyone still works.
  EXPECT_EQ(CheckPattern(theirs.data(), 16384, 5), 16384u);
  FillPattern(mine.data(), 8192, 6);
  fpgadext::RingCompletion c = One(ring, buffer.id(), 0, 0x7000, 8192, kRingToCard, 14);
  EXPECT_EQ(c.status, kIOReturnSuccess);
  EXPECT_EQ(c.tag, 14u);
  PageBuffer back(8192);
  ASSERT_TRUE(other.Read(0x7000, back.span(0, 8192)));
  EXPECT_EQ(CheckPattern(back.data(), 8192, 6), 8192u);
  ASSERT_TRUE(device().Read(0x7000, back.span(0, 8192)));
  EXPECT_EQ(ring.errors(), 0u);
}

TEST_F(RingTest, BogusIndicesAreIgnoredAndFlagged) {
  using namespace protocol;
  io_connect_t connection = OpenRawConnection();
  ASSERT_NE(connection, IO_OBJECT_NULL);
  // Each case gets a ring of its own: the dext's error word is sticky for a ring's life, so a
  // flag raised by one case would hide a flag missing in the next.
  RawRing ring;
  // A tail claiming 1000 entries in a ring of 8 (and one that wrapped around backwards).
  for (uint32_t bogus : {1000u, 0xffff'fff0u}) {
    ASSERT_TRUE(ring.Create(connection)) << bogus;
    RingHeader* header = ring.header;
    EXPECT_EQ(header->magic, kRingMagic);
    EXPECT_EQ(header->entries, 8u);
    __atomic_store_n(&header->sqTail, bogus, __ATOMIC_RELEASE);
    ASSERT_TRUE(WaitForError(header, kRingErrorSubmissionIndex)) << bogus;
    // The dext flags the tail instead of consuming anything.
    EXPECT_EQ(__atomic_load_n(&header->sqHead, __ATOMIC_ACQUIRE), 0u) << bogus;
    EXPECT_EQ(__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE), 0u) << bogus;
    ASSERT_TRUE(ring.Destroy(connection)) << bogus;
  }
  // A sane tail with a bogus consumer index: the ring stalls until the index is sane, then one
  // entry (an unknown buffer id) is consumed and completed.
  ASSERT_TRUE(ring.Create(connection));
  RingHeader* header = ring.header;
  auto* submissions = reinterpret_cast<RingSubmission*>(ring.address + header->submissionOffset);
  submissions[0] = RingSubmission{12345, 0, 0, 16, kRingToCard, 0, 77};
  __atomic_store_n(&header->cqHead, 0xffff'0000u, __ATOMIC_RELEASE);  // bogus consumer index
  __atomic_store_n(&header->sqTail, 1u, __ATOMIC_RELEASE);
  ASSERT_TRUE(WaitForError(header, kRingErrorCompletionIndex));
  EXPECT_EQ(__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE), 0u) << "stalls, no overwrite";
  __atomic_store_n(&header->cqHead, 0u, __ATOMIC_RELEASE);
  // The stalled poller may have gone to sleep: a sane index gives it work, so the app's half of
  // the wake-up applies (docs/ring.md, "Wake-up").
  if (RingDoorbellNeeded(header)) {
    EXPECT_EQ(
        IOConnectCallScalarMethod(connection, kSelectorRingDoorbell, nullptr, 0, nullptr, nullptr),
        kIOReturnSuccess);
  }
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE) != 1u &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE), 1u);
  auto* completions =
      reinterpret_cast<protocol::RingCompletion*>(ring.address + header->completionOffset);
  EXPECT_EQ(completions[0].tag, 77u);
  EXPECT_EQ(completions[0].status, kIOReturnNotFound);
  // Memory types and selectors the ring does not know.
  const uint64_t in[2] = {8, kRingToCard};
  uint64_t out[1] = {};
  uint32_t count = 1;
  EXPECT_EQ(IOConnectCallScalarMethod(connection, kSelectorRingCreate, in, 2, out, &count),
            kIOReturnBusy);
  ASSERT_TRUE(ring.Destroy(connection));
  EXPECT_EQ(
      IOConnectCallScalarMethod(connection, kSelectorRingDestroy, nullptr, 0, nullptr, nullptr),
      kIOReturnNotFound);
  const uint64_t bad[2] = {3, kRingToCard};
  EXPECT_EQ(IOConnectCallScalarMethod(connection, kSelectorRingCreate, bad, 2, out, &count),
            kIOReturnBadArgument);
  IOServiceClose(connection);
}

TEST_F(RingTest, OneOwningClientPerChannel) {
  Device a, b, c;
  ASSERT_TRUE(Device::Open(0, &a));
  ASSERT_TRUE(Device::Open(0, &b));
  ASSERT_TRUE(Device::Open(0, &c));
  Ring ra, rb, rc;
  ASSERT_TRUE(a.CreateRing(4, RingDirections::kToCard, &ra));
  // The board has two H2C channels: a ring may not own the last shared one.
  Status s = b.CreateRing(4, RingDirections::kBoth, &rb);
  EXPECT_EQ(s.code(), kIOReturnExclusiveAccess) << s.message();
  EXPECT_FALSE(rb.valid());
  // The C2H channel the refused ring had taken came back: a C2H ring fits, a second does not.
  ASSERT_TRUE(b.CreateRing(4, RingDirections::kFromCard, &rb));
  s = c.CreateRing(4, RingDirections::kFromCard, &rc);
  EXPECT_EQ(s.code(), kIOReturnExclusiveAccess) << s.message();
  EXPECT_FALSE(rc.valid());
  // A second ring on one connection is refused too.
  Ring again;
  EXPECT_EQ(a.CreateRing(4, RingDirections::kFromCard, &again).code(), kIOReturnBusy);
  // One shared channel per direction is left: other clients' writes and reads go on.
  PageBuffer buffer(8192);
  EXPECT_TRUE(c.Write(0, buffer.span(0, 8192)));
  EXPECT_TRUE(c.Read(0, buffer.span(0, 8192)));
  ASSERT_TRUE(ra.Destroy());
  s = c.CreateRing(4, RingDirections::kToCard, &rc);
  EXPECT_TRUE(s) << s.message();
}

TEST_F(RingTest, WaitSleepsUntilACompletionAndTimesOut) {
  Device dev;
  ASSERT_TRUE(Device::Open(0, &dev));
  Ring ring;
  ASSERT_TRUE(dev.CreateRing(4, RingDirections::kBoth, &ring));
  PageBuffer memory(8192);
  RegisteredBuffer buffer;
  ASSERT_TRUE(dev.Register(memory.span(0, 8192), BufferDirection::kBoth, &buffer));
  EXPECT_EQ(ring.Wait(milliseconds(30)).code(), kIOReturnTimeout);
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(milliseconds(i % 3));  // let the dext back off sometimes
    ASSERT_TRUE(ring.SubmitWrite(0x9000, buffer, 0, 1 + i * 100, i));
    Status s = ring.Wait(seconds(10), std::chrono::nanoseconds(0));
    ASSERT_TRUE(s) << s.message();
    RingCompletion c[4];
    ASSERT_EQ(ring.PollCompletions(c), 1u);
    EXPECT_EQ(c[0].tag, static_cast<uint64_t>(i));
    EXPECT_EQ(c[0].status, kIOReturnSuccess);
  }
}

TEST_F(RingTest, ClientGoesAwayWithTheRingBusy) {
  PageBuffer memory(1 << 20);
  for (int round = 0; round < 3; ++round) {
    Device dev;
    ASSERT_TRUE(Device::Open(0, &dev));
    Ring ring;
    ASSERT_TRUE(dev.CreateRing(16, RingDirections::kBoth, &ring));
    RegisteredBuffer buffer;
    ASSERT_TRUE(dev.Register(memory.span(0, 1 << 20), BufferDirection::kBoth, &buffer));
    for (int i = 0; i < 16; ++i) {
      ASSERT_TRUE(i % 2 ? ring.SubmitRead(0x10'0000, buffer, 0, 1 << 20, i)
                        : ring.SubmitWrite(0x20'0000, buffer, 0, 1 << 20, i));
    }
    dev.Close();  // ring, buffers and connection go with the transfers in flight
    EXPECT_FALSE(ring.valid());
    EXPECT_FALSE(buffer.valid());
  }
  // Every channel came back: a two-way ring fits again (a leaked channel of either direction
  // would leave it none but the shared one), and it is the only one.
  Device a, b;
  ASSERT_TRUE(Device::Open(0, &a));
  ASSERT_TRUE(Device::Open(0, &b));
  Ring ra, rb;
  EXPECT_TRUE(a.CreateRing(4, RingDirections::kBoth, &ra));
  EXPECT_EQ(b.CreateRing(4, RingDirections::kBoth, &rb).code(), kIOReturnExclusiveAccess);
}

}  // namespace
}  // namespace fpgadext::integration
