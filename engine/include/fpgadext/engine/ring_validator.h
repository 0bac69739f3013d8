// The submission ring's checks of what the app wrote (docs/ring.md, "Security reasoning"), with
// no DriverKit type: the dext's ring poller feeds it the indices and entries it copied out of
// shared memory and runs only what it accepts. Every byte given to it may be hostile; it never
// reads shared memory itself, so a unit test or a fuzzer drives it with plain values.
//
// Use, per poll step:
//   RingStep s = v.Next(sqTail, cqHead);     // the two app-written indices, loaded once
//   if (s == RingStep::kConsume) {
//     copy the submission at v.SubmissionSlot() once; v.Consume();
//     RingEntryVerdict e = v.Check(copy, buffers, count);  run it if e.status == success
//     write the completion at v.CompletionSlot(); v.Complete();
//   }
// The validator keeps the dext's own sqHead/cqTail (it never trusts the shared copies) and the
// sticky protocol-error bits (protocol::RingError) the dext publishes.
#pragma once

#include <fpgadext/engine/types.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

namespace fpgadext::engine {

// What the ring may know of one registered-buffer slot (written by the dext on the ring's queue).
struct RingBuffer {
  bool ringVisible;     // registered and not being unregistered
  uint32_t generation;  // must equal the id's upper bits
  uint64_t direction;   // protocol::BufferDirection bits it was registered for
  uint64_t length;      // bytes prepared for DMA
};

// Why an entry was refused; each maps to the IOReturn its completion carries.
enum class RingRejection : uint8_t {
  kNone = 0,
  kUnknownDirection,    // neither kRingToCard nor kRingFromCard      → kIOReturnBadArgument
  kDirectionNotServed,  // the ring was not created for it           → kIOReturnNotPermitted
  kUnknownBuffer,       // bad slot, not visible, other generation   → kIOReturnNotFound
  kBufferDirection,     // buffer not registered for that direction  → kIOReturnNotPermitted
  kOutsideBuffer,       // offset/length past the prepared length    → kIOReturnBadArgument
  kTooLong,             // length > protocol::kMaxTransferLength     → kIOReturnBadArgument
};

// The completion status of a rejection (kIOReturnSuccess for kNone).
IOReturn RingRejectionStatus(RingRejection rejection);

// A checked entry. The card range is not checked here: the planner checks it as on every path.
struct RingEntryVerdict {
  RingRejection rejection;
  IOReturn status;      // RingRejectionStatus(rejection)
  Direction direction;  // meaningful when accepted
  uint32_t bufferSlot;  // index into the buffers given to Check, when accepted
  uint64_t bufferOffset;
  uint64_t length;  // 0: accepted, nothing to move
  uint64_t cardAddress;
};

// The outcome of one look at the indices.
enum class RingStep : uint8_t {
  kIdle,                  // nothing published
  kConsume,               // an entry at SubmissionSlot() and room at CompletionSlot()
  kCompletionsFull,       // the app has not consumed enough completions: wait
  kBogusSubmissionIndex,  // sqTail - sqHead > entries: ignored and flagged until sane
  kBogusCompletionIndex,  // cqTail - cqHead > entries: stalled and flagged until sane
};

class RingValidator {
 public:
  // Whether RingCreate's arguments make a ring: entries a power of two within
  // [kRingMinEntries, kRingMaxEntries]; directions a non-empty RingDirection mask.
  static bool ValidGeometry(uint64_t entries, uint64_t directions);
  // Splits a buffer id (slot | generation << 8) as protocol.h's registration hands it out.
  static uint32_t BufferIdSlot(uint64_t id) { return static_cast<uint32_t>(id & 0xff); }
  static uint64_t BufferIdGeneration(uint64_t id) { return id >> 8; }

  // The geometry must satisfy ValidGeometry (an invalid one serves nothing: every step is
  // kIdle and every entry kDirectionNotServed). `start` is where the dext's sqHead and cqTail
  // begin: 0 for a new ring (the header is zeroed); tests start near 2^32 to wrap.
  RingValidator(uint32_t entries, uint64_t directions, uint32_t start = 0);

  // The app's sqTail and cqHead as loaded once from shared memory.
  RingStep Next(uint32_t sqTail, uint32_t cqHead);
  // After kConsume: the entry at SubmissionSlot() has been copied.
  void Consume() { ++sqHead_; }
  // After the completion at CompletionSlot() has been written.
  void Complete() { ++cqTail_; }

  // Checks a copied entry against the client's buffer table (`count` slots; the id's slot
  // indexes it). Pure: the same entry and table give the same verdict.
  RingEntryVerdict Check(const protocol::RingSubmission& entry, const RingBuffer* buffers,
                         uint32_t count) const;

  uint32_t SubmissionSlot() const { return sqHead_ & mask_; }
  uint32_t CompletionSlot() const { return cqTail_ & mask_; }
  uint32_t sqHead() const { return sqHead_; }
  uint32_t cqTail() const { return cqTail_; }
  uint32_t errors() const { return errors_; }  // protocol::RingError bits, sticky
  uint32_t entries() const { return entries_; }
  uint64_t directions() const { return directions_; }

 private:
  uint32_t entries_;
  uint32_t mask_;
  uint64_t directions_;
  uint32_t sqHead_;
  uint32_t cqTail_;
  uint32_t errors_ = 0;
};

}  // namespace fpgadext::engine
