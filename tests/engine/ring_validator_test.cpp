// engine::RingValidator on its own: every rejection, the index arithmetic at the edges of
// uint32_t, overflow of offset + length, generations and bogus indices (docs/ring.md).
#include <fpgadext/engine/ring_validator.h>
#include <gtest/gtest.h>

#include <limits>

namespace {

namespace protocol = fpgadext::protocol;
using fpgadext::engine::Direction;
using fpgadext::engine::RingBuffer;
using fpgadext::engine::RingEntryVerdict;
using fpgadext::engine::RingRejection;
using fpgadext::engine::RingRejectionStatus;
using fpgadext::engine::RingStep;
using fpgadext::engine::RingValidator;

constexpr uint64_t kBoth = protocol::kRingToCard | protocol::kRingFromCard;
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

uint64_t Id(uint32_t slot, uint32_t generation) {
  return (uint64_t{generation} << 8) | slot;
}

struct Table {
  RingBuffer slots[protocol::kMaxRegisteredBuffers] = {};
  Table() {
    slots[3] = RingBuffer{true, 7, protocol::kBufferBoth, 1 << 20};
    slots[4] = RingBuffer{true, 8, protocol::kBufferToCard, 4096};
    slots[5] = RingBuffer{true, 9, protocol::kBufferFromCard, 4096};
    slots[6] = RingBuffer{false, 10, protocol::kBufferBoth, 4096};  // being unregistered
  }
};

protocol::RingSubmission Entry(uint64_t id, uint64_t offset, uint64_t length, uint32_t direction) {
  protocol::RingSubmission e{};
  e.bufferId = id;
  e.bufferOffset = offset;
  e.cardAddress = 0x1000;
  e.length = length;
  e.direction = direction;
  e.tag = 99;
  return e;
}

RingRejection Why(const RingValidator& v, const protocol::RingSubmission& e, const Table& t) {
  const RingEntryVerdict verdict = v.Check(e, t.slots, protocol::kMaxRegisteredBuffers);
  EXPECT_EQ(verdict.status, RingRejectionStatus(verdict.rejection));
  return verdict.rejection;
}

TEST(RingValidator, GeometryAcceptsPowersOfTwoInRangeAndKnownDirections) {
  EXPECT_TRUE(RingValidator::ValidGeometry(2, protocol::kRingToCard));
  EXPECT_TRUE(RingValidator::ValidGeometry(4096, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(1, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(0, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(8192, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(48, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(uint64_t{1} << 32, kBoth));
  EXPECT_FALSE(RingValidator::ValidGeometry(64, 0));
  EXPECT_FALSE(RingValidator::ValidGeometry(64, 4));
  EXPECT_FALSE(RingValidator::ValidGeometry(64, kBoth | 8));
}

TEST(RingValidator, AnInvalidGeometryServesNothing) {
  RingValidator v(3, kBoth);
  EXPECT_EQ(v.Next(1, 0), RingStep::kIdle);
  Table t;
  EXPECT_EQ(Why(v, Entry(Id(3, 7), 0, 16, protocol::kRingToCard), t),
            RingRejection::kDirectionNotServed);
}

TEST(RingValidator, RejectionStatusesAreTheDocumentedIOReturns) {
  EXPECT_EQ(RingRejectionStatus(RingRejection::kNone), kIOReturnSuccess);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kUnknownDirection), kIOReturnBadArgument);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kDirectionNotServed), kIOReturnNotPermitted);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kUnknownBuffer), kIOReturnNotFound);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kBufferDirection), kIOReturnNotPermitted);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kOutsideBuffer), kIOReturnBadArgument);
  EXPECT_EQ(RingRejectionStatus(RingRejection::kTooLong), kIOReturnBadArgument);
}

