// The ring's checks of hostile entries and indices (ring_validator.h, docs/ring.md).
#include <fpgadext/engine/ring_validator.h>

namespace fpgadext::engine {

namespace protocol = fpgadext::protocol;

IOReturn RingRejectionStatus(RingRejection rejection) {
  switch (rejection) {
    case RingRejection::kNone:
      return kIOReturnSuccess;
    case RingRejection::kDirectionNotServed:
    case RingRejection::kBufferDirection:
      return kIOReturnNotPermitted;
    case RingRejection::kUnknownBuffer:
      return kIOReturnNotFound;
    case RingRejection::kUnknownDirection:
    case RingRejection::kOutsideBuffer:
    case RingRejection::kTooLong:
      break;
  }
  return kIOReturnBadArgument;
}

bool RingValidator::ValidGeometry(uint64_t entries, uint64_t directions) {
  constexpr uint64_t kAllDirections = protocol::kRingToCard | protocol::kRingFromCard;
  return entries >= protocol::kRingMinEntries && entries <= protocol::kRingMaxEntries &&
         (entries & (entries - 1)) == 0 && directions != 0 && (directions & ~kAllDirections) == 0;
}

RingValidator::RingValidator(uint32_t entries, uint64_t directions, uint32_t start)
    : entries_(entries),
      mask_(entries - 1),
      directions_(directions),
      sqHead_(start),
      cqTail_(start) {
  if (!ValidGeometry(entries, directions)) {
    entries_ = 0;  // serves nothing
    mask_ = 0;
    directions_ = 0;
  }
}

RingStep RingValidator::Next(uint32_t sqTail, uint32_t cqHead) {
  if (entries_ == 0) return RingStep::kIdle;
  // Only differences of free-running indices, each checked against the size: a tail that ran
  // ahead or wrapped backwards is as bogus as one far away.
  const uint32_t available = sqTail - sqHead_;
  if (available == 0) return RingStep::kIdle;
  if (available > entries_) {
    errors_ |= protocol::kRingErrorSubmissionIndex;
    return RingStep::kBogusSubmissionIndex;
  }
  const uint32_t pending = cqTail_ - cqHead;
  if (pending > entries_) {
    errors_ |= protocol::kRingErrorCompletionIndex;
    return RingStep::kBogusCompletionIndex;
  }
  if (pending == entries_) return RingStep::kCompletionsFull;
  return RingStep::kConsume;
}

RingEntryVerdict RingValidator::Check(const protocol::RingSubmission& entry,
                                      const RingBuffer* buffers, uint32_t count) const {
  RingEntryVerdict v{};
  v.cardAddress = entry.cardAddress;
  auto refuse = [&v](RingRejection why) {
    v.rejection = why;
    v.status = RingRejectionStatus(why);
    v.length = 0;
    return v;
  };
  if (entry.direction == protocol::kRingToCard) {
    v.direction = Direction::kHostToCard;
  } else if (entry.direction == protocol::kRingFromCard) {
    v.direction = Direction::kCardToHost;
  } else {
    return refuse(RingRejection::kUnknownDirection);
  }
  if ((directions_ & entry.direction) == 0) return refuse(RingRejection::kDirectionNotServed);
  const uint32_t slot = BufferIdSlot(entry.bufferId);
  if (buffers == nullptr || slot >= count || slot >= protocol::kMaxRegisteredBuffers) {
    return refuse(RingRejection::kUnknownBuffer);
  }
  const RingBuffer& b = buffers[slot];
  if (!b.ringVisible || b.generation != BufferIdGeneration(entry.bufferId)) {
    return refuse(RingRejection::kUnknownBuffer);
  }
  const uint64_t needed = v.direction == Direction::kCardToHost
                              ? uint64_t{protocol::kBufferFromCard}
                              : uint64_t{protocol::kBufferToCard};
  if ((b.direction & needed) == 0) return refuse(RingRejection::kBufferDirection);
  // offset + length may overflow: compare without adding.
  if (entry.bufferOffset > b.length || entry.length > b.length - entry.bufferOffset) {
    return refuse(RingRejection::kOutsideBuffer);
  }
  if (entry.length > protocol::kMaxTransferLength) return refuse(RingRejection::kTooLong);
  v.rejection = RingRejection::kNone;
  v.status = kIOReturnSuccess;
  v.bufferSlot = slot;
  v.bufferOffset = entry.bufferOffset;
  v.length = entry.length;
  return v;
}

}  // namespace fpgadext::engine
