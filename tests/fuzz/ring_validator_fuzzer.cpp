// Fuzz target "ring_validator" (docs/reliability.md): the dext's checks of the submission ring
// (engine/include/fpgadext/engine/ring_validator.h) as a pure component. The input is a ring
// geometry, a registered-buffer table and a sequence of app-written indices and entries, every
// value hostile. After every step the validator agrees with a model written here from the
// header's and docs/ring.md's contract:
//   - Next: kIdle when nothing is published (or the geometry is invalid); a published count
//     above the size is kBogusSubmissionIndex, an unconsumed-completion count above it
//     kBogusCompletionIndex, one equal to it kCompletionsFull, else kConsume; the two error
//     bits are set by the bogus steps and never cleared;
//   - the slots are the dext's own indices modulo the size, always inside the ring;
//   - Check accepts exactly the entries whose direction the ring serves, whose buffer id names a
//     visible slot of this generation registered for that direction, whose range lies inside
//     the buffer (no wrap-around) and is no longer than kMaxTransferLength; an accepted entry
//     is passed on unchanged, a refused one moves nothing and carries its rejection's status;
//     the same entry gives the same verdict twice.
#include <fpgadext/engine/ring_validator.h>
#include <fpgadext/protocol.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

namespace engine = fpgadext::engine;
namespace protocol = fpgadext::protocol;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ring_validator fuzzer: %s\n", what);
  std::abort();
}

uint64_t Pick(FuzzedDataProvider& in, uint64_t small) {
  return in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, small)
                          : in.ConsumeIntegral<uint64_t>();
}