TEST(RingValidator, AcceptsAnEntryInsideItsBufferAndSaysWhatToRun) {
  RingValidator v(8, kBoth);
  Table t;
  const RingEntryVerdict w = v.Check(Entry(Id(3, 7), 100, 200, protocol::kRingToCard), t.slots, 64);
  EXPECT_EQ(w.rejection, RingRejection::kNone);
  EXPECT_EQ(w.status, kIOReturnSuccess);
  EXPECT_EQ(w.direction, Direction::kHostToCard);
  EXPECT_EQ(w.bufferSlot, 3u);
  EXPECT_EQ(w.bufferOffset, 100u);
  EXPECT_EQ(w.length, 200u);
  EXPECT_EQ(w.cardAddress, 0x1000u);
  const RingEntryVerdict r =
      v.Check(Entry(Id(5, 9), 0, 4096, protocol::kRingFromCard), t.slots, 64);
  EXPECT_EQ(r.rejection, RingRejection::kNone);
  EXPECT_EQ(r.direction, Direction::kCardToHost);
  EXPECT_EQ(r.bufferSlot, 5u);
  // The whole buffer, to its last byte, and an empty entry at its very end.
  EXPECT_EQ(Why(v, Entry(Id(3, 7), 0, 1 << 20, protocol::kRingFromCard), t), RingRejection::kNone);
  const RingEntryVerdict empty =
      v.Check(Entry(Id(3, 7), 1 << 20, 0, protocol::kRingFromCard), t.slots, 64);
  EXPECT_EQ(empty.rejection, RingRejection::kNone);
  EXPECT_EQ(empty.length, 0u);
}

TEST(RingValidator, UnknownDirectionsAreBadArguments) {
  RingValidator v(8, kBoth);
  Table t;
  for (uint32_t d : {0u, 3u, 4u, 0x80000000u, 0xffffffffu}) {
    EXPECT_EQ(Why(v, Entry(Id(3, 7), 0, 16, d), t), RingRejection::kUnknownDirection) << d;
  }
}

TEST(RingValidator, DirectionsTheRingDoesNotServeAreNotPermitted) {
  RingValidator toCard(8, protocol::kRingToCard);
  RingValidator fromCard(8, protocol::kRingFromCard);
  Table t;
  EXPECT_EQ(Why(toCard, Entry(Id(3, 7), 0, 16, protocol::kRingFromCard), t),
            RingRejection::kDirectionNotServed);
  EXPECT_EQ(Why(fromCard, Entry(Id(3, 7), 0, 16, protocol::kRingToCard), t),
            RingRejection::kDirectionNotServed);
  EXPECT_EQ(Why(toCard, Entry(Id(3, 7), 0, 16, protocol::kRingToCard), t), RingRejection::kNone);
}

TEST(RingValidator, BufferIdsMustNameAVisibleSlotOfTheSameGeneration) {
  RingValidator v(8, kBoth);
  Table t;
  const uint32_t to = protocol::kRingToCard;
  EXPECT_EQ(Why(v, Entry(Id(3, 6), 0, 16, to), t), RingRejection::kUnknownBuffer);   // stale
  EXPECT_EQ(Why(v, Entry(Id(3, 8), 0, 16, to), t), RingRejection::kUnknownBuffer);   // future
  EXPECT_EQ(Why(v, Entry(Id(0, 0), 0, 16, to), t), RingRejection::kUnknownBuffer);   // empty slot
  EXPECT_EQ(Why(v, Entry(Id(6, 10), 0, 16, to), t), RingRejection::kUnknownBuffer);  // hidden
  EXPECT_EQ(Why(v, Entry(Id(64, 7), 0, 16, to), t), RingRejection::kUnknownBuffer);  // slot 64
  EXPECT_EQ(Why(v, Entry(Id(255, 7), 0, 16, to), t), RingRejection::kUnknownBuffer);
  // Upper bits beyond a 24-bit generation never match.
  EXPECT_EQ(Why(v, Entry(Id(3, 7) | (uint64_t{1} << 40), 0, 16, to), t),
            RingRejection::kUnknownBuffer);
  EXPECT_EQ(Why(v, Entry(kMax64, 0, 16, to), t), RingRejection::kUnknownBuffer);
  // A table smaller than the slot, or none at all.
  EXPECT_EQ(v.Check(Entry(Id(3, 7), 0, 16, to), t.slots, 3).rejection,
            RingRejection::kUnknownBuffer);
  EXPECT_EQ(v.Check(Entry(Id(3, 7), 0, 16, to), nullptr, 64).rejection,
            RingRejection::kUnknownBuffer);
}

