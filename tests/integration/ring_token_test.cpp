// Issue 12 item 7: the ring's sanitizer token. In a ThreadSanitizer build the dext writes a
// token into RingHeader::sanitizerToken for the app; it must never read it back (the app can
// write it; docs/ring.md says the dext never reads back what it wrote). The app here overwrites
// the token with hostile values while requests flow: the dext, which once handed the value it
// read to __tsan_acquire, crashed the TSan build on them. In other builds the token is 0 and
// the annotations do nothing, so only the tsan build can tell (the rest of the test, requests
// completing byte for byte, holds in every build).
#include <fpgadext/protocol.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class RingToken : public BoardFixture {};

TEST_F(RingToken, HostileTokenValuesAreNeverUsedByTheDext) {
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  constexpr uint32_t kEntries = 8;
  const uint64_t create[2] = {kEntries, protocol::kRingToCard | protocol::kRingFromCard};
  uint64_t ringSize = 0;
  uint32_t count = 1;
  ASSERT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorRingCreate, create, 2, &ringSize, &count),
      kIOReturnSuccess);
  mach_vm_address_t mapped = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(c, protocol::kMemoryTypeRing, mach_task_self(), &mapped, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  auto* header = reinterpret_cast<protocol::RingHeader*>(mapped);
  auto* submissions =
      reinterpret_cast<protocol::RingSubmission*>(mapped + header->submissionOffset);
  auto* completions =
      reinterpret_cast<protocol::RingCompletion*>(mapped + header->completionOffset);
  // The app's own annotations use the token as the dext wrote it.
  const uint64_t token = header->sanitizerToken;

  constexpr size_t kBytes = 64 << 10;
  PageBuffer buffer(kBytes);
  FillPattern(buffer.data(), kBytes, 77);
  const uint64_t registration[3] = {reinterpret_cast<uint64_t>(buffer.data()), kBytes,
                                    protocol::kBufferBoth};
  uint64_t id = 0;
  count = 1;
  ASSERT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorRegisterBuffer, registration, 3, &id, &count),
      kIOReturnSuccess);

  // Hostile tokens: unmapped, kernel-looking, misaligned, all ones, an address in this
  // process that is not the dext's token.
  const uint64_t hostile[] = {0xdeadbeefdeadbeefull, 1, 0xffffffffffffffffull,
                              0x0000100000000007ull, reinterpret_cast<uint64_t>(&count)};
  uint32_t tail = 0;
  uint32_t head = 0;
  for (int round = 0; round < 40; ++round) {
    __atomic_store_n(&header->sanitizerToken, hostile[round % std::size(hostile)],
                     __ATOMIC_RELAXED);
    protocol::RingSubmission& e = submissions[tail % kEntries];
    e = protocol::RingSubmission{};
    e.bufferId = id;
    e.bufferOffset = (round % 2) * (kBytes / 2);
    e.cardAddress = 0x300000 + (round % 2) * (kBytes / 2);
    e.length = kBytes / 2;
    e.direction = round < 2 ? protocol::kRingToCard : protocol::kRingFromCard;
    e.tag = 1000 + round;
    protocol::RingSanitizerRelease(token);
    __atomic_store_n(&header->sqTail, ++tail, __ATOMIC_RELEASE);
    if (protocol::RingDoorbellNeeded(header)) {  // the poller sleeps after a pause
      ASSERT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRingDoorbell, nullptr, 0, nullptr,
                                          nullptr),
                kIOReturnSuccess);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE) == head) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no completion, round " << round;
      std::this_thread::yield();
    }
    protocol::RingSanitizerAcquire(token);
    const protocol::RingCompletion done = completions[head % kEntries];
    __atomic_store_n(&header->cqHead, ++head, __ATOMIC_RELEASE);
    EXPECT_EQ(done.tag, 1000u + round);
    EXPECT_EQ(done.status, kIOReturnSuccess) << "round " << round;
    EXPECT_EQ(done.bytes, kBytes / 2);
  }
  // The reads brought back what the first two writes put on the card.
  EXPECT_EQ(CheckPattern(buffer.data(), kBytes, 77), kBytes);
  EXPECT_EQ(__atomic_load_n(&header->errors, __ATOMIC_ACQUIRE), 0u);
  IOConnectUnmapMemory64(c, protocol::kMemoryTypeRing, mach_task_self(), mapped);
  IOServiceClose(c);
}

}  // namespace
}  // namespace fpgadext::integration