bool ModelAccepts(const protocol::RingSubmission& e, uint64_t directions,
                  const std::vector<engine::RingBuffer>& buffers, bool table) {
  if (e.direction != protocol::kRingToCard && e.direction != protocol::kRingFromCard) return false;
  if ((directions & e.direction) == 0) return false;
  const uint64_t slot = e.bufferId & 0xff;
  if (!table || slot >= buffers.size() || slot >= protocol::kMaxRegisteredBuffers) return false;
  const engine::RingBuffer& b = buffers[slot];
  if (!b.ringVisible || uint64_t{b.generation} != (e.bufferId >> 8)) return false;
  const uint64_t needed =
      e.direction == protocol::kRingToCard ? protocol::kBufferToCard : protocol::kBufferFromCard;
  if ((b.direction & needed) == 0) return false;
  if (e.bufferOffset > b.length || e.length > b.length - e.bufferOffset) return false;
  return e.length <= protocol::kMaxTransferLength;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // Geometry: mostly a power of two around the allowed range, else anything.
  const uint64_t entries =
      in.ConsumeBool() ? uint64_t{1} << in.ConsumeIntegralInRange<int>(0, 14) : Pick(in, 8192);
  const uint64_t directions = Pick(in, 4);
  const uint32_t start = in.ConsumeBool() ? 0u - in.ConsumeIntegralInRange<uint32_t>(0, 16)
                                          : in.ConsumeIntegral<uint32_t>();
  auto validGeometry = [](uint64_t n, uint64_t d) {
    return n >= protocol::kRingMinEntries && n <= protocol::kRingMaxEntries && (n & (n - 1)) == 0 &&
           d >= 1 && d <= 3;
  };
  if (engine::RingValidator::ValidGeometry(entries, directions) !=
      validGeometry(entries, directions)) {
    Fail("ValidGeometry disagrees");
  }
  // The constructor takes 32 bits (the dext checks the 64-bit scalar with ValidGeometry first).
  const uint32_t entries32 = static_cast<uint32_t>(entries);
  const bool valid = validGeometry(entries32, directions);
  engine::RingValidator v(entries32, directions, start);
  const uint32_t size32 = valid ? entries32 : 0;

  // The client's buffer table (possibly more slots than a client can have, or none at all).
  const bool table = in.ConsumeIntegralInRange<int>(0, 15) != 0;
  std::vector<engine::RingBuffer> buffers(in.ConsumeIntegralInRange<size_t>(0, 70));
  for (engine::RingBuffer& b : buffers) {
    b.ringVisible = in.ConsumeBool();
    b.generation = static_cast<uint32_t>(Pick(in, 4));
    b.direction = Pick(in, 4);
    b.length = Pick(in, 1 << 20);
  }

  uint32_t sqHead = start, cqTail = start, errors = 0;
  while (in.remaining_bytes() > 0) {
    // The app's indices: near the dext's own ones, or anywhere.
    const uint32_t sqTail = in.ConsumeBool()
                                ? sqHead + in.ConsumeIntegralInRange<uint32_t>(0, size32 + 2)
                                : in.ConsumeIntegral<uint32_t>();
    const uint32_t cqHead = in.ConsumeBool()
                                ? cqTail - in.ConsumeIntegralInRange<uint32_t>(0, size32 + 2)
                                : in.ConsumeIntegral<uint32_t>();
    engine::RingStep expected = engine::RingStep::kIdle;
    if (valid && sqTail != sqHead) {
      if (sqTail - sqHead > size32) {
        expected = engine::RingStep::kBogusSubmissionIndex;
        errors |= protocol::kRingErrorSubmissionIndex;
      } else if (cqTail - cqHead > size32) {
        expected = engine::RingStep::kBogusCompletionIndex;
        errors |= protocol::kRingErrorCompletionIndex;
      } else if (cqTail - cqHead == size32) {
        expected = engine::RingStep::kCompletionsFull;
      } else {
        expected = engine::RingStep::kConsume;
      }
    }
    const engine::RingStep step = v.Next(sqTail, cqHead);
    if (step != expected) Fail("Next disagrees with the model");
    if (v.errors() != errors) Fail("error bits disagree (or were cleared)");
    if (v.sqHead() != sqHead || v.cqTail() != cqTail) Fail("the dext's indices moved on their own");
    if (step != engine::RingStep::kConsume) continue;
    if (v.SubmissionSlot() != (sqHead & (size32 - 1)) ||
        v.CompletionSlot() != (cqTail & (size32 - 1)) || v.SubmissionSlot() >= size32 ||
        v.CompletionSlot() >= size32) {
      Fail("a slot outside the ring");
    }
    protocol::RingSubmission e{};
    e.bufferId =
        in.ConsumeBool() && !buffers.empty()
            ? (uint64_t{
                   buffers[in.ConsumeIntegralInRange<size_t>(0, buffers.size() - 1)].generation}
               << 8) |
                  in.ConsumeIntegralInRange<uint64_t>(0, buffers.size() - 1)
            : Pick(in, 0x4ff);
    e.bufferOffset = Pick(in, 1 << 20);
    e.cardAddress = in.ConsumeIntegral<uint64_t>();
    e.length = Pick(in, 1 << 20);
    e.direction = static_cast<uint32_t>(Pick(in, 3));
    e.reserved = in.ConsumeIntegral<uint32_t>();
    e.tag = in.ConsumeIntegral<uint64_t>();
    v.Consume();
    ++sqHead;
    const engine::RingBuffer* list = table ? buffers.data() : nullptr;
    const uint32_t count = static_cast<uint32_t>(buffers.size());
    const engine::RingEntryVerdict verdict = v.Check(e, list, count);
    const engine::RingEntryVerdict again = v.Check(e, list, count);
    if (verdict.rejection != again.rejection || verdict.status != again.status ||
        verdict.length != again.length || verdict.bufferSlot != again.bufferSlot) {
      Fail("Check is not pure");
    }
    const bool accepted = verdict.rejection == engine::RingRejection::kNone;
    if (accepted != ModelAccepts(e, v.directions(), buffers, table)) {
      Fail(accepted ? "accepted an entry the contract refuses"
                    : "refused an entry the contract accepts");
    }
    if (verdict.status != engine::RingRejectionStatus(verdict.rejection)) {
      Fail("status is not the rejection's");
    }
    if (accepted) {
      const engine::Direction d = e.direction == protocol::kRingToCard
                                      ? engine::Direction::kHostToCard
                                      : engine::Direction::kCardToHost;
      if (verdict.status != kIOReturnSuccess || verdict.direction != d ||
          verdict.bufferSlot != (e.bufferId & 0xff) || verdict.bufferOffset != e.bufferOffset ||
          verdict.length != e.length || verdict.cardAddress != e.cardAddress) {
        Fail("an accepted entry was changed");
      }
    } else if (verdict.status == kIOReturnSuccess || verdict.length != 0) {
      Fail("a refused entry would move data");
    }
    v.Complete();
    ++cqTail;
  }
  return 0;
}