TEST(RingValidator, BuffersAreUsedOnlyInTheDirectionTheyWereRegisteredFor) {
  RingValidator v(8, kBoth);
  Table t;
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 0, 16, protocol::kRingFromCard), t),
            RingRejection::kBufferDirection);
  EXPECT_EQ(Why(v, Entry(Id(5, 9), 0, 16, protocol::kRingToCard), t),
            RingRejection::kBufferDirection);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 0, 16, protocol::kRingToCard), t), RingRejection::kNone);
}

TEST(RingValidator, RangesPastTheBufferAreRefusedWithoutOverflow) {
  RingValidator v(8, kBoth);
  Table t;
  const uint32_t to = protocol::kRingToCard;
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 0, 4097, to), t), RingRejection::kOutsideBuffer);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 4096, 1, to), t), RingRejection::kOutsideBuffer);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 4097, 0, to), t), RingRejection::kOutsideBuffer);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 1, 4096, to), t), RingRejection::kOutsideBuffer);
  // offset + length wraps to a small number: still refused.
  EXPECT_EQ(Why(v, Entry(Id(4, 8), 16, kMax64 - 15, to), t), RingRejection::kOutsideBuffer);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), kMax64, 2, to), t), RingRejection::kOutsideBuffer);
  EXPECT_EQ(Why(v, Entry(Id(4, 8), kMax64, kMax64, to), t), RingRejection::kOutsideBuffer);
}

TEST(RingValidator, LengthsAboveTheProtocolLimitAreRefusedEvenInsideAHugeBuffer) {
  RingValidator v(8, kBoth);
  Table t;
  t.slots[7] = RingBuffer{true, 11, protocol::kBufferBoth, protocol::kMaxTransferLength * 2};
  EXPECT_EQ(Why(v, Entry(Id(7, 11), 0, protocol::kMaxTransferLength, protocol::kRingToCard), t),
            RingRejection::kNone);
  EXPECT_EQ(Why(v, Entry(Id(7, 11), 0, protocol::kMaxTransferLength + 1, protocol::kRingToCard), t),
            RingRejection::kTooLong);
}

TEST(RingValidator, RefusalsCarryNoLengthToRun) {
  RingValidator v(8, protocol::kRingToCard);
  Table t;
  const RingEntryVerdict r = v.Check(Entry(Id(4, 8), 0, 4097, 1), t.slots, 64);
  EXPECT_NE(r.status, kIOReturnSuccess);
  EXPECT_EQ(r.length, 0u);
}

TEST(RingValidator, ConsumesInOrderAndWrapsSlots) {
  RingValidator v(4, kBoth);
  EXPECT_EQ(v.Next(0, 0), RingStep::kIdle);
  uint32_t tail = 3;
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(v.Next(tail, v.cqTail()), RingStep::kConsume);
    EXPECT_EQ(v.SubmissionSlot(), i);
    EXPECT_EQ(v.CompletionSlot(), i);
    v.Consume();
    v.Complete();
  }
  EXPECT_EQ(v.Next(tail, v.cqTail()), RingStep::kIdle);
  tail = 6;
  ASSERT_EQ(v.Next(tail, v.cqTail()), RingStep::kConsume);
  EXPECT_EQ(v.SubmissionSlot(), 3u);
  v.Consume();
  v.Complete();
  ASSERT_EQ(v.Next(tail, v.cqTail()), RingStep::kConsume);
  EXPECT_EQ(v.SubmissionSlot(), 0u);  // wrapped
  EXPECT_EQ(v.errors(), 0u);
}

TEST(RingValidator, IndicesWrapAroundTheTopOfUint32) {
  const uint32_t start = 0xfffffffeu;  // two below 2^32, slot 2 of 4
  RingValidator v(4, kBoth, start);
  const uint32_t tail = start + 4;  // 2: the app's tail has wrapped past 2^32
  uint32_t cqHead = start;
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_EQ(v.Next(tail, cqHead), RingStep::kConsume) << i;
    EXPECT_EQ(v.SubmissionSlot(), (2 + i) % 4);
    EXPECT_EQ(v.CompletionSlot(), (2 + i) % 4);
    v.Consume();
    v.Complete();
  }
  EXPECT_EQ(v.sqHead(), 2u);
  EXPECT_EQ(v.cqTail(), 2u);
  EXPECT_EQ(v.Next(tail, cqHead), RingStep::kIdle);
  EXPECT_EQ(v.Next(tail + 1, cqHead), RingStep::kCompletionsFull);  // 4 unread across the wrap
  cqHead = 1;                                                       // consumed 3, wrapped too
  EXPECT_EQ(v.Next(tail + 1, cqHead), RingStep::kConsume);
  // A tail that falls back below the wrap is far ahead in uint32_t arithmetic: bogus.
  EXPECT_EQ(v.Next(start, cqHead), RingStep::kBogusSubmissionIndex);
  EXPECT_EQ(v.errors(), uint32_t{protocol::kRingErrorSubmissionIndex});
}

TEST(RingValidator, BogusSubmissionIndicesAreIgnoredAndFlaggedUntilSane) {
  RingValidator v(8, kBoth);
  EXPECT_EQ(v.Next(9, 0), RingStep::kBogusSubmissionIndex);  // ran ahead by more than entries
  EXPECT_EQ(v.errors(), uint32_t{protocol::kRingErrorSubmissionIndex});
  EXPECT_EQ(v.sqHead(), 0u);
  EXPECT_EQ(v.Next(0xffffffffu, 0), RingStep::kBogusSubmissionIndex);  // wrapped backwards
  EXPECT_EQ(v.Next(0x80000000u, 0), RingStep::kBogusSubmissionIndex);
  EXPECT_EQ(v.Next(8, 0), RingStep::kConsume);  // exactly entries ahead: sane
  EXPECT_EQ(v.errors(), uint32_t{protocol::kRingErrorSubmissionIndex});  // sticky
}

TEST(RingValidator, BogusCompletionIndicesStallAndFlag) {
  RingValidator v(4, kBoth);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(v.Next(4, 0), RingStep::kConsume);
    v.Consume();
    v.Complete();
  }
  // cqTail is 2: a cqHead of 3 (ahead of what was published) or far behind is bogus.
  EXPECT_EQ(v.Next(4, 3), RingStep::kBogusCompletionIndex);
  EXPECT_EQ(v.errors(), uint32_t{protocol::kRingErrorCompletionIndex});
  EXPECT_EQ(v.Next(4, 0xfffffff0u), RingStep::kBogusCompletionIndex);
  EXPECT_EQ(v.sqHead(), 2u);  // nothing consumed while stalled
  EXPECT_EQ(v.Next(4, 2), RingStep::kConsume);
}

TEST(RingValidator, AFullCompletionSideWaitsWithoutAFlag) {
  RingValidator v(4, kBoth);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(v.Next(4, 0), RingStep::kConsume);
    v.Consume();
    v.Complete();
  }
  EXPECT_EQ(v.Next(5, 0), RingStep::kCompletionsFull);  // 4 completions unread
  EXPECT_EQ(v.errors(), 0u);
  EXPECT_EQ(v.sqHead(), 4u);
  EXPECT_EQ(v.Next(5, 1), RingStep::kConsume);
  EXPECT_EQ(v.Next(4, 0), RingStep::kIdle);  // nothing new is idle even when full
}

TEST(RingValidator, BufferIdSplitsSlotAndGeneration) {
  EXPECT_EQ(RingValidator::BufferIdSlot(Id(63, 0xabcdef)), 63u);
  EXPECT_EQ(RingValidator::BufferIdGeneration(Id(63, 0xabcdef)), 0xabcdefu);
  EXPECT_EQ(RingValidator::BufferIdSlot(kMax64), 255u);
}

}  // namespace
